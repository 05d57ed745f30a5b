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

// firstRun makes a new vault when the vault folder holds none, in three
// steps:
//
//  1. the recovery key: its sheet is shown, and saved (key file and a
//     PDF to print, optionally a passphrase-protected copy) to a folder
//     the user chooses, e.g. a USB stick;
//  2. the check that it was kept: the sheet is hidden and two groups of
//     the secret key are typed back from the copy;
//  3. the first admin: their card (its PIN and PUK are replaced), their
//     name, their passed screening and their signed NDA; the vault is
//     created and unlocked with the card.
//
// The key comes first so that no vault exists whose recovery key was not
// kept.
type firstRun struct {
	w       *Window
	content *fyne.Container
	sheet   RecoverySheet

	// Step 1.
	passphrase *widget.Entry
	saved      *widget.Label
	keptB      *widget.Button
	sheetErr   *widget.Label

	// Step 2.
	answers  []*widget.Entry
	checkB   *widget.Button
	checkErr *widget.Label

	// Step 3.
	cards                  []Card
	cardSel                *widget.Select
	allowSim               *widget.Check
	name, title            *widget.Entry
	screenedBy, screenedOn *widget.Entry
	ndaSigned              *widget.Entry
	ndaLabel               *widget.Label
	nda                    []byte
	pin, newPIN, newPIN2   *widget.Entry
	puk, newPUK, newPUK2   *widget.Entry
	createB                *widget.Button
	createErr              *widget.Label
	progress               *widget.ProgressBarInfinite
	chosen                 *Card
}

func newFirstRun(w *Window) *firstRun {
	f := &firstRun{w: w, content: container.NewStack()}
	f.sheetErr = errorLabel()
	background(func() {
		sheet, err := w.svc.NewRecoveryKey()
		fyne.Do(func() {
			if err != nil {
				f.content.Objects = []fyne.CanvasObject{container.NewVBox(bold(T("first.title")), f.sheetErr)}
				setError(f.sheetErr, explain(err))
				f.content.Refresh()
				return
			}
			f.sheet = sheet
			f.step1()
		})
	})
	return f
}

// bold is a bold label.
func bold(text string) *widget.Label {
	return widget.NewLabelWithStyle(text, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
}

func (f *firstRun) setStep(o fyne.CanvasObject) {
	f.content.Objects = []fyne.CanvasObject{o}
	f.content.Refresh()
}

// step1 shows the recovery sheet and how to keep it.
func (f *firstRun) step1() {
	text := widget.NewLabelWithStyle(f.sheet.Text, fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
	f.passphrase = widget.NewPasswordEntry()
	f.passphrase.SetPlaceHolder(T("first.key.passphrase"))
	f.saved = wrapped("")
	f.saved.Hide()
	saveB := widget.NewButtonWithIcon(T("first.key.save"), theme.DocumentSaveIcon(), func() {
		f.w.activity()
		dialog.NewFolderOpen(func(dir fyne.ListableURI, err error) {
			if err != nil {
				setError(f.sheetErr, explain(err))
				return
			}
			if dir != nil {
				f.saveTo(dir.Path())
			}
		}, f.w.Window).Show()
	})
	f.keptB = widget.NewButtonWithIcon(T("first.key.kept"), theme.NavigateNextIcon(), f.step2)
	f.keptB.Importance = widget.HighImportance
	top := container.NewVBox(bold(T("first.title")), bold(T("first.key.step")), wrapped(T("first.key.help")))
	bottom := container.NewVBox(wrapped(T("first.key.savehelp")), f.passphrase, f.sheetErr, f.saved,
		container.NewHBox(saveB, f.keptB))
	f.setStep(container.NewBorder(top, bottom, nil, nil, container.NewScroll(text)))
}

// saveTo writes the key file and the sheet (and the protected copy, with a
// passphrase) to the folder dir.
func (f *firstRun) saveTo(dir string) {
	pass := takeSecret(f.passphrase)
	setError(f.sheetErr, "")
	background(func() {
		paths, err := f.w.svc.SaveRecovery(dir, pass)
		fyne.Do(func() {
			if err != nil {
				setError(f.sheetErr, explain(err))
				return
			}
			list := ""
			for _, p := range paths {
				list += "\n" + p
			}
			f.saved.SetText(T("first.key.saved", arg(list)))
			f.saved.Show()
		})
	})
}

// step2 hides the sheet and asks for groups of the key from the copy.
func (f *firstRun) step2() {
	f.w.activity()
	f.checkErr = errorLabel()
	f.answers = nil
	form := container.New(&formLayout{})
	for _, g := range f.sheet.Check {
		e := widget.NewEntry()
		e.SetPlaceHolder("XXXX")
		e.OnSubmitted = func(string) { f.check() }
		f.answers = append(f.answers, e)
		form.Add(bold(T("first.check.group", map[string]any{"Line": g.Line, "Group": g.Group})))
		form.Add(e)
	}
	f.checkB = widget.NewButtonWithIcon(T("first.check.button"), theme.ConfirmIcon(), f.check)
	f.checkB.Importance = widget.HighImportance
	back := widget.NewButtonWithIcon(T("first.check.back"), theme.NavigateBackIcon(), f.step1)
	f.setStep(container.NewVBox(bold(T("first.title")), bold(T("first.check.step")), wrapped(T("first.check.help")),
		form, f.checkErr, container.NewHBox(back, f.checkB)))
}

func (f *firstRun) check() {
	f.w.activity()
	var answers []string
	for _, e := range f.answers {
		answers = append(answers, e.Text)
	}
	background(func() {
		err := f.w.svc.ConfirmRecovery(answers)
		fyne.Do(func() {
			if err != nil {
				for _, e := range f.answers {
					e.SetText("")
				}
				setError(f.checkErr, T("first.check.wrong"))
				return
			}
			f.step3()
		})
	})
}

// step3 asks for the first admin and their card, and creates the vault.
func (f *firstRun) step3() {
	f.createErr = errorLabel()
	f.cardSel = widget.NewSelect(nil, func(string) { f.chooseCard() })
	f.cardSel.PlaceHolder = T("first.admin.card")
	f.allowSim = widget.NewCheck(T("first.admin.allowsim"), nil)
	f.allowSim.Hide()
	again := widget.NewButtonWithIcon(T("cards.again"), theme.ViewRefreshIcon(), f.loadCards)
	entry := func(placeholder string) *widget.Entry {
		e := widget.NewEntry()
		e.SetPlaceHolder(placeholder)
		return e
	}
	secret := func(placeholder string) *widget.Entry {
		e := widget.NewPasswordEntry()
		e.SetPlaceHolder(placeholder)
		return e
	}
	f.name, f.title = entry(""), entry("")
	f.screenedBy, f.screenedOn = entry(""), entry(T("date.placeholder"))
	f.ndaSigned = entry(T("date.placeholder"))
	f.ndaLabel = widget.NewLabel(T("first.admin.nonda"))
	ndaB := widget.NewButtonWithIcon(T("nda.choose"), theme.FolderOpenIcon(), func() { f.w.chooseNDA(f.setNDA) })
	f.pin, f.puk = secret(T("first.admin.pin.placeholder")), secret(T("first.admin.puk.placeholder"))
	f.newPIN, f.newPIN2 = secret(T("unlock.puk.newpin")), secret(T("unlock.puk.repeat"))
	f.newPUK, f.newPUK2 = secret(T("first.admin.newpuk")), secret(T("first.admin.newpuk.repeat"))
	f.progress = widget.NewProgressBarInfinite()
	f.progress.Stop()
	f.progress.Hide()
	f.createB = widget.NewButtonWithIcon(T("first.admin.create"), theme.ConfirmIcon(), f.create)
	f.createB.Importance = widget.HighImportance

	form := container.New(&formLayout{},
		bold(T("first.admin.card")), container.NewBorder(nil, nil, nil, again, f.cardSel),
		widget.NewLabel(""), f.allowSim,
		bold(T("staff.name")), f.name,
		bold(T("staff.title")), f.title,
		bold(T("staff.screenedby")), f.screenedBy,
		bold(T("staff.screenedon")), f.screenedOn,
		bold(T("staff.nda")), container.NewBorder(nil, nil, nil, ndaB, f.ndaLabel),
		bold(T("staff.ndasigned")), f.ndaSigned,
		bold(T("first.admin.pin")), f.pin,
		bold(T("first.admin.newpin")), container.NewGridWithColumns(2, f.newPIN, f.newPIN2),
		bold(T("first.admin.puk")), f.puk,
		bold(T("first.admin.newpuk")), container.NewGridWithColumns(2, f.newPUK, f.newPUK2),
	)
	body := container.NewVBox(bold(T("first.title")), bold(T("first.admin.step")), wrapped(T("first.admin.help")),
		form, f.createErr, f.progress, container.NewHBox(f.createB))
	f.setStep(container.NewVScroll(body))
	f.loadCards()
}

func (f *firstRun) loadCards() {
	background(func() {
		cards, err := f.w.svc.Cards()
		fyne.Do(func() {
			if err != nil {
				setError(f.createErr, explainCards(err))
				return
			}
			f.cards = cards
			var names []string
			for _, c := range cards {
				names = append(names, cardName(c))
			}
			f.cardSel.SetOptions(names)
			if len(names) > 0 {
				f.cardSel.SetSelectedIndex(0)
			} else {
				setError(f.createErr, T("cards.none"))
			}
		})
	})
}

// cardName names a card in a list.
func cardName(c Card) string {
	s := T("cards.row", map[string]any{"Serial": fmt.Sprint(c.Serial), "Firmware": c.Firmware})
	if c.Simulated {
		s += " · " + T("cards.simulated")
	}
	return s
}

func (f *firstRun) chooseCard() {
	f.chosen = nil
	if i := f.cardSel.SelectedIndex(); i >= 0 && i < len(f.cards) {
		c := f.cards[i]
		f.chosen = &c
	}
	if f.chosen != nil && f.chosen.Simulated && !f.w.svc.Demo() {
		f.allowSim.Show()
	} else {
		f.allowSim.Hide()
	}
}

// setNDA takes the signed NDA chosen in the file dialog.
func (f *firstRun) setNDA(name string, data []byte) {
	f.nda = data
	f.ndaLabel.SetText(T("nda.chosen", map[string]any{"Name": name, "Size": humanSize(int64(len(data)))}))
}

// chooseNDA asks for a signed NDA file and hands its name and contents
// (at most service.MaxNDASize bytes) to use.
func (w *Window) chooseNDA(use func(name string, data []byte)) {
	w.activity()
	dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			return
		}
		defer r.Close()
		data, err := io.ReadAll(io.LimitReader(r, service.MaxNDASize+1))
		switch {
		case err != nil:
			dialog.ShowError(errors.New(explain(err)), w.Window)
		case len(data) > service.MaxNDASize:
			dialog.ShowError(errors.New(T("nda.toolarge", arg(service.MaxNDASize>>20))), w.Window)
		case len(data) == 0:
			dialog.ShowError(errors.New(T("nda.empty")), w.Window)
		default:
			use(r.URI().Name(), data)
		}
	}, w.Window).Show()
}

func (f *firstRun) create() {
	f.w.activity()
	pin, newPIN, newPIN2 := takeSecret(f.pin), takeSecret(f.newPIN), takeSecret(f.newPIN2)
	puk, newPUK, newPUK2 := takeSecret(f.puk), takeSecret(f.newPUK), takeSecret(f.newPUK2)
	screened, okS := parseDate(f.screenedOn.Text)
	signed, okN := parseDate(f.ndaSigned.Text)
	switch {
	case f.chosen == nil:
		setError(f.createErr, T("first.admin.nocard"))
	case !okS || !okN:
		setError(f.createErr, T("date.bad"))
	case f.nda == nil:
		setError(f.createErr, T("first.admin.nonda"))
	case pin == "" || puk == "" || newPIN == "" || newPUK == "":
		setError(f.createErr, T("first.admin.pins"))
	case newPIN != newPIN2:
		setError(f.createErr, T("unlock.puk.mismatch"))
	case newPUK != newPUK2:
		setError(f.createErr, T("first.admin.pukmismatch"))
	default:
		a := FirstAdmin{
			Serial: f.chosen.Serial, PIN: pin, PUK: puk, NewPIN: newPIN, NewPUK: newPUK,
			AllowSimulated: f.allowSim.Checked,
			Name:           f.name.Text, Title: f.title.Text,
			ScreenedBy: f.screenedBy.Text, ScreenedOn: screened,
			NDASigned: signed, NDADocument: f.nda,
		}
		setError(f.createErr, "")
		f.createB.Disable()
		f.progress.Show()
		f.progress.Start()
		background(func() {
			err := f.w.svc.CreateVault(a)
			fyne.Do(func() {
				f.progress.Stop()
				f.progress.Hide()
				f.createB.Enable()
				if err != nil {
					setError(f.createErr, explain(err))
					return
				}
				f.nda = nil
				f.w.unlockedNow()
			})
		})
	}
}
