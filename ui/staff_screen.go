package ui

import (
	"errors"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/valv-vault/valv/store/service"
)

// screeningStates are the choices of the screening selector, in order.
var screeningStates = []service.ScreeningStatus{service.ScreeningPending, service.ScreeningPassed, service.ScreeningFailed}

// staffScreen is the staff register (admins only): who may hold keys,
// with their screening and NDA. Add a person, record their screening,
// attach their signed NDA, enrol a card for them (refused, with the
// reason, unless screened and with an NDA on file), or deactivate them
// (their cards open nothing, and the compartments they held get new
// keys).
type staffScreen struct {
	w       *Window
	content fyne.CanvasObject

	name, title *widget.Entry
	addB        *widget.Button
	list        *widget.List
	status      *widget.Label
	errLabel    *widget.Label

	members []StaffMember
	holders []KeyHolder
	chosen  *StaffMember

	detail                       *fyne.Container
	dTitle, dState               *widget.Label
	scStatus                     *widget.Select
	scBy, scOn                   *widget.Entry
	scB                          *widget.Button
	ndaSigned                    *widget.Entry
	ndaB                         *widget.Button
	enrolHint                    *widget.Label
	cards                        []Card
	cardSel                      *widget.Select
	asAdmin, allowSim            *widget.Check
	pin, newPIN, newPIN2         *widget.Entry
	puk, newPUK, newPUK2         *widget.Entry
	enrolB, deactB               *widget.Button
	detailErr, detailOK          *widget.Label
	progress                     *widget.ProgressBar
	progressInf                  *widget.ProgressBarInfinite
	closed                       bool
	screenSection, ndaSection    *fyne.Container
	enrolSection, deactivateArea *fyne.Container
}

func newStaffScreen(w *Window) *staffScreen {
	s := &staffScreen{w: w}
	s.name = widget.NewEntry()
	s.name.SetPlaceHolder(T("staff.name"))
	s.title = widget.NewEntry()
	s.title.SetPlaceHolder(T("staff.title"))
	s.title.OnSubmitted = func(string) { s.add() }
	s.addB = widget.NewButtonWithIcon(T("staff.add"), theme.ContentAddIcon(), s.add)
	s.addB.Importance = widget.HighImportance
	s.status = widget.NewLabel("")
	s.errLabel = errorLabel()
	s.list = widget.NewList(func() int { return len(s.members) }, func() fyne.CanvasObject {
		name := widget.NewLabel("")
		name.Truncation = fyne.TextTruncateEllipsis
		state := widget.NewLabel("")
		state.Importance = widget.LowImportance
		state.Truncation = fyne.TextTruncateEllipsis
		return container.NewBorder(nil, nil, widget.NewIcon(theme.AccountIcon()), nil, container.NewVBox(name, state))
	}, s.updateRow)
	s.list.OnSelected = func(i widget.ListItemID) {
		w.activity()
		if i < len(s.members) {
			s.choose(s.members[i].ID)
		}
	}
	s.buildDetail()

	lock := widget.NewButtonWithIcon(T("window.lock"), theme.LogoutIcon(), w.Lock)
	bar := container.NewBorder(nil, nil, bold(T("staff.heading")), lock)
	add := container.NewBorder(nil, nil, nil, s.addB, container.NewGridWithColumns(2, s.name, s.title))
	top := container.NewVBox(bar, wrapped(T("staff.help")), add, s.errLabel)
	split := container.NewHSplit(container.NewBorder(nil, s.status, nil, nil, s.list), container.NewVScroll(s.detail))
	split.Offset = 0.4
	s.content = container.NewBorder(top, nil, nil, nil, split)
	s.reload()
	return s
}

func (s *staffScreen) buildDetail() {
	s.dTitle = bold("")
	s.dState = wrapped("")
	s.detailErr = errorLabel()
	s.detailOK = wrapped("")
	s.detailOK.Importance = widget.SuccessImportance
	s.detailOK.Hide()

	var options []string
	for _, st := range screeningStates {
		options = append(options, screeningName(st))
	}
	s.scStatus = widget.NewSelect(options, nil)
	s.scBy = widget.NewEntry()
	s.scBy.SetPlaceHolder(T("staff.screenedby"))
	s.scOn = widget.NewEntry()
	s.scOn.SetPlaceHolder(T("date.placeholder"))
	s.scB = widget.NewButtonWithIcon(T("staff.screen.save"), theme.ConfirmIcon(), s.screen)
	s.screenSection = container.NewVBox(bold(T("staff.screen.title")),
		container.New(&formLayout{},
			widget.NewLabel(T("staff.screen.outcome")), s.scStatus,
			widget.NewLabel(T("staff.screenedby")), s.scBy,
			widget.NewLabel(T("staff.screenedon")), s.scOn),
		container.NewHBox(s.scB))

	s.ndaSigned = widget.NewEntry()
	s.ndaSigned.SetPlaceHolder(T("date.placeholder"))
	s.ndaB = widget.NewButtonWithIcon(T("staff.nda.attach"), theme.FolderOpenIcon(), func() {
		if _, ok := parseDate(s.ndaSigned.Text); !ok {
			setError(s.detailErr, T("staff.nda.date"))
			return
		}
		s.w.chooseNDA(s.attachNDA)
	})
	s.ndaSection = container.NewVBox(bold(T("staff.nda.title")),
		container.New(&formLayout{}, widget.NewLabel(T("staff.ndasigned")), s.ndaSigned),
		container.NewHBox(s.ndaB))

	s.enrolHint = wrapped("")
	s.cardSel = widget.NewSelect(nil, nil)
	s.cardSel.PlaceHolder = T("first.admin.card")
	again := widget.NewButtonWithIcon("", theme.ViewRefreshIcon(), s.loadCards)
	s.asAdmin = widget.NewCheck(T("staff.enrol.admin"), nil)
	s.allowSim = widget.NewCheck(T("first.admin.allowsim"), nil)
	if w := s.w; w.svc.Demo() {
		s.allowSim.Hide()
	}
	secret := func(placeholder string) *widget.Entry {
		e := widget.NewPasswordEntry()
		e.SetPlaceHolder(placeholder)
		return e
	}
	s.pin, s.puk = secret(T("first.admin.pin.placeholder")), secret(T("first.admin.puk.placeholder"))
	s.newPIN, s.newPIN2 = secret(T("unlock.puk.newpin")), secret(T("unlock.puk.repeat"))
	s.newPUK, s.newPUK2 = secret(T("first.admin.newpuk")), secret(T("first.admin.newpuk.repeat"))
	s.enrolB = widget.NewButtonWithIcon(T("staff.enrol.button"), theme.LoginIcon(), s.enrol)
	s.progressInf = widget.NewProgressBarInfinite()
	s.progressInf.Stop()
	s.progressInf.Hide()
	s.enrolSection = container.NewVBox(bold(T("staff.enrol.title")), s.enrolHint,
		container.NewBorder(nil, nil, nil, again, s.cardSel), s.asAdmin, s.allowSim,
		container.NewGridWithColumns(2, s.pin, s.puk),
		container.NewGridWithColumns(2, s.newPIN, s.newPIN2),
		container.NewGridWithColumns(2, s.newPUK, s.newPUK2),
		container.NewHBox(s.enrolB), s.progressInf)

	s.deactB = widget.NewButtonWithIcon(T("staff.deactivate"), theme.DeleteIcon(), s.confirmDeactivate)
	s.deactB.Importance = widget.DangerImportance
	s.progress = widget.NewProgressBar()
	s.progress.Hide()
	s.deactivateArea = container.NewVBox(bold(T("staff.deactivate.title")), wrapped(T("staff.deactivate.help")),
		container.NewHBox(s.deactB), s.progress)

	s.detail = container.NewVBox(s.dTitle, s.dState, s.detailErr, s.detailOK,
		widget.NewSeparator(), s.screenSection,
		widget.NewSeparator(), s.ndaSection,
		widget.NewSeparator(), s.enrolSection,
		widget.NewSeparator(), s.deactivateArea)
	s.detail.Hide()
}

// screeningName is a screening state in words.
func screeningName(st service.ScreeningStatus) string {
	switch st {
	case service.ScreeningPassed:
		return T("screening.passed")
	case service.ScreeningFailed:
		return T("screening.failed")
	}
	return T("screening.pending")
}

// reload reads the staff register (a logged listing) and the key holders.
func (s *staffScreen) reload() {
	svc := s.w.svc
	background(func() {
		members, err := svc.Staff()
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
			s.members, s.holders = members, holders
			s.list.Refresh()
			s.status.SetText(T("staff.count", arg(len(members))))
			if s.chosen != nil {
				s.choose(s.chosen.ID)
			}
		})
	})
}

// summary is a person's state in a few words.
func summary(m StaffMember) string {
	if !m.Active {
		return T("staff.inactive")
	}
	parts := []string{T("staff.row.screening", arg(screeningName(m.Screening.Status)))}
	if m.NDA != nil {
		parts = append(parts, T("staff.row.nda"))
	} else {
		parts = append(parts, T("staff.row.nonda"))
	}
	parts = append(parts, T("staff.row.cards", arg(len(m.Holders))))
	return strings.Join(parts, " · ")
}

func (s *staffScreen) updateRow(i widget.ListItemID, o fyne.CanvasObject) {
	if i >= len(s.members) {
		return
	}
	m := s.members[i]
	lines := o.(*fyne.Container).Objects[0].(*fyne.Container)
	name := m.Name
	if m.Title != "" {
		name += " — " + m.Title
	}
	lines.Objects[0].(*widget.Label).SetText(name)
	lines.Objects[1].(*widget.Label).SetText(summary(m))
}

// choose shows a person: their screening, NDA and cards, and what can be
// done next.
func (s *staffScreen) choose(id ID) {
	var m *StaffMember
	for i := range s.members {
		if s.members[i].ID == id {
			m = &s.members[i]
		}
	}
	s.chosen = m
	if m == nil {
		s.detail.Hide()
		return
	}
	s.dTitle.SetText(m.Name)
	var lines []string
	if m.Title != "" {
		lines = append(lines, m.Title)
	}
	sc := T("staff.state.screening", arg(screeningName(m.Screening.Status)))
	if !m.Screening.Date.IsZero() {
		sc += " " + T("staff.state.on", map[string]any{"Date": m.Screening.Date.Format(dateLayout), "By": m.Screening.By})
	}
	lines = append(lines, sc)
	if m.NDA != nil {
		lines = append(lines, T("staff.state.nda", map[string]any{"Date": m.NDA.Signed.Format(dateLayout), "Size": humanSize(m.NDA.Size)}))
	} else {
		lines = append(lines, T("staff.state.nonda"))
	}
	var cards []string
	for _, hid := range m.Holders {
		for _, h := range s.holders {
			if h.ID == hid {
				c := fmt.Sprint(h.Serial)
				if h.Admin {
					c += " (" + T("staff.state.admin") + ")"
				}
				cards = append(cards, c)
			}
		}
	}
	if len(cards) == 0 {
		lines = append(lines, T("staff.state.nocards"))
	} else {
		lines = append(lines, T("staff.state.cards", arg(strings.Join(cards, ", "))))
	}
	if !m.Active {
		lines = append(lines, T("staff.inactive"))
	}
	s.dState.SetText(strings.Join(lines, "\n"))
	s.scStatus.SetSelectedIndex(max(0, indexOf(screeningStates, m.Screening.Status)))
	for _, sec := range []*fyne.Container{s.screenSection, s.ndaSection, s.enrolSection, s.deactivateArea} {
		if m.Active {
			sec.Show()
		} else {
			sec.Hide()
		}
	}
	s.enrolHint.SetText(enrolHint(*m))
	s.detail.Show()
	s.detail.Refresh()
	if m.Active && s.cards == nil {
		s.loadCards()
	}
}

func indexOf[T comparable](s []T, v T) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// enrolHint says whether the person may be given a card, from their
// record (the engine checks again when asked).
func enrolHint(m StaffMember) string {
	switch {
	case m.Screening.Status == service.ScreeningFailed:
		return T("staff.enrol.failed")
	case m.Screening.Status != service.ScreeningPassed:
		return T("staff.enrol.unscreened")
	case m.NDA == nil:
		return T("staff.enrol.nonda")
	}
	return T("staff.enrol.ready")
}

func (s *staffScreen) loadCards() {
	background(func() {
		cards, err := s.w.svc.Cards()
		fyne.Do(func() {
			if s.closed {
				return
			}
			if err != nil {
				setError(s.detailErr, explainCards(err))
				return
			}
			s.cards = cards
			var names []string
			for _, c := range cards {
				names = append(names, cardName(c))
			}
			s.cardSel.SetOptions(names)
		})
	})
}

// done reports an action's outcome and reads the register again.
func (s *staffScreen) done(err error, ok string) {
	if s.closed {
		return
	}
	if err != nil {
		setError(s.detailErr, explainStaff(err))
		s.detailOK.Hide()
		return
	}
	setError(s.detailErr, "")
	s.detailOK.SetText(ok)
	s.detailOK.Show()
	s.reload()
}

// explainStaff words the engine's refusals of an enrolment for the
// window (the engine's own text points at the command line).
func explainStaff(err error) string {
	switch {
	case errors.Is(err, service.ErrNoNDA):
		return T("staff.enrol.nonda")
	case errors.Is(err, service.ErrNotScreened):
		if strings.Contains(err.Error(), "failed") {
			return T("staff.enrol.failed")
		}
		return T("staff.enrol.unscreened")
	}
	return explain(err)
}

func (s *staffScreen) add() {
	s.w.activity()
	name, title := s.name.Text, s.title.Text
	if strings.TrimSpace(name) == "" {
		setError(s.errLabel, T("staff.noname"))
		return
	}
	background(func() {
		id, err := s.w.svc.AddStaff(name, title)
		fyne.Do(func() {
			if s.closed {
				return
			}
			if err != nil {
				setError(s.errLabel, explain(err))
				return
			}
			setError(s.errLabel, "")
			s.name.SetText("")
			s.title.SetText("")
			s.chosen = &StaffMember{ID: id}
			s.reload()
		})
	})
}

func (s *staffScreen) screen() {
	s.w.activity()
	if s.chosen == nil {
		return
	}
	i := s.scStatus.SelectedIndex()
	if i < 0 {
		setError(s.detailErr, T("staff.screen.choose"))
		return
	}
	sc := Screening{Status: screeningStates[i], By: s.scBy.Text}
	if s.scOn.Text != "" {
		d, ok := parseDate(s.scOn.Text)
		if !ok {
			setError(s.detailErr, T("date.bad"))
			return
		}
		sc.Date = d
	}
	id := s.chosen.ID
	background(func() {
		err := s.w.svc.Screen(id, sc)
		fyne.Do(func() {
			if err == nil {
				s.scBy.SetText("")
				s.scOn.SetText("")
			}
			s.done(err, T("staff.screen.done"))
		})
	})
}

// attachNDA records the signed NDA chosen in the file dialog, with the
// signing date typed.
func (s *staffScreen) attachNDA(name string, data []byte) {
	if s.chosen == nil {
		return
	}
	signed, ok := parseDate(s.ndaSigned.Text)
	if !ok {
		setError(s.detailErr, T("staff.nda.date"))
		return
	}
	id := s.chosen.ID
	background(func() {
		err := s.w.svc.RecordNDA(id, signed, data)
		fyne.Do(func() {
			if err == nil {
				s.ndaSigned.SetText("")
			}
			s.done(err, T("staff.nda.done", arg(name)))
		})
	})
}

// enrol gives the person the chosen card: the engine first checks they
// are screened and have an NDA, before the card is touched.
func (s *staffScreen) enrol() {
	s.w.activity()
	if s.chosen == nil {
		return
	}
	pin, newPIN, newPIN2 := takeSecret(s.pin), takeSecret(s.newPIN), takeSecret(s.newPIN2)
	puk, newPUK, newPUK2 := takeSecret(s.puk), takeSecret(s.newPUK), takeSecret(s.newPUK2)
	id := s.chosen.ID
	e := CardEnrolment{Staff: id, Admin: s.asAdmin.Checked, AllowSimulated: s.allowSim.Checked,
		PIN: pin, PUK: puk, NewPIN: newPIN, NewPUK: newPUK}
	// What is wrong with the form, said after the person's own
	// clearance (which matters more).
	var formErr error
	switch i := s.cardSel.SelectedIndex(); {
	case i < 0 || i >= len(s.cards):
		formErr = errors.New(T("first.admin.nocard"))
	case pin == "" || puk == "" || newPIN == "" || newPUK == "":
		formErr = errors.New(T("first.admin.pins"))
	case newPIN != newPIN2:
		formErr = errors.New(T("unlock.puk.mismatch"))
	case newPUK != newPUK2:
		formErr = errors.New(T("first.admin.pukmismatch"))
	default:
		e.Serial = s.cards[i].Serial
	}
	s.enrolB.Disable()
	s.progressInf.Show()
	s.progressInf.Start()
	svc := s.w.svc
	background(func() {
		err := svc.CheckEnrolment(id)
		if err == nil {
			err = formErr
		}
		if err == nil {
			_, err = svc.EnrolCard(e)
		}
		fyne.Do(func() {
			s.enrolB.Enable()
			s.progressInf.Stop()
			s.progressInf.Hide()
			s.done(err, T("staff.enrol.done", arg(fmt.Sprint(e.Serial))))
		})
	})
}

func (s *staffScreen) confirmDeactivate() {
	s.w.activity()
	if s.chosen == nil {
		return
	}
	m := *s.chosen
	dialog.NewConfirm(T("staff.deactivate.title"), T("staff.deactivate.confirm", arg(m.Name)), func(ok bool) {
		if ok {
			s.deactivate(m.ID)
		}
	}, s.w.Window).Show()
}

// deactivate marks the person inactive; the compartments they held get new
// keys, which the progress bar follows.
func (s *staffScreen) deactivate(id ID) {
	s.deactB.Disable()
	s.progress.SetValue(0)
	s.progress.Show()
	background(func() {
		err := s.w.svc.Deactivate(id, func(done, total int) {
			fyne.Do(func() {
				if total > 0 && !s.closed {
					s.progress.SetValue(float64(done) / float64(total))
					s.w.activity()
				}
			})
		})
		fyne.Do(func() {
			s.deactB.Enable()
			s.progress.Hide()
			s.done(err, T("staff.deactivate.done"))
		})
	})
}

// close drops the register read.
func (s *staffScreen) close() {
	s.closed = true
	s.members, s.holders, s.chosen = nil, nil, nil
	s.dTitle.SetText("")
	s.dState.SetText("")
	s.list.Refresh()
}
