package ui

import (
	"context"
	"errors"
	"image"
	"io"
	"os"
	"sync/atomic"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/valv-vault/valv/store/service"
)

// Types of the engine the document screens show.
type (
	DocumentID    = service.DocumentID
	Content       = service.Content
	RedactReport  = service.RedactReport
	RedactOptions = service.RedactOptions
	Box           = service.Box
	PDFPage       = service.PDFPage
	FindingKind   = service.FindingKind
)

// DocumentService is what the document screens need from the engine.
// Content is decrypted into memory only (OpenDocument, capped at
// service.MaxPreview); imports and exports stream.
type DocumentService interface {
	AddDocument(ctx context.Context, code Code, name string, r io.Reader, size int64, progress func(done, total int64), passphrase string) (DocumentID, error)
	ExportDocument(ctx context.Context, doc Document, w io.Writer, progress func(done, total int64), passphrase string) error
	OpenDocument(ctx context.Context, doc Document, passphrase string) (Content, error)
	PreviewImage(data []byte) (image.Image, error)
	PreviewPDFPage(data []byte, page int) (PDFPage, error)
	ScanDocument(ctx context.Context, doc Document, passphrase string) (RedactReport, error)
	RedactDocument(ctx context.Context, doc Document, passphrase string, opts RedactOptions) (DocumentID, RedactReport, error)
}

// toUI runs f on the UI goroutine. Transfers report through it from
// their own goroutine; tests replace it with a queue they drain, as the
// event loop would.
var toUI = fyne.Do

// documentsPanel is a customer's documents: the list (name, type, size,
// date, protected), with View, Export and Redact for each, and Attach (a
// file dialog, or files dropped on the window). An import or export
// streams on its own goroutine, never the UI's, with a progress bar and a
// Cancel button; one runs at a time.
type documentsPanel struct {
	w       *Window
	code    Code
	content fyne.CanvasObject

	list     *fyne.Container
	attachB  *widget.Button
	notice   *widget.Label
	errLabel *widget.Label

	transfer      *fyne.Container // shown while a transfer runs
	transferLabel *widget.Label
	bar           *widget.ProgressBar
	cancelB       *widget.Button

	docs     []Document
	running  *transfer
	queue    []fyne.URI // dropped files waiting for the running import
	prompt   *passphraseDialog
	viewer   *documentViewer
	redactor *redactScreen
	closed   bool
}

// transfer is a running import or export. Its progress is written by the
// transfer's goroutine and read by the UI's.
type transfer struct {
	kind        string // "import" or "export", for the test trace
	name        string
	tracedPct   int // the percentage last traced
	cancel      context.CancelFunc
	done, total atomic.Int64
	pending     atomic.Bool // a bar update is queued
}

// openDocuments shows the documents of code.
func (w *Window) openDocuments(code Code) {
	w.closeDocuments()
	w.docs = newDocumentsPanel(w, code)
	w.show(w.docs.content)
	w.docs.load() // after w.docs is set: a drop may come with the list
}

// closeDocuments cancels a running transfer and drops the document
// screens (and the plaintext they hold).
func (w *Window) closeDocuments() {
	if w.docs != nil {
		w.docs.close()
		w.docs = nil
	}
}

// dropped attaches files dropped on the window, when a customer's
// documents are shown.
func (w *Window) dropped(_ fyne.Position, uris []fyne.URI) {
	w.activity()
	if w.docs == nil || w.docs.closed {
		return
	}
	w.show(w.docs.content)
	w.docs.closeSubscreens()
	w.docs.attachURIs(uris)
}

func newDocumentsPanel(w *Window, code Code) *documentsPanel {
	p := &documentsPanel{w: w, code: code}
	title := widget.NewLabelWithStyle(T("docs.title", arg(string(code))), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	back := widget.NewButtonWithIcon(T("docs.back"), theme.NavigateBackIcon(), func() {
		w.activity()
		w.closeDocuments()
		if w.detail != nil {
			w.show(w.detail.content)
		} else {
			w.showCustomers()
		}
	})
	p.attachB = widget.NewButtonWithIcon(T("docs.attach"), theme.ContentAddIcon(), p.attach)
	p.attachB.Importance = widget.HighImportance
	lock := widget.NewButtonWithIcon(T("window.lock"), theme.LogoutIcon(), w.Lock)
	p.notice = widget.NewLabel("")
	p.notice.Wrapping = fyne.TextWrapWord
	p.notice.Hide()
	p.errLabel = errorLabel()
	p.transferLabel = widget.NewLabel("")
	p.bar = widget.NewProgressBar()
	p.cancelB = widget.NewButtonWithIcon(T("docs.cancel"), theme.CancelIcon(), p.cancelTransfer)
	p.transfer = container.NewBorder(nil, nil, p.transferLabel, p.cancelB, p.bar)
	p.transfer.Hide()
	p.list = container.NewVBox()

	bar := container.NewBorder(nil, nil, container.NewHBox(back, title), container.NewHBox(p.attachB, lock), nil)
	hint := widget.NewLabel(T("docs.drophint"))
	hint.Importance = widget.LowImportance
	top := container.NewVBox(bar, hint, p.transfer, p.notice, p.errLabel)
	p.content = container.NewBorder(top, nil, nil, nil, container.NewVScroll(p.list))
	return p
}

// load lists the documents (audited by the store).
func (p *documentsPanel) load() {
	svc, code := p.w.svc, p.code
	background(func() {
		docs, err := svc.Documents(code)
		fyne.Do(func() {
			if p.closed {
				return
			}
			if err != nil {
				p.showError(explainDocument(err))
				return
			}
			p.docs = docs
			p.showList()
			trace("documents rows=%d", len(docs))
			p.w.dropTestFiles() // the test drop (trace.go); nothing without VALV_TEST_TRACE=1
		})
	})
}

func (p *documentsPanel) showList() {
	p.list.RemoveAll()
	if len(p.docs) == 0 {
		p.list.Add(widget.NewLabel(T("detail.nodocuments")))
	}
	busy := p.running != nil
	for _, doc := range p.docs {
		row := T("detail.docrow", map[string]any{
			"Name": doc.Name, "Type": doc.MediaType, "Size": humanSize(doc.Size), "Added": doc.Added.Local().Format("2006-01-02"),
		})
		if doc.Protected {
			row += " · " + T("detail.protected")
		}
		label := widget.NewLabel(row)
		label.Truncation = fyne.TextTruncateEllipsis
		view := widget.NewButtonWithIcon(T("docs.view"), theme.VisibilityIcon(), func() { p.view(doc) })
		export := widget.NewButtonWithIcon(T("docs.export"), theme.DownloadIcon(), func() { p.export(doc) })
		redact := widget.NewButtonWithIcon(T("docs.redact"), theme.DocumentCreateIcon(), func() { p.redact(doc) })
		if busy {
			export.Disable()
		}
		p.list.Add(container.NewBorder(nil, nil, widget.NewIcon(theme.FileIcon()), container.NewHBox(view, export, redact), label))
	}
	p.list.Refresh()
}

// relayout lays the screen out again after the bar or a message showed
// or hid.
func (p *documentsPanel) relayout() {
	if c, ok := p.content.(*fyne.Container); ok {
		c.Refresh()
	}
}

// showError shows msg as the panel's error.
func (p *documentsPanel) showError(msg string) {
	setError(p.errLabel, msg)
	p.relayout()
}

// setNotice shows msg (or hides the notice for "") and clears the error.
func (p *documentsPanel) setNotice(msg string) {
	setError(p.errLabel, "")
	p.notice.SetText(msg)
	if msg == "" {
		p.notice.Hide()
	} else {
		p.notice.Show()
	}
	p.relayout()
}

// attach asks for a file to attach.
func (p *documentsPanel) attach() {
	p.w.activity()
	dialog.ShowFileOpen(func(rc fyne.URIReadCloser, err error) {
		p.w.activity()
		if err != nil {
			p.showError(explainDocument(err))
			return
		}
		if rc == nil || p.closed {
			if rc != nil {
				rc.Close()
			}
			return
		}
		p.startImport(rc.URI().Name(), rc, uriSize(rc.URI()))
	}, p.w)
}

// uriSize is the size of a local file, or 0 if unknown.
func uriSize(u fyne.URI) int64 {
	if u.Scheme() != "file" {
		return 0
	}
	fi, err := os.Stat(u.Path())
	if err != nil {
		return 0
	}
	return fi.Size()
}

// attachURIs imports files one after the other (dropped on the window).
func (p *documentsPanel) attachURIs(uris []fyne.URI) {
	p.queue = append(p.queue, uris...)
	if p.running == nil {
		p.nextImport()
	}
}

func (p *documentsPanel) nextImport() {
	for len(p.queue) > 0 && p.running == nil {
		u := p.queue[0]
		p.queue = p.queue[1:]
		rc, err := storage.Reader(u)
		if err != nil {
			p.showError(T("docs.cannotread", map[string]any{"Name": u.Name(), "Err": explain(err)}))
			continue
		}
		p.startImport(u.Name(), rc, uriSize(u))
	}
}

// startImport streams r into the vault on its own goroutine; the bar
// follows it and Cancel stops it.
func (p *documentsPanel) startImport(name string, r io.ReadCloser, size int64) {
	ctx, cancel := context.WithCancel(context.Background())
	t := p.begin(cancel, "import", name, size, T("docs.importing", map[string]any{"Name": name}))
	svc, code := p.w.svc, p.code
	go func() {
		_, err := svc.AddDocument(ctx, code, name, r, size, p.progress(t), "")
		r.Close()
		toUI(func() {
			if p.closed {
				return
			}
			p.end()
			traceEnd(t, err)
			switch {
			case errors.Is(err, context.Canceled):
				p.setNotice(T("docs.importcancelled", map[string]any{"Name": name}))
				p.queue = nil
			case err != nil:
				p.showError(explainDocument(err))
			default:
				p.setNotice(T("docs.attached", map[string]any{"Name": name}))
			}
			p.load()
			p.nextImport()
		})
	}()
}

// begin shows the transfer bar for a new transfer.
func (p *documentsPanel) begin(cancel context.CancelFunc, kind, name string, total int64, what string) *transfer {
	t := &transfer{kind: kind, name: name, cancel: cancel, tracedPct: -1}
	t.total.Store(total)
	p.running = t
	p.setNotice("")
	p.transferLabel.SetText(what)
	p.bar.Max = 1
	p.bar.SetValue(0)
	p.cancelB.Enable()
	p.transfer.Show()
	p.relayout()
	p.attachB.Disable()
	p.showList()
	trace("%s started", kind)
	return t
}

// end hides the transfer bar.
func (p *documentsPanel) end() {
	p.running = nil
	p.transfer.Hide()
	p.relayout()
	p.attachB.Enable()
	p.showList()
}

// progress returns the progress callback of t: it runs on the transfer's
// goroutine, stores the count and queues at most one bar update at a
// time.
func (p *documentsPanel) progress(t *transfer) func(done, total int64) {
	return func(done, total int64) {
		t.done.Store(done)
		if total > 0 {
			t.total.Store(total)
		}
		if t.pending.Swap(true) {
			return
		}
		toUI(func() {
			t.pending.Store(false)
			if p.closed || p.running != t {
				return
			}
			p.showProgress(t)
		})
	}
}

func (p *documentsPanel) showProgress(t *transfer) {
	done, total := t.done.Load(), t.total.Load()
	if total > 0 {
		p.bar.SetValue(min(1, float64(done)/float64(total)))
		if pct := int(min(100, done*100/total)); pct != t.tracedPct {
			t.tracedPct = pct
			trace("%s progress %d%%", t.kind, pct)
		}
	}
	p.transferLabel.SetText(T("docs.progress", map[string]any{"Name": t.name, "Done": humanSize(done), "Total": humanSize(total)}))
}

// traceEnd traces the end of t, which err ended.
func traceEnd(t *transfer, err error) {
	switch {
	case err == nil:
		trace("%s ended ok", t.kind)
	case errors.Is(err, context.Canceled):
		trace("%s ended cancelled", t.kind)
	default:
		trace("%s ended failed", t.kind)
	}
}

// cancelTransfer stops the running import or export.
func (p *documentsPanel) cancelTransfer() {
	p.w.activity()
	if p.running != nil {
		p.running.cancel()
		p.cancelB.Disable()
		p.transferLabel.SetText(T("docs.cancelling"))
	}
}

// withPassphrase runs f with the passphrase of doc: "" unless it is
// protected, else what the person types into the prompt (message says
// why it asks again).
func (p *documentsPanel) withPassphrase(doc Document, message string, f func(passphrase string)) {
	if !doc.Protected {
		f("")
		return
	}
	p.prompt = askPassphrase(p.w, doc.Name, message, func(pass string) {
		p.prompt = nil
		if !p.closed {
			f(pass)
		}
	}, func() { p.prompt = nil })
}

// retryPassphrase reports whether err asks for the passphrase again, and
// if so asks, running f again.
func (p *documentsPanel) retryPassphrase(doc Document, err error, f func(passphrase string)) bool {
	switch {
	case errors.Is(err, service.ErrWrongPassphrase):
		doc.Protected = true
		p.withPassphrase(doc, T("docs.wrongpassphrase"), f)
		return true
	case errors.Is(err, service.ErrPassphraseNeeded):
		doc.Protected = true
		p.withPassphrase(doc, "", f)
		return true
	}
	return false
}

// export asks where to save doc and streams it there.
func (p *documentsPanel) export(doc Document) {
	p.w.activity()
	if p.running != nil {
		return
	}
	d := dialog.NewFileSave(func(wc fyne.URIWriteCloser, err error) {
		p.w.activity()
		if err != nil {
			p.showError(explainDocument(err))
			return
		}
		if wc == nil || p.closed {
			if wc != nil {
				wc.Close()
			}
			return
		}
		p.withPassphrase(doc, "", func(pass string) { p.startExport(doc, wc, pass) })
	}, p.w)
	d.SetFileName(doc.Name)
	d.Show()
}

// startExport streams doc into wc on its own goroutine. A failed or
// cancelled export removes what it wrote.
func (p *documentsPanel) startExport(doc Document, wc fyne.URIWriteCloser, pass string) {
	p.closeSubscreens() // the bar is on the list
	p.w.show(p.content)
	ctx, cancel := context.WithCancel(context.Background())
	t := p.begin(cancel, "export", doc.Name, doc.Size, T("docs.exporting", map[string]any{"Name": doc.Name}))
	svc := p.w.svc
	go func() {
		err := svc.ExportDocument(ctx, doc, wc, p.progress(t), pass)
		if cerr := wc.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			storage.Delete(wc.URI())
		}
		toUI(func() {
			if p.closed {
				return
			}
			p.end()
			traceEnd(t, err)
			switch {
			case errors.Is(err, context.Canceled):
				p.setNotice(T("docs.exportcancelled"))
			case err != nil && p.retryPassphrase(doc, err, func(pass string) { p.exportTo(doc, wc.URI(), pass) }):
			case err != nil:
				p.showError(explainDocument(err))
			default:
				p.setNotice(T("docs.exported", map[string]any{"Name": doc.Name, "Where": wc.URI().Path()}))
			}
		})
	}()
}

// exportTo exports doc to u again (after a passphrase was asked again).
func (p *documentsPanel) exportTo(doc Document, u fyne.URI, pass string) {
	wc, err := storage.Writer(u)
	if err != nil {
		p.showError(explainDocument(err))
		return
	}
	p.startExport(doc, wc, pass)
}

// view opens doc in the viewer.
func (p *documentsPanel) view(doc Document) {
	p.w.activity()
	p.withPassphrase(doc, "", func(pass string) { p.openViewer(doc, pass) })
}

func (p *documentsPanel) openViewer(doc Document, pass string) {
	trace("viewer open")
	p.closeSubscreens()
	p.viewer = newDocumentViewer(p, doc, pass)
	p.w.show(p.viewer.content)
}

// redact opens the redaction review of doc.
func (p *documentsPanel) redact(doc Document) {
	p.w.activity()
	p.withPassphrase(doc, "", func(pass string) { p.openRedactor(doc, pass) })
}

func (p *documentsPanel) openRedactor(doc Document, pass string) {
	p.closeSubscreens()
	p.redactor = newRedactScreen(p, doc, pass)
	p.w.show(p.redactor.content)
}

// backToList closes the viewer or redaction screen and shows the list.
func (p *documentsPanel) backToList() {
	p.w.activity()
	p.closeSubscreens()
	p.w.show(p.content)
	p.load()
}

func (p *documentsPanel) closeSubscreens() {
	if p.viewer != nil {
		p.viewer.close()
		p.viewer = nil
	}
	if p.redactor != nil {
		p.redactor.close()
		p.redactor = nil
	}
}

// close cancels a running transfer, closes a prompt and wipes what the
// screens hold.
func (p *documentsPanel) close() {
	p.closed = true
	if p.running != nil {
		p.running.cancel()
		p.running = nil
	}
	p.queue = nil
	if p.prompt != nil {
		p.prompt.dismiss()
		p.prompt = nil
	}
	p.closeSubscreens()
	p.docs = nil
	p.list.RemoveAll()
}

// explainDocument is explain with the errors of documents.
func explainDocument(err error) string {
	switch {
	case errors.Is(err, service.ErrTooLargeToPreview):
		return T("docs.toolarge", map[string]any{"Max": service.MaxPreview >> 20})
	case errors.Is(err, service.ErrWrongPassphrase):
		return T("docs.wrongpassphrase")
	case errors.Is(err, service.ErrPassphraseNeeded):
		return T("docs.needpassphrase")
	}
	return explain(err)
}
