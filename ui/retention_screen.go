package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// retentionScreen lists the customers past their retention date (code,
// compartment, date: no names), and erases the ones ticked, after the
// confirmation of the erase screen.
type retentionScreen struct {
	w       *Window
	content fyne.CanvasObject

	list    *fyne.Container
	all     *widget.Check
	eraseB  *widget.Button
	status  *widget.Label
	verdict verdictLabel

	due      []RetentionDue
	selected map[Code]bool
	comps    map[string]string
	closed   bool
}

// showRetention opens the list of customers past their retention date.
func (w *Window) showRetention() { w.showOps(newRetentionScreen(w)) }

func newRetentionScreen(w *Window) *retentionScreen {
	s := &retentionScreen{w: w, selected: map[Code]bool{}, comps: map[string]string{}}
	s.list = container.NewVBox()
	s.all = widget.NewCheck(T("retention.all"), func(on bool) {
		w.activity()
		for _, d := range s.due {
			s.selected[d.Code] = on
		}
		s.showList()
	})
	s.eraseB = widget.NewButtonWithIcon(T("retention.erase"), theme.DeleteIcon(), s.erase)
	s.eraseB.Importance = widget.DangerImportance
	s.eraseB.Disable()
	s.status = widget.NewLabel("")
	s.verdict = newVerdict()
	hint := wrapped(T("retention.hint"))
	hint.Importance = widget.LowImportance
	top := container.NewVBox(opsHeader(w, T("retention.title"), nil), hint, s.verdict.Label, container.NewBorder(nil, nil, s.all, s.eraseB))
	s.content = container.NewBorder(top, s.status, nil, nil, container.NewVScroll(s.list))
	s.load()
	return s
}

func (s *retentionScreen) view() fyne.CanvasObject { return s.content }

func (s *retentionScreen) close() {
	s.closed = true
	s.due = nil
	s.list.RemoveAll()
}

// load lists the customers past retention (audited by the store).
func (s *retentionScreen) load() {
	svc := s.w.svc
	background(func() {
		due, err := svc.PastRetention()
		comps, cerr := svc.Compartments()
		fyne.Do(func() {
			if s.closed {
				return
			}
			if err == nil {
				err = cerr
			}
			if err != nil {
				s.verdict.bad(explain(err))
				s.content.Refresh()
				return
			}
			for _, c := range comps {
				s.comps[c.ID] = c.Name
			}
			s.due = due
			s.showList()
		})
	})
}

func (s *retentionScreen) showList() {
	s.list.RemoveAll()
	n := 0
	for _, d := range s.due {
		code := d.Code
		check := widget.NewCheck("", func(on bool) {
			s.w.activity()
			s.selected[code] = on
			s.update()
		})
		check.Checked = s.selected[code]
		label := widget.NewLabelWithStyle(string(code), fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
		comp := s.comps[d.Compartment]
		date := widget.NewLabel(T("retention.row", map[string]any{"Date": d.RetainUntil, "Compartment": comp}))
		s.list.Add(container.NewHBox(check, widget.NewIcon(theme.AccountIcon()), label, date))
		if s.selected[code] {
			n++
		}
	}
	if len(s.due) == 0 {
		s.list.Add(widget.NewLabel(T("retention.none")))
	}
	s.list.Refresh()
	s.update()
}

// chosen is the codes ticked, in the list's order.
func (s *retentionScreen) chosen() []Code {
	var out []Code
	for _, d := range s.due {
		if s.selected[d.Code] {
			out = append(out, d.Code)
		}
	}
	return out
}

func (s *retentionScreen) update() {
	n := len(s.chosen())
	enable(s.eraseB, n > 0)
	s.status.SetText(T("retention.count", map[string]any{"N": len(s.due), "Selected": n}))
}

func (s *retentionScreen) erase() {
	s.w.activity()
	codes := s.chosen()
	if len(codes) == 0 {
		return
	}
	w := s.w
	w.showErase(codes, w.showRetention, w.showRetention)
}
