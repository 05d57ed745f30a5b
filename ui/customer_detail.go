package ui

import (
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// revealFor is how long revealed numbers stay on screen.
const revealFor = 30 * time.Second

// customerDetail shows one customer: the record as the store returns it
// for a view (numbers masked), a Reveal button (an audited reveal) that
// shows the numbers until the view changes or revealFor passes, edit,
// the version history, the documents (their names are shown only here)
// and the retention date.
type customerDetail struct {
	w       *Window
	code    Code
	content fyne.CanvasObject

	title    *widget.Label
	fields   *fyne.Container
	revealB  *widget.Button
	editB    *widget.Button
	notice   *widget.Label
	errLabel *widget.Label
	history  *fyne.Container
	docs     *fyne.Container
	progress *widget.ProgressBarInfinite

	masked   *Record // the view's record
	revealed bool
	hide     Timer
	closed   bool
}

func newCustomerDetail(w *Window, code Code) *customerDetail {
	d := &customerDetail{w: w, code: code}
	d.title = widget.NewLabelWithStyle(T("detail.title", arg(string(code))), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	back := widget.NewButtonWithIcon(T("detail.back"), theme.NavigateBackIcon(), func() {
		w.activity()
		w.showCustomers()
	})
	d.revealB = widget.NewButtonWithIcon(T("detail.reveal"), theme.VisibilityIcon(), d.toggleReveal)
	d.editB = widget.NewButtonWithIcon(T("detail.edit"), theme.DocumentCreateIcon(), d.edit)
	lock := widget.NewButtonWithIcon(T("window.lock"), theme.LogoutIcon(), w.Lock)
	d.notice = widget.NewLabel("")
	d.notice.Importance = widget.WarningImportance
	d.notice.Wrapping = fyne.TextWrapWord
	d.notice.Hide()
	d.errLabel = errorLabel()
	d.progress = widget.NewProgressBarInfinite()
	d.fields = container.New(&formLayout{})
	d.history = container.NewVBox()
	d.docs = container.NewVBox()

	copyB := widget.NewButtonWithIcon(T("detail.copy"), theme.ContentCopyIcon(), func() {
		w.activity()
		w.copyText(string(code)) // cleared again after the settings' delay (clipboard.go)
	})
	bar := container.NewBorder(nil, nil, container.NewHBox(back, d.title, copyB), container.NewHBox(d.revealB, d.editB, eraseButton(d), lock), nil)
	top := container.NewVBox(bar, d.notice, d.errLabel, d.progress)
	openDocs := widget.NewButtonWithIcon(T("docs.show"), theme.FolderOpenIcon(), func() {
		w.activity()
		w.openDocuments(code)
	})
	body := container.NewVBox(d.fields,
		widget.NewSeparator(), container.NewHBox(widget.NewLabelWithStyle(T("detail.documents"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), openDocs), d.docs,
		widget.NewSeparator(), widget.NewLabelWithStyle(T("detail.history"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), d.history)
	d.content = container.NewBorder(top, nil, nil, nil, container.NewVScroll(body))
	d.load()
	return d
}

// load reads the view, the history and the documents (each audited by
// the store).
func (d *customerDetail) load() {
	d.revealB.Disable()
	d.editB.Disable()
	d.progress.Show()
	d.progress.Start()
	svc, code := d.w.svc, d.code
	background(func() {
		rec, err := svc.View(code)
		var hist []Record
		var docs []Document
		if err == nil {
			hist, err = svc.History(code)
		}
		if err == nil {
			docs, err = svc.Documents(code)
		}
		fyne.Do(func() {
			if d.closed {
				return
			}
			d.progress.Stop()
			d.progress.Hide()
			if err != nil {
				setError(d.errLabel, explain(err))
				return
			}
			d.masked = &rec
			d.showRecord(rec)
			d.showHistory(hist)
			d.showDocuments(docs)
			d.revealB.Enable()
			d.editB.Enable()
			trace("detail loaded")
		})
	})
}

func (d *customerDetail) showRecord(r Record) {
	c := r.Customer
	d.fields.RemoveAll()
	add := func(label, value string) {
		if value == "" {
			value = "—"
		}
		v := widget.NewLabel(value)
		v.Wrapping = fyne.TextWrapWord
		v.Selectable = true
		d.fields.Add(widget.NewLabelWithStyle(label, fyne.TextAlignTrailing, fyne.TextStyle{Bold: true}))
		d.fields.Add(v)
	}
	add(T("field.name"), c.Name)
	add(T("field.personnummer"), c.PersonalNumber)
	add(T("field.org"), c.OrgNumber)
	add(T("field.addresses"), strings.Join(c.Addresses, "\n\n"))
	add(T("field.phone"), c.Phone)
	add(T("field.email"), c.Email)
	add(T("field.cards"), strings.Join(c.Cards, "\n"))
	add(T("field.accounts"), strings.Join(c.Accounts, "\n"))
	add(T("field.tags"), strings.Join(c.Tags, ", "))
	add(T("field.retain"), c.RetainUntil)
	add(T("field.notes"), c.Notes)
	add(T("detail.version"), T("detail.versionvalue", map[string]any{"N": r.Version, "Time": r.Time.Local().Format("2006-01-02 15:04")}))
	d.fields.Refresh()
}

func (d *customerDetail) showHistory(hist []Record) {
	d.history.RemoveAll()
	for _, r := range hist {
		d.history.Add(widget.NewLabel(T("detail.historyrow", map[string]any{
			"N": r.Version, "Time": r.Time.Local().Format("2006-01-02 15:04"), "Holder": r.Holder.Short(),
		})))
	}
}

func (d *customerDetail) showDocuments(docs []Document) {
	d.docs.RemoveAll()
	if len(docs) == 0 {
		d.docs.Add(widget.NewLabel(T("detail.nodocuments")))
	}
	for _, doc := range docs {
		row := T("detail.docrow", map[string]any{
			"Name": doc.Name, "Type": doc.MediaType, "Size": humanSize(doc.Size), "Added": doc.Added.Local().Format("2006-01-02"),
		})
		if doc.Protected {
			row += " · " + T("detail.protected")
		}
		d.docs.Add(container.NewHBox(widget.NewIcon(theme.FileIcon()), widget.NewLabel(row)))
	}
}

func humanSize(n int64) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/1024)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// toggleReveal reveals the numbers (audited) or hides them again.
func (d *customerDetail) toggleReveal() {
	d.w.activity()
	if d.revealed {
		d.hideNumbers()
		return
	}
	d.revealB.Disable()
	svc, code := d.w.svc, d.code
	background(func() {
		rec, err := svc.Reveal(code)
		fyne.Do(func() {
			if d.closed {
				return
			}
			d.revealB.Enable()
			if err != nil {
				setError(d.errLabel, explain(err))
				return
			}
			d.revealed = true
			d.showRecord(rec)
			d.revealB.SetText(T("detail.hide"))
			d.revealB.SetIcon(theme.VisibilityOffIcon())
			d.notice.SetText(T("detail.revealed", arg(int(revealFor.Seconds()))))
			d.notice.Show()
			d.hide = d.w.after(revealFor, d.hideNumbers)
		})
	})
}

// hideNumbers shows the masked record again.
func (d *customerDetail) hideNumbers() {
	if d.hide != nil {
		d.hide.Stop()
		d.hide = nil
	}
	if !d.revealed || d.closed {
		return
	}
	d.revealed = false
	if d.masked != nil {
		d.showRecord(*d.masked)
	}
	d.revealB.SetText(T("detail.reveal"))
	d.revealB.SetIcon(theme.VisibilityIcon())
	d.notice.Hide()
}

// edit reads the record unmasked (an audited reveal: editing shows every
// number) and opens the form on it.
func (d *customerDetail) edit() {
	d.w.activity()
	d.hideNumbers()
	d.editB.Disable()
	svc, code := d.w.svc, d.code
	background(func() {
		rec, err := svc.Reveal(code)
		fyne.Do(func() {
			if d.closed {
				return
			}
			d.editB.Enable()
			if err != nil {
				setError(d.errLabel, explain(err))
				return
			}
			form := newCustomerForm(d.w, "", &rec, func(Code) {
				d.w.show(d.content)
				d.load()
			}, func() { d.w.show(d.content) })
			d.w.show(form.content)
		})
	})
}

// close hides the numbers and drops the record: the view changed.
func (d *customerDetail) close() {
	d.hideNumbers()
	d.closed = true
	d.masked = nil
	d.fields.RemoveAll()
	d.history.RemoveAll()
	d.docs.RemoveAll()
}
