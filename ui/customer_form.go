package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/valv-vault/valv/store/customer"
)

// formField is one field of the customer form: its entry and the label
// under it that shows the store's message for it.
type formField struct {
	key   string // the field's name in customer.FieldErrors
	label string
	entry *widget.Entry
	err   *widget.Label
}

// customerForm adds a customer to a compartment, or edits one (existing
// is then its revealed record). The store validates; its per-field
// messages show under each field, and nothing typed is lost.
type customerForm struct {
	w       *Window
	content fyne.CanvasObject
	fields  []*formField
	errMsg  *widget.Label
	save    *widget.Button
}

func newCustomerForm(w *Window, compartment string, existing *Record, onSaved func(Code), onCancel func()) *customerForm {
	f := &customerForm{w: w}
	add := func(key, label string, multi bool) *widget.Entry {
		e := widget.NewEntry()
		if multi {
			e = widget.NewMultiLineEntry()
			e.SetMinRowsVisible(2)
		}
		e.OnChanged = func(string) { w.activity() }
		f.fields = append(f.fields, &formField{key: key, label: label, entry: e, err: errorLabel()})
		return e
	}
	name := add("name", T("field.name"), false)
	pnr := add("personnummer", T("field.personnummer"), false)
	org := add("organisationsnummer", T("field.org"), false)
	addr := add("addresses", T("field.addresses"), true)
	phone := add("phone", T("field.phone"), false)
	email := add("email", T("field.email"), false)
	cards := add("cards", T("field.cards"), true)
	accounts := add("accounts", T("field.accounts"), true)
	tags := add("tags", T("field.tags"), false)
	retain := add("retain_until", T("field.retain"), false)
	notes := add("notes", T("field.notes"), true)
	pnr.SetPlaceHolder("ÅÅÅÅMMDD-NNNN")
	retain.SetPlaceHolder("YYYY-MM-DD")
	cards.SetPlaceHolder(T("field.oneperline"))
	accounts.SetPlaceHolder(T("field.oneperline"))
	tags.SetPlaceHolder(T("field.commas"))

	title := T("form.add.title")
	if existing != nil {
		c := existing.Customer
		title = T("form.edit.title", arg(string(c.Code)))
		name.SetText(c.Name)
		pnr.SetText(c.PersonalNumber)
		org.SetText(c.OrgNumber)
		addr.SetText(strings.Join(c.Addresses, "\n\n"))
		phone.SetText(c.Phone)
		email.SetText(c.Email)
		cards.SetText(strings.Join(c.Cards, "\n"))
		accounts.SetText(strings.Join(c.Accounts, "\n"))
		tags.SetText(strings.Join(c.Tags, ", "))
		retain.SetText(c.RetainUntil)
		notes.SetText(c.Notes)
	}

	collect := func() Customer {
		c := Customer{
			Name: name.Text, PersonalNumber: pnr.Text, OrgNumber: org.Text,
			Addresses: splitBlocks(addr.Text), Phone: phone.Text, Email: email.Text,
			Cards: splitLines(cards.Text), Accounts: splitLines(accounts.Text),
			Tags: splitComma(tags.Text), RetainUntil: retain.Text, Notes: notes.Text,
		}
		if existing != nil {
			c.Code = existing.Customer.Code
		}
		return c
	}

	f.errMsg = errorLabel()
	progress := widget.NewProgressBarInfinite()
	progress.Stop()
	progress.Hide()
	f.save = widget.NewButtonWithIcon(T("form.save"), theme.DocumentSaveIcon(), func() {
		w.activity()
		c := collect()
		f.save.Disable()
		progress.Show()
		progress.Start()
		svc := w.svc
		background(func() {
			var code Code
			var err error
			if existing == nil {
				code, err = svc.AddCustomer(compartment, c)
			} else {
				code = existing.Customer.Code
				_, err = svc.EditCustomer(code, c)
			}
			fyne.Do(func() {
				f.save.Enable()
				progress.Stop()
				progress.Hide()
				f.showErrors(err)
				if err == nil {
					onSaved(code)
				}
			})
		})
	})
	f.save.Importance = widget.HighImportance
	cancel := widget.NewButtonWithIcon(T("form.cancel"), theme.CancelIcon(), func() {
		w.activity()
		onCancel()
	})

	grid := container.New(&formLayout{})
	for _, fl := range f.fields {
		grid.Add(widget.NewLabelWithStyle(fl.label, fyne.TextAlignTrailing, fyne.TextStyle{Bold: true}))
		grid.Add(container.NewVBox(fl.entry, fl.err))
	}
	head := container.NewVBox(widget.NewLabelWithStyle(title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), f.errMsg, progress)
	f.content = container.NewBorder(head, container.NewHBox(f.save, cancel), nil, nil, container.NewVScroll(grid))
	return f
}

// showErrors puts each field's message under it (clearing the others), or
// a general message at the top.
func (f *customerForm) showErrors(err error) {
	fe, ok := customer.AsFieldErrors(err)
	for _, fl := range f.fields {
		var msgs []string
		for _, e := range fe {
			if e.Field == fl.key || strings.HasPrefix(e.Field, fl.key+"[") {
				msgs = append(msgs, fieldMessage(e))
			}
		}
		setError(fl.err, strings.Join(msgs, "\n"))
	}
	switch {
	case err == nil:
		setError(f.errMsg, "")
	case ok:
		setError(f.errMsg, T("form.fix"))
	default:
		setError(f.errMsg, explain(err))
	}
}

// fieldMessage is the store's message for one field in the window's
// language (fieldText), numbered for list fields ("cards[1]": the second
// line).
func fieldMessage(e customer.FieldError) string {
	if i := strings.IndexByte(e.Field, '['); i >= 0 {
		n := strings.TrimSuffix(e.Field[i+1:], "]")
		var k int
		for _, c := range n {
			k = k*10 + int(c-'0')
		}
		return T("form.line", map[string]any{"N": k + 1, "Message": fieldText(e)})
	}
	return fieldText(e)
}

func splitLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// splitBlocks splits addresses, which span lines, at blank lines.
func splitBlocks(s string) []string {
	var out []string
	for _, b := range strings.Split(strings.ReplaceAll(s, "\r", ""), "\n\n") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

func splitComma(s string) []string {
	var out []string
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// formLayout is a two-column grid: labels as wide as the widest, the
// fields take the rest.
type formLayout struct{}

func (formLayout) widths(objs []fyne.CanvasObject) float32 {
	var w float32
	for i := 0; i < len(objs); i += 2 {
		w = max(w, objs[i].MinSize().Width)
	}
	return w
}

func (l formLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	lw := l.widths(objs)
	pad := theme.Padding()
	y := float32(0)
	for i := 0; i+1 < len(objs); i += 2 {
		h := max(objs[i].MinSize().Height, objs[i+1].MinSize().Height)
		objs[i].Move(fyne.NewPos(0, y))
		objs[i].Resize(fyne.NewSize(lw, objs[i].MinSize().Height))
		objs[i+1].Move(fyne.NewPos(lw+pad, y))
		objs[i+1].Resize(fyne.NewSize(size.Width-lw-pad, h))
		y += h + pad
	}
}

func (l formLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	lw := l.widths(objs)
	var h, fw float32
	for i := 0; i+1 < len(objs); i += 2 {
		h += max(objs[i].MinSize().Height, objs[i+1].MinSize().Height) + theme.Padding()
		fw = max(fw, objs[i+1].MinSize().Width)
	}
	return fyne.NewSize(lw+theme.Padding()+fw, h)
}
