package ui

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/valv-vault/valv/store/service"
)

// auditScreen shows the audit logs the session opens: a list filtered by
// key holder, action, object (a customer code or an id) and dates; a
// Verify button with a clear verdict (the first bad entry is named); and
// an export of the entries shown as CSV or JSON Lines. Reading the logs
// is itself logged by the engine, as an export.
type auditScreen struct {
	w       *Window
	content fyne.CanvasObject

	holderSel, actionSel *widget.Select
	object, from, to     *widget.Entry
	list                 *widget.List
	status               *widget.Label
	verdict              *widget.Label
	errLabel             *widget.Label
	verifyB              *widget.Button

	entries   []AuditEntry      // all, in log order
	shown     []AuditEntry      // those the filters let through
	holders   map[ID]string     // for the selector: name and card
	names     map[ID]string     // for the rows: names only
	logNames  map[string]string // compartment id → name
	holderIDs []ID              // the holder selector's choices after "all"
	closed    bool
}

func newAuditScreen(w *Window) *auditScreen {
	s := &auditScreen{w: w}
	s.holderSel = widget.NewSelect(nil, func(string) { s.filter() })
	s.actionSel = widget.NewSelect(nil, func(string) { s.filter() })
	s.object = widget.NewEntry()
	s.object.SetPlaceHolder(T("audit.object"))
	s.from = widget.NewEntry()
	s.from.SetPlaceHolder(T("audit.from"))
	s.to = widget.NewEntry()
	s.to.SetPlaceHolder(T("audit.to"))
	for _, e := range []*widget.Entry{s.object, s.from, s.to} {
		e.OnChanged = func(string) { s.filter() }
	}
	s.status = widget.NewLabel("")
	s.verdict = wrapped("")
	s.verdict.Hide()
	s.errLabel = errorLabel()
	s.list = widget.NewList(func() int { return len(s.shown) }, func() fyne.CanvasObject {
		return widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
	}, func(i widget.ListItemID, o fyne.CanvasObject) {
		if i < len(s.shown) {
			o.(*widget.Label).SetText(s.row(s.shown[i]))
		}
	})

	s.verifyB = widget.NewButtonWithIcon(T("audit.verify"), theme.ConfirmIcon(), s.verify)
	s.verifyB.Importance = widget.HighImportance
	reload := widget.NewButtonWithIcon(T("audit.reload"), theme.ViewRefreshIcon(), s.reload)
	csvB := widget.NewButtonWithIcon(T("audit.export.csv"), theme.DocumentSaveIcon(), func() { s.chooseExport(service.AuditCSV) })
	jsonB := widget.NewButtonWithIcon(T("audit.export.jsonl"), theme.DocumentSaveIcon(), func() { s.chooseExport(service.AuditJSONL) })
	lock := widget.NewButtonWithIcon(T("window.lock"), theme.LogoutIcon(), w.Lock)

	bar := container.NewBorder(nil, nil, bold(T("audit.title")), lock)
	actions := container.NewHBox(s.verifyB, reload, csvB, jsonB)
	filters := container.NewGridWithColumns(5, s.holderSel, s.actionSel, s.object, s.from, s.to)
	top := container.NewVBox(bar, actions, filters, s.verdict, s.errLabel)
	s.content = container.NewBorder(top, s.status, nil, nil, s.list)
	s.reload()
	return s
}

// reload reads the logs again (and the names of key holders and
// compartments, to show them).
func (s *auditScreen) reload() {
	s.w.activity()
	svc := s.w.svc
	background(func() {
		entries, err := svc.AuditEntries()
		holders, _ := svc.KeyHolders()
		comps, _ := svc.AllCompartments()
		fyne.Do(func() {
			if s.closed {
				return
			}
			if err != nil {
				setError(s.errLabel, explain(err))
				return
			}
			setError(s.errLabel, "")
			s.entries = entries
			s.holders, s.names = map[ID]string{}, map[ID]string{}
			for _, h := range holders {
				s.holders[h.ID] = holderLabel(h)
				s.names[h.ID] = h.Name
			}
			s.logNames = map[string]string{}
			for _, c := range comps {
				s.logNames[c.ID] = c.Name
			}
			s.fillSelectors()
			s.filter()
		})
	})
}

// fillSelectors offers the key holders and actions that occur in the
// logs, keeping the current choice.
func (s *auditScreen) fillSelectors() {
	seen := map[ID]bool{}
	var actions []string
	s.holderIDs = nil
	for _, e := range s.entries {
		if !seen[e.Holder] {
			seen[e.Holder] = true
			s.holderIDs = append(s.holderIDs, e.Holder)
		}
		if !slices.Contains(actions, string(e.Action)) {
			actions = append(actions, string(e.Action))
		}
	}
	slices.SortFunc(s.holderIDs, func(a, b ID) int { return strings.Compare(s.holderName(a), s.holderName(b)) })
	slices.Sort(actions)
	holderOpts := []string{T("audit.allholders")}
	for _, id := range s.holderIDs {
		holderOpts = append(holderOpts, s.holderName(id))
	}
	keep := func(sel *widget.Select, opts []string) {
		cur := sel.Selected
		sel.OnChanged, sel.Options = nil, opts
		if !slices.Contains(opts, cur) {
			cur = opts[0]
		}
		sel.SetSelected(cur)
		sel.OnChanged = func(string) { s.filter() }
	}
	keep(s.holderSel, holderOpts)
	keep(s.actionSel, append([]string{T("audit.allactions")}, actions...))
}

func (s *auditScreen) holderName(id ID) string {
	if id == (ID{}) {
		return T("audit.recovery")
	}
	if n, ok := s.holders[id]; ok {
		return n
	}
	return id.Short()
}

func (s *auditScreen) logName(log string) string {
	if log == service.DirectoryLog {
		return T("audit.directory")
	}
	if n := s.logNames[log]; n != "" {
		return n
	}
	if len(log) > 8 {
		return log[:8]
	}
	return log
}

// filter applies the filters to the entries read.
func (s *auditScreen) filter() {
	if s.closed {
		return
	}
	var holder *ID
	if i := s.holderSel.SelectedIndex(); i > 0 && i-1 < len(s.holderIDs) {
		holder = &s.holderIDs[i-1]
	}
	action := ""
	if s.actionSel.SelectedIndex() > 0 {
		action = s.actionSel.Selected
	}
	object := strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(s.object.Text))
	from, okFrom := parseDate(strings.TrimSpace(s.from.Text))
	to, okTo := parseDate(strings.TrimSpace(s.to.Text))
	badDate := (s.from.Text != "" && !okFrom) || (s.to.Text != "" && !okTo)
	s.shown = s.shown[:0:0]
	for _, e := range s.entries {
		day := e.Time.Local()
		switch {
		case holder != nil && e.Holder != *holder:
		case action != "" && string(e.Action) != action:
		case object != "" && !strings.Contains(strings.ToUpper(strings.ReplaceAll(e.Object, "-", "")), object):
		case okFrom && dayOf(day).Before(from):
		case okTo && dayOf(day).After(to):
		default:
			s.shown = append(s.shown, e)
		}
	}
	s.list.Refresh()
	text := T("audit.count", map[string]any{"Shown": len(s.shown), "Total": len(s.entries)})
	if badDate {
		text += " " + T("audit.baddate")
	}
	s.status.SetText(text)
}

// dayOf is the calendar day of a local time, as a UTC midnight (what
// parseDate returns).
func dayOf(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// row is one entry as a line of columns: time, number, action, object
// (a customer code, or an id shortened), log, key holder, count.
func (s *auditScreen) row(e AuditEntry) string {
	object := e.Object
	if len(object) == 32 {
		object = object[:8] + "…"
	}
	holder := s.holderName(e.Holder)
	if h := s.names[e.Holder]; h != "" {
		holder = h
	}
	line := fmt.Sprintf("%s #%-4d %-18s %-12s %-12s %s", e.Time.Local().Format("2006-01-02 15:04:05"), e.Seq,
		string(e.Action), object, clip(s.logName(e.Log), 12), clip(holder, 16))
	if e.Count != 0 {
		line += fmt.Sprintf(" (%d)", e.Count)
	}
	return line
}

// clip shortens s to n runes, ending in "…" if it was longer.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// verify checks every log and shows the verdict.
func (s *auditScreen) verify() {
	s.w.activity()
	s.verifyB.Disable()
	background(func() {
		reports, err := s.w.svc.VerifyAudit()
		fyne.Do(func() {
			if s.closed {
				return
			}
			s.verifyB.Enable()
			s.showVerdict(reports, err)
			s.reload() // the verification is an entry too
		})
	})
}

func (s *auditScreen) showVerdict(reports []LogReport, err error) {
	var ae *service.AuditError
	switch {
	case errors.As(err, &ae):
		s.verdict.Importance = widget.DangerImportance
		s.verdict.SetText(T("audit.verdict.bad", map[string]any{"Log": s.logName(ae.Log), "Seq": ae.Seq, "Reason": ae.Reason}))
	case err != nil:
		s.verdict.Importance = widget.DangerImportance
		s.verdict.SetText(explain(err))
	default:
		var entries uint64
		signed := 0
		for _, r := range reports {
			entries += r.Entries
			signed += len(r.Checkpoints)
		}
		s.verdict.Importance = widget.SuccessImportance
		s.verdict.SetText(T("audit.verdict.good", map[string]any{"Logs": len(reports), "Entries": entries, "Signed": signed}))
	}
	s.verdict.Show()
	s.verdict.Refresh()
}

// chooseExport asks where to write the entries shown.
func (s *auditScreen) chooseExport(format string) {
	s.w.activity()
	d := dialog.NewFileSave(func(wc fyne.URIWriteCloser, err error) {
		if err != nil || wc == nil {
			return
		}
		err = s.export(wc, format)
		if cerr := wc.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			setError(s.errLabel, explain(err))
			return
		}
		setError(s.errLabel, "")
		s.status.SetText(T("audit.exported", map[string]any{"N": len(s.shown), "File": wc.URI().Name()}))
	}, s.w.Window)
	d.SetFileName("valv-audit." + format)
	d.Show()
}

// export writes the entries shown.
func (s *auditScreen) export(w io.Writer, format string) error {
	return service.WriteAudit(w, format, s.shown)
}

// close drops the entries read.
func (s *auditScreen) close() {
	s.closed = true
	s.entries, s.shown = nil, nil
	s.list.Refresh()
}
