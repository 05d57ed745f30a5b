package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"
)

// passphraseDialog asks for a protected document's own passphrase. What
// is typed is handed to ok once and cleared from the entry; it is never
// kept or shown.
type passphraseDialog struct {
	entry *widget.Entry
	dlg   *dialog.ConfirmDialog
	done  bool
}

// askPassphrase shows the prompt for the document named name; message,
// if not "", says why it asks (again). cancel runs if it is dismissed.
func askPassphrase(w *Window, name, message string, ok func(passphrase string), cancel func()) *passphraseDialog {
	d := &passphraseDialog{entry: widget.NewPasswordEntry()}
	d.entry.SetPlaceHolder(T("docs.passphrase"))
	why := widget.NewLabel(T("docs.protectedasks", map[string]any{"Name": name}))
	why.Wrapping = fyne.TextWrapWord
	items := []fyne.CanvasObject{why}
	if message != "" {
		e := errorLabel()
		setError(e, message)
		items = append(items, e)
	}
	items = append(items, d.entry)
	submit := func(confirmed bool) {
		if d.done {
			return
		}
		d.done = true
		w.activity()
		pass := d.entry.Text
		d.entry.SetText("")
		if confirmed && pass != "" {
			ok(pass)
		} else {
			cancel()
		}
	}
	d.dlg = dialog.NewCustomConfirm(T("docs.passphrasetitle"), T("docs.open"), T("docs.cancel"), container.NewVBox(items...), submit, w)
	d.entry.OnSubmitted = func(string) { d.dlg.Confirm() }
	d.dlg.Resize(fyne.NewSize(420, 0))
	d.dlg.Show()
	w.Canvas().Focus(d.entry)
	return d
}

// dismiss closes the prompt without using what was typed (the window
// locked).
func (d *passphraseDialog) dismiss() {
	d.done = true
	d.entry.SetText("")
	d.dlg.Hide()
}
