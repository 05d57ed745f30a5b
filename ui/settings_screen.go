package ui

import (
	"fmt"
	"slices"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// settingsScreen sets the idle lock, how long a copied code stays on the
// clipboard and the language, and shows the air-gap status. Settings are
// saved in the user's config folder (settings.go).
type settingsScreen struct {
	w       *Window
	content fyne.CanvasObject

	idleSel, clipSel, langSel *widget.Select
	saveB                     *widget.Button
	saved                     *widget.Label
	errLabel                  *widget.Label
	airGap                    *widget.Label
}

func newSettingsScreen(w *Window) *settingsScreen {
	s := &settingsScreen{w: w}
	cur := w.settings.Settings

	var idle, clip []string
	for _, m := range idleChoices {
		idle = append(idle, T("settings.minutes", arg(m)))
	}
	for _, c := range clipboardChoices {
		clip = append(clip, T("settings.seconds", arg(c)))
	}
	langs := []string{T("settings.lang.system"), "English", "Svenska"}
	s.idleSel = widget.NewSelect(idle, nil)
	s.idleSel.SetSelectedIndex(max(0, slices.Index(idleChoices, int(w.idle.d.Minutes()))))
	s.clipSel = widget.NewSelect(clip, nil)
	s.clipSel.SetSelectedIndex(max(0, slices.Index(clipboardChoices, cur.ClipboardSeconds)))
	s.langSel = widget.NewSelect(langs, nil)
	s.langSel.SetSelectedIndex(max(0, slices.Index(languageChoices, cur.Language)))
	s.saveB = widget.NewButtonWithIcon(T("settings.save"), theme.DocumentSaveIcon(), s.save)
	s.saveB.Importance = widget.HighImportance
	s.saved = widget.NewLabel("")
	s.saved.Hide()
	s.errLabel = errorLabel()

	s.airGap = wrapped("")
	check := widget.NewButtonWithIcon(T("settings.airgap.check"), theme.ViewRefreshIcon(), s.checkAirGap)
	s.checkAirGap()

	form := container.New(&formLayout{},
		bold(T("settings.idle")), s.idleSel,
		bold(T("settings.clipboard")), s.clipSel,
		bold(T("settings.language")), s.langSel,
	)
	lock := widget.NewButtonWithIcon(T("window.lock"), theme.LogoutIcon(), w.Lock)
	bar := container.NewBorder(nil, nil, bold(T("settings.title")), lock)
	body := container.NewVBox(bar, wrapped(T("settings.help")), form, s.errLabel, s.saved, container.NewHBox(s.saveB),
		widget.NewSeparator(), bold(T("settings.airgap")), s.airGap, container.NewHBox(check))
	s.content = container.NewVScroll(body)
	return s
}

// checkAirGap reads the network interfaces again, for the status here and
// the banner.
func (s *settingsScreen) checkAirGap() {
	s.w.activity()
	st := s.w.svc.AirGap()
	s.w.nav.airGap.show(st)
	s.airGap.SetText(airGapText(st))
	if st.Isolated() {
		s.airGap.Importance = widget.SuccessImportance
	} else {
		s.airGap.Importance = widget.DangerImportance
	}
	s.airGap.Refresh()
}

// save applies the settings (the idle lock at once) and writes them.
func (s *settingsScreen) save() {
	w := s.w
	w.activity()
	v := w.settings.Settings
	v.IdleMinutes = idleChoices[max(0, s.idleSel.SelectedIndex())]
	v.ClipboardSeconds = clipboardChoices[max(0, s.clipSel.SelectedIndex())]
	newLang := languageChoices[max(0, s.langSel.SelectedIndex())]
	changed := newLang != v.Language
	v.Language = newLang
	err := w.settings.save(v)
	w.idle.d = w.settings.idle()
	w.activity() // restart the countdown with the new time
	if err != nil {
		setError(s.errLabel, T("settings.notsaved", arg(explain(err))))
	} else {
		setError(s.errLabel, "")
	}
	if changed {
		applyLanguage(newLang)
		w.relabel()
		return
	}
	s.saved.SetText(T("settings.saved", arg(fmt.Sprint(v.IdleMinutes))))
	s.saved.Show()
}
