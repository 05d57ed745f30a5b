package ui

import (
	"errors"
	"fmt"
	"io"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/valv-vault/valv/store/service"
)

// maxKeyFile bounds a recovery key file read from disk.
const maxKeyFile = 64 << 10

// unlockScreen opens the vault: the cards present (cardsScreen), the
// chosen card's PIN, the PUK when the PIN is blocked, and the recovery
// key. A PIN, PUK or key is taken out of its entry when submitted, handed
// to the service and not kept.
type unlockScreen struct {
	w       *Window
	content fyne.CanvasObject
	cards   *cardsScreen
	card    *Card // the chosen card, or nil

	message  *widget.Label // why the window locked
	pinLabel *widget.Label
	pin      *widget.Entry
	unlockB  *widget.Button
	pinError *widget.Label

	pukBox              *fyne.Container
	puk, newPIN, repeat *widget.Entry
	pukB                *widget.Button
	pukError            *widget.Label

	recKey    *widget.Entry
	recB      *widget.Button
	recError  *widget.Label
	progress  *widget.ProgressBarInfinite
	busy      bool
	pukShowed bool
}

func newUnlockScreen(w *Window, message string) *unlockScreen {
	s := &unlockScreen{w: w}
	s.cards = newCardsScreen(w.svc)
	s.cards.onChosen = s.choose

	title := widget.NewLabelWithStyle(T("unlock.title"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	s.message = widget.NewLabel(message)
	s.message.Wrapping = fyne.TextWrapWord
	s.message.Importance = widget.WarningImportance
	if message == "" {
		s.message.Hide()
	}

	s.pinLabel = widget.NewLabel(T("unlock.pin.nocard"))
	s.pin = widget.NewPasswordEntry()
	s.pin.SetPlaceHolder(T("unlock.pin.placeholder"))
	s.pin.OnSubmitted = func(string) { s.submitPIN() }
	s.pin.OnChanged = func(string) { w.activity() }
	s.unlockB = widget.NewButtonWithIcon(T("unlock.button"), theme.LoginIcon(), s.submitPIN)
	s.unlockB.Importance = widget.HighImportance
	s.pinError = errorLabel()
	pukLink := widget.NewButton(T("unlock.puk.open"), func() { s.showPUK("") })
	pukLink.Importance = widget.LowImportance

	s.puk = widget.NewPasswordEntry()
	s.puk.SetPlaceHolder(T("unlock.puk.placeholder"))
	s.newPIN = widget.NewPasswordEntry()
	s.newPIN.SetPlaceHolder(T("unlock.puk.newpin"))
	s.repeat = widget.NewPasswordEntry()
	s.repeat.SetPlaceHolder(T("unlock.puk.repeat"))
	s.repeat.OnSubmitted = func(string) { s.submitPUK() }
	s.pukB = widget.NewButtonWithIcon(T("unlock.puk.button"), theme.LoginIcon(), s.submitPUK)
	s.pukError = errorLabel()
	s.pukBox = container.NewVBox(
		widget.NewLabelWithStyle(T("unlock.puk.title"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		wrapped(T("unlock.puk.help")),
		s.puk, s.newPIN, s.repeat, s.pukError, container.NewHBox(s.pukB))
	s.pukBox.Hide()

	s.recKey = widget.NewPasswordEntry()
	s.recKey.SetPlaceHolder(T("unlock.recovery.placeholder"))
	s.recKey.OnSubmitted = func(string) { s.submitRecovery() }
	s.recB = widget.NewButtonWithIcon(T("unlock.recovery.button"), theme.LoginIcon(), s.submitRecovery)
	openB := widget.NewButtonWithIcon(T("unlock.recovery.file"), theme.FolderOpenIcon(), s.openKeyFile)
	s.recError = errorLabel()
	recovery := widget.NewAccordion(widget.NewAccordionItem(T("unlock.recovery.title"), container.NewVBox(
		wrapped(T("unlock.recovery.help")), s.recKey, s.recError, container.NewHBox(s.recB, openB))))

	s.progress = widget.NewProgressBarInfinite()
	s.progress.Stop()
	s.progress.Hide()

	pinBox := container.NewVBox(s.pinLabel, s.pin, s.pinError, container.NewHBox(s.unlockB, pukLink), s.progress)
	form := container.NewVBox(pinBox, s.pukBox, widget.NewSeparator(), recovery)
	top := container.NewVBox(title, s.message)
	s.content = container.NewBorder(top, nil, nil, nil,
		container.NewGridWithColumns(2, s.cards.content, container.NewVScroll(form)))
	s.choose(nil)
	return s
}

// wrapped is a label that wraps its text.
func wrapped(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	return l
}

func (s *unlockScreen) refresh() { s.cards.refresh() }

// choose makes c the card the PIN goes to.
func (s *unlockScreen) choose(c *Card) {
	s.card = c
	setError(s.pinError, "")
	if c == nil {
		s.pinLabel.SetText(T("unlock.pin.nocard"))
		s.pin.Disable()
		s.unlockB.Disable()
		return
	}
	s.pinLabel.SetText(T("unlock.pin.label", arg(fmt.Sprint(c.Serial))))
	if !s.busy {
		s.pin.Enable()
		s.unlockB.Enable()
		s.focusPIN()
	}
}

// focusPIN gives the PIN entry the keyboard focus, so that the key
// holder can type the PIN and press Enter at once, unless another field
// of the screen has it (a refresh of the cards must not take it from the
// recovery key entry).
func (s *unlockScreen) focusPIN() {
	c := s.w.Canvas()
	if f := c.Focused(); f == nil || f == fyne.Focusable(s.cards.list) {
		c.Focus(s.pin)
	}
	if c.Focused() == fyne.Focusable(s.pin) {
		trace("unlock ready focus=pin")
	} else {
		trace("unlock ready focus=other")
	}
}

// setBusy shows the progress bar and disables the buttons while the
// engine works.
func (s *unlockScreen) setBusy(busy bool) {
	s.busy = busy
	for _, b := range []*widget.Button{s.unlockB, s.pukB, s.recB} {
		if busy {
			b.Disable()
		} else {
			b.Enable()
		}
	}
	if busy {
		s.progress.Show()
		s.progress.Start()
	} else {
		s.progress.Stop()
		s.progress.Hide()
		if s.card == nil {
			s.unlockB.Disable()
		}
	}
}

// takeSecret empties an entry and returns what was typed.
func takeSecret(e *widget.Entry) string {
	v := e.Text
	e.SetText("")
	return v
}

func (s *unlockScreen) submitPIN() {
	s.w.activity()
	if s.busy || s.card == nil {
		return
	}
	pin := takeSecret(s.pin)
	if pin == "" {
		setError(s.pinError, T("unlock.pin.empty"))
		return
	}
	serial := s.card.Serial
	s.run(s.pinError, func() error { return s.w.svc.Unlock(serial, pin) })
}

func (s *unlockScreen) showPUK(why string) {
	s.pukShowed = true
	s.pukBox.Show()
	setError(s.pukError, why)
}

func (s *unlockScreen) submitPUK() {
	s.w.activity()
	if s.busy {
		return
	}
	if s.card == nil {
		setError(s.pukError, T("unlock.pin.nocard"))
		return
	}
	puk, newPIN, repeat := takeSecret(s.puk), takeSecret(s.newPIN), takeSecret(s.repeat)
	switch {
	case puk == "" || newPIN == "":
		setError(s.pukError, T("unlock.puk.empty"))
		return
	case newPIN != repeat:
		setError(s.pukError, T("unlock.puk.mismatch"))
		return
	}
	serial := s.card.Serial
	s.run(s.pukError, func() error { return s.w.svc.Unblock(serial, puk, newPIN) })
}

func (s *unlockScreen) submitRecovery() {
	s.w.activity()
	if s.busy {
		return
	}
	key := takeSecret(s.recKey)
	if key == "" {
		setError(s.recError, T("unlock.recovery.empty"))
		return
	}
	s.run(s.recError, func() error { return s.w.svc.UnlockRecovery([]byte(key)) })
}

// openKeyFile reads the recovery key from a file the user picks.
func (s *unlockScreen) openKeyFile() {
	s.w.activity()
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil {
			setError(s.recError, explain(err))
			return
		}
		if r == nil {
			return // cancelled
		}
		s.run(s.recError, func() error {
			defer r.Close()
			data, err := io.ReadAll(io.LimitReader(r, maxKeyFile+1))
			if err != nil {
				return err
			}
			defer clear(data)
			if len(data) > maxKeyFile {
				return errors.New(T("unlock.recovery.toolarge"))
			}
			return s.w.svc.UnlockRecovery(data)
		})
	}, s.w.Window)
	d.Show()
}

// run calls unlock in the background and shows its error in errLabel, or
// moves on to the customers.
func (s *unlockScreen) run(errLabel *widget.Label, unlock func() error) {
	for _, l := range []*widget.Label{s.pinError, s.pukError, s.recError} {
		setError(l, "")
	}
	s.setBusy(true)
	background(func() {
		err := unlock()
		fyne.Do(func() {
			s.setBusy(false)
			if err == nil {
				s.w.unlockedNow()
				return
			}
			trace("unlock failed")
			setError(errLabel, explain(err))
			if errors.Is(err, service.ErrBlocked) {
				setError(s.pinError, explain(err))
				s.showPUK(T("unlock.puk.blocked"))
			}
		})
	})
}
