package ui

import (
	"slices"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// compartmentsScreen lists the compartments (admins only) with their key
// holders: create one, grant one to a key holder, revoke one from a key
// holder. A revocation gives the compartment a new key and re-encrypts
// everything in it; a progress bar follows it.
type compartmentsScreen struct {
	w       *Window
	content fyne.CanvasObject

	newName  *widget.Entry
	createB  *widget.Button
	list     *widget.List
	status   *widget.Label
	errLabel *widget.Label

	detail   *fyne.Container // the chosen compartment
	title    *widget.Label
	holders  *fyne.Container
	grantSel *widget.Select
	grantB   *widget.Button
	progress *widget.ProgressBar
	progText *widget.Label

	comps    []CompartmentAccess
	all      []KeyHolder
	chosen   string // compartment id
	grantIDs []ID   // the grant selector's holders
	busy     bool
	closed   bool
}

func newCompartmentsScreen(w *Window) *compartmentsScreen {
	s := &compartmentsScreen{w: w}
	s.newName = widget.NewEntry()
	s.newName.SetPlaceHolder(T("comps.newname"))
	s.newName.OnSubmitted = func(string) { s.create() }
	s.createB = widget.NewButtonWithIcon(T("comps.create"), theme.ContentAddIcon(), s.create)
	s.createB.Importance = widget.HighImportance
	s.status = widget.NewLabel("")
	s.errLabel = errorLabel()
	s.list = widget.NewList(func() int { return len(s.comps) }, func() fyne.CanvasObject {
		name := widget.NewLabel("")
		name.Truncation = fyne.TextTruncateEllipsis
		state := widget.NewLabel("")
		state.Importance = widget.LowImportance
		state.Truncation = fyne.TextTruncateEllipsis
		return container.NewBorder(nil, nil, widget.NewIcon(theme.FolderIcon()), nil, container.NewVBox(name, state))
	}, s.updateRow)
	s.list.OnSelected = func(i widget.ListItemID) {
		w.activity()
		if i < len(s.comps) {
			s.choose(s.comps[i].ID)
		}
	}

	s.title = bold("")
	s.holders = container.NewVBox()
	s.grantSel = widget.NewSelect(nil, nil)
	s.grantSel.PlaceHolder = T("comps.grant.choose")
	s.grantB = widget.NewButtonWithIcon(T("comps.grant"), theme.ContentAddIcon(), s.grant)
	s.progress = widget.NewProgressBar()
	s.progress.Hide()
	s.progText = wrapped("")
	s.progText.Hide()
	s.detail = container.NewVBox(s.title, bold(T("comps.holders")), s.holders,
		container.NewBorder(nil, nil, nil, s.grantB, s.grantSel), s.progress, s.progText)
	s.detail.Hide()

	title := bold(T("comps.title"))
	lock := widget.NewButtonWithIcon(T("window.lock"), theme.LogoutIcon(), w.Lock)
	bar := container.NewBorder(nil, nil, title, lock)
	create := container.NewBorder(nil, nil, nil, s.createB, s.newName)
	top := container.NewVBox(bar, wrapped(T("comps.help")), create, s.errLabel)
	split := container.NewHSplit(container.NewBorder(nil, s.status, nil, nil, s.list), container.NewVScroll(s.detail))
	split.Offset = 0.4
	s.content = container.NewBorder(top, nil, nil, nil, split)
	s.reload()
	return s
}

// reload reads the compartments and key holders again.
func (s *compartmentsScreen) reload() {
	svc := s.w.svc
	background(func() {
		comps, err := svc.AllCompartments()
		var holders []KeyHolder
		if err == nil {
			holders, err = svc.KeyHolders()
		}
		fyne.Do(func() {
			if s.closed {
				return
			}
			if err != nil {
				setError(s.errLabel, explain(err))
				return
			}
			s.comps, s.all = comps, holders
			s.list.Refresh()
			s.status.SetText(T("comps.count", arg(len(comps))))
			if s.chosen != "" {
				s.choose(s.chosen)
			}
		})
	})
}

func (s *compartmentsScreen) updateRow(i widget.ListItemID, o fyne.CanvasObject) {
	if i >= len(s.comps) {
		return
	}
	c := s.comps[i]
	lines := o.(*fyne.Container).Objects[0].(*fyne.Container)
	name := c.Name
	if name == "" {
		name = c.ID[:8]
	}
	lines.Objects[0].(*widget.Label).SetText(name)
	state := T("comps.holdercount", arg(len(c.Holders)))
	switch {
	case c.Problem != "":
		state = T("comps.problem")
	case !c.Unlocked:
		state += " · " + T("comps.notheld")
	}
	lines.Objects[1].(*widget.Label).SetText(state)
}

func (s *compartmentsScreen) compartment(id string) (CompartmentAccess, bool) {
	for _, c := range s.comps {
		if c.ID == id {
			return c, true
		}
	}
	return CompartmentAccess{}, false
}

func (s *compartmentsScreen) holder(id ID) (KeyHolder, bool) {
	for _, h := range s.all {
		if h.ID == id {
			return h, true
		}
	}
	return KeyHolder{ID: id}, false
}

// choose shows a compartment's key holders, each with a Revoke button,
// and the active key holders it can be granted to.
func (s *compartmentsScreen) choose(id string) {
	c, ok := s.compartment(id)
	if !ok {
		s.chosen = ""
		s.detail.Hide()
		return
	}
	s.chosen = id
	s.title.SetText(T("comps.chosen", arg(c.Name)))
	s.holders.RemoveAll()
	for _, hid := range c.Holders {
		h, _ := s.holder(hid)
		revoke := widget.NewButtonWithIcon(T("comps.revoke"), theme.ContentRemoveIcon(), func() { s.revoke(hid) })
		revoke.Importance = widget.DangerImportance
		if !c.Unlocked || s.busy {
			revoke.Disable()
		}
		s.holders.Add(container.NewBorder(nil, nil, widget.NewIcon(theme.AccountIcon()), revoke, widget.NewLabel(holderLabel(h))))
	}
	if len(c.Holders) == 0 {
		s.holders.Add(widget.NewLabel(T("comps.noholders")))
	}
	var names []string
	s.grantIDs = nil
	for _, h := range s.all {
		if !h.Inactive && !slices.Contains(c.Holders, h.ID) {
			names = append(names, holderLabel(h))
			s.grantIDs = append(s.grantIDs, h.ID)
		}
	}
	s.grantSel.ClearSelected()
	s.grantSel.SetOptions(names)
	if len(names) == 0 || !c.Unlocked || s.busy {
		s.grantSel.Disable()
		s.grantB.Disable()
	} else {
		s.grantSel.Enable()
		s.grantB.Enable()
	}
	s.detail.Show()
	s.detail.Refresh()
}

func (s *compartmentsScreen) create() {
	s.w.activity()
	name := s.newName.Text
	if name == "" {
		setError(s.errLabel, T("comps.noname"))
		return
	}
	s.createB.Disable()
	background(func() {
		id, err := s.w.svc.CreateCompartment(name)
		fyne.Do(func() {
			s.createB.Enable()
			if err != nil {
				setError(s.errLabel, explain(err))
				return
			}
			setError(s.errLabel, "")
			s.newName.SetText("")
			s.chosen = id
			s.w.nav.compsChanged = true
			s.reload()
		})
	})
}

func (s *compartmentsScreen) grant() {
	s.w.activity()
	i := s.grantSel.SelectedIndex()
	if i < 0 || i >= len(s.grantIDs) || s.chosen == "" {
		setError(s.errLabel, T("comps.grant.choose"))
		return
	}
	holder, cid := s.grantIDs[i], s.chosen
	background(func() {
		err := s.w.svc.Grant(cid, holder)
		fyne.Do(func() {
			if err != nil {
				setError(s.errLabel, explain(err))
				return
			}
			setError(s.errLabel, "")
			s.reload()
		})
	})
}

// revoke takes the compartment from a key holder, showing the
// re-encryption's progress.
func (s *compartmentsScreen) revoke(holder ID) {
	s.w.activity()
	if s.busy || s.chosen == "" {
		return
	}
	cid := s.chosen
	s.setBusy(true)
	s.progress.SetValue(0)
	s.progress.Show()
	s.progText.SetText(T("comps.revoking"))
	s.progText.Show()
	background(func() {
		err := s.w.svc.Revoke(cid, holder, func(done, total int) {
			fyne.Do(func() { s.showProgress(done, total) })
		})
		fyne.Do(func() {
			if s.closed {
				return
			}
			s.setBusy(false)
			if err != nil {
				s.progress.Hide()
				s.progText.Hide()
				setError(s.errLabel, explain(err))
				return
			}
			setError(s.errLabel, "")
			s.progress.SetValue(1)
			h, _ := s.holder(holder)
			s.progText.SetText(T("comps.revoked", arg(holderLabel(h))))
			s.reload()
		})
	})
}

func (s *compartmentsScreen) showProgress(done, total int) {
	if s.closed || total <= 0 {
		return
	}
	s.progress.SetValue(float64(done) / float64(total))
	s.progText.SetText(T("comps.progress", map[string]any{"Done": done, "Total": total}))
	s.w.activity() // a long rotation is not idleness
}

func (s *compartmentsScreen) setBusy(busy bool) {
	s.busy = busy
	if busy {
		s.createB.Disable()
	} else {
		s.createB.Enable()
	}
	if s.chosen != "" {
		s.choose(s.chosen)
	}
}

// close drops what the screen read.
func (s *compartmentsScreen) close() {
	s.closed = true
	s.comps, s.all = nil, nil
	s.holders.RemoveAll()
	s.list.Refresh()
}
