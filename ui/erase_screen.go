package ui

import (
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/valv-vault/valv/store/service"
)

// eraseScreen confirms and runs the erasure of customers: it says what
// erasing does and that older backups still hold the data until rotation
// deletes them, makes the person type the code back (or, for several,
// their number), and shows the compaction's progress. Erasure cannot be
// cancelled once it runs (each compartment's file is rewritten in one
// step).
type eraseScreen struct {
	w       *Window
	content fyne.CanvasObject
	codes   []Code
	back    func() // Cancel, and Back before anything was erased
	done    func() // after the erasure

	confirm *widget.Entry
	check   *widget.Label
	eraseB  *widget.Button
	cancelB *widget.Button
	doneB   *widget.Button
	task    *taskBar
	verdict verdictLabel
	closed  bool
}

// showErase asks to confirm the erasure of codes, then erases them. back
// is where Cancel goes; done where the screen goes after the erasure.
func (w *Window) showErase(codes []Code, back, done func()) {
	w.showOps(newEraseScreen(w, codes, back, done))
}

func newEraseScreen(w *Window, codes []Code, back, done func()) *eraseScreen {
	s := &eraseScreen{w: w, codes: codes, back: back, done: done}
	var what, ask string
	if len(codes) == 1 {
		what = T("erase.one", map[string]any{"Code": string(codes[0])})
		ask = T("erase.typecode", map[string]any{"Code": string(codes[0])})
	} else {
		list := make([]string, len(codes))
		for i, c := range codes {
			list[i] = string(c)
		}
		what = T("erase.several", map[string]any{"N": len(codes), "Codes": strings.Join(list, ", ")})
		ask = T("erase.typecount", arg(len(codes)))
	}
	warning := wrapped(T("erase.backups"))
	warning.Importance = widget.WarningImportance
	s.confirm = widget.NewEntry()
	s.confirm.OnChanged = func(string) { s.w.activity(); s.update() }
	s.confirm.OnSubmitted = func(string) { s.erase() }
	s.check = wrapped("")
	s.eraseB = widget.NewButtonWithIcon(T("erase.button"), theme.DeleteIcon(), s.erase)
	s.eraseB.Importance = widget.DangerImportance
	s.cancelB = widget.NewButtonWithIcon(T("ops.cancel"), theme.CancelIcon(), func() { s.w.activity(); s.back() })
	s.doneB = widget.NewButtonWithIcon(T("wizard.done"), theme.ConfirmIcon(), func() { s.w.activity(); s.done() })
	s.doneB.Hide()
	s.task = newTaskBar()
	s.verdict = newVerdict()
	body := container.NewVBox(wrapped(what), wrapped(T("erase.explain")), warning,
		widget.NewSeparator(), widget.NewLabel(ask), s.confirm, s.check,
		container.NewHBox(s.eraseB, s.cancelB, s.doneB), s.task.box, s.verdict.Label)
	s.content = container.NewBorder(opsHeader(w, T("erase.title"), func() { s.leave() }), nil, nil, nil, container.NewVScroll(body))
	s.update()
	return s
}

func (s *eraseScreen) view() fyne.CanvasObject { return s.content }

func (s *eraseScreen) close() { s.closed = true }

// leave goes back, or on after an erasure.
func (s *eraseScreen) leave() {
	if s.task.busy() {
		return
	}
	if s.doneB.Visible() {
		s.done()
	} else {
		s.back()
	}
}

// confirmed reports whether what was typed confirms the erasure.
func (s *eraseScreen) confirmed() bool {
	text := strings.TrimSpace(s.confirm.Text)
	if len(s.codes) == 1 {
		c, err := service.ParseCode(text)
		return err == nil && c == s.codes[0]
	}
	return text == strconv.Itoa(len(s.codes))
}

func (s *eraseScreen) update() {
	ok := s.confirmed()
	enable(s.eraseB, ok && !s.task.busy() && !s.doneB.Visible())
	switch {
	case s.confirm.Text == "":
		s.check.SetText("")
	case ok:
		s.check.Importance = widget.DangerImportance
		s.check.SetText(T("erase.ready"))
	default:
		s.check.Importance = widget.LowImportance
		s.check.SetText(T("erase.nomatch"))
	}
}

func (s *eraseScreen) erase() {
	s.w.activity()
	if !s.confirmed() || s.task.busy() || s.doneB.Visible() {
		return
	}
	t, _ := s.task.start(T("erase.running"), false)
	s.confirm.Disable()
	s.cancelB.Disable()
	s.update()
	report := s.task.report(t, nil)
	svc, codes := s.w.svc, s.codes
	go func() {
		erased, err := svc.Erase(codes, func(done, total int) { report("", int64(done), int64(total)) })
		toUI(func() {
			if s.closed {
				return
			}
			s.task.end()
			if err != nil {
				msg := T("erase.failed", map[string]any{"Err": explain(err)})
				if len(erased) > 0 {
					msg += "\n" + T("erase.partly", arg(len(erased)))
				}
				s.verdict.bad(msg)
			} else {
				s.verdict.ok(T("erase.done", arg(len(erased))))
			}
			if len(erased) > 0 {
				s.doneB.Show()
				s.cancelB.Hide()
			} else {
				s.confirm.Enable()
				s.cancelB.Enable()
			}
			s.update()
			s.content.Refresh()
		})
	}()
}

// eraseButton is the detail's "Erase…": the erase screen for its
// customer, back to the detail on Cancel, to the customers list after.
func eraseButton(d *customerDetail) *widget.Button {
	w := d.w
	b := widget.NewButtonWithIcon(T("erase.open"), theme.DeleteIcon(), func() {
		w.activity()
		d.hideNumbers()
		w.showErase([]Code{d.code}, func() {
			w.closeOps()
			if w.detail == d {
				w.show(d.content)
			}
		}, func() {
			w.showCustomers()
			if w.customers != nil {
				w.customers.reload()
			}
		})
	})
	return b
}
