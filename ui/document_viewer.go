package ui

import (
	"context"
	"errors"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/valv-vault/valv/store/service"
)

// maxTextShown is how much of a text document the viewer shows; the rest
// is a click on Export away.
const maxTextShown = 512 << 10

// documentViewer shows a document inside the window: the engine decrypts
// it into memory (never into a file, and only up to service.MaxPreview),
// text is shown in a label, an image as an image, a PDF page by page as
// the redactor renders it. Closing the viewer wipes the plaintext.
type documentViewer struct {
	p       *documentsPanel
	doc     Document
	content fyne.CanvasObject

	body     *fyne.Container
	text     *widget.Label // nil unless text is shown
	pageL    *widget.Label
	prevB    *widget.Button
	nextB    *widget.Button
	errLabel *widget.Label

	data   Content
	page   int
	pages  int
	closed bool
}

func newDocumentViewer(p *documentsPanel, doc Document, pass string) *documentViewer {
	v := &documentViewer{p: p, doc: doc, page: 1}
	title := widget.NewLabelWithStyle(doc.Name, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	title.Truncation = fyne.TextTruncateEllipsis
	back := widget.NewButtonWithIcon(T("docs.backtolist"), theme.NavigateBackIcon(), p.backToList)
	export := widget.NewButtonWithIcon(T("docs.export"), theme.DownloadIcon(), func() { p.export(doc) })
	v.prevB = widget.NewButtonWithIcon("", theme.NavigateBackIcon(), func() { v.showPage(v.page - 1) })
	v.nextB = widget.NewButtonWithIcon("", theme.NavigateNextIcon(), func() { v.showPage(v.page + 1) })
	v.pageL = widget.NewLabel("")
	pager := container.NewHBox(v.prevB, v.pageL, v.nextB)
	pager.Hide()
	v.errLabel = errorLabel()
	v.body = container.NewStack(widget.NewProgressBarInfinite())
	bar := container.NewBorder(nil, nil, back, container.NewHBox(pager, export), title)
	v.content = container.NewBorder(container.NewVBox(bar, v.errLabel), nil, nil, nil, v.body)

	svc := p.w.svc
	background(func() {
		c, err := svc.OpenDocument(context.Background(), doc, pass)
		fyne.Do(func() {
			if v.closed {
				c.Wipe()
				return
			}
			if err != nil {
				v.fail(err)
				p.retryPassphrase(doc, err, func(pass string) { p.openViewer(doc, pass) })
				return
			}
			v.data = c
			v.show(pager)
		})
	})
	return v
}

// fail shows why the document is not shown, with the export button
// still there.
func (v *documentViewer) fail(err error) {
	setError(v.errLabel, explainDocument(err))
	v.setBody(widget.NewLabel(""))
	trace("viewer failed")
}

func (v *documentViewer) setBody(o fyne.CanvasObject) {
	v.body.Objects = []fyne.CanvasObject{o}
	v.body.Refresh()
}

func (v *documentViewer) show(pager *fyne.Container) {
	switch v.data.Kind {
	case service.ContentText:
		shown := v.data.Data
		var more *widget.Label
		if len(shown) > maxTextShown {
			shown = shown[:maxTextShown]
			for len(shown) > 0 && !utf8.RuneStart(shown[len(shown)-1]) {
				shown = shown[:len(shown)-1]
			}
			more = widget.NewLabel(T("docs.textcut", map[string]any{"Shown": humanSize(int64(len(shown))), "Size": humanSize(v.doc.Size)}))
			more.Importance = widget.WarningImportance
		}
		v.text = widget.NewLabel(string(shown))
		v.text.Wrapping = fyne.TextWrapWord
		v.text.Selectable = true
		top := fyne.CanvasObject(nil)
		if more != nil {
			top = more
		}
		v.setBody(container.NewBorder(top, nil, nil, nil, container.NewScroll(v.text)))
		trace("viewer loaded")
	case service.ContentImage:
		img, err := v.p.w.svc.PreviewImage(v.data.Data)
		if err != nil {
			v.fail(err)
			return
		}
		ci := canvas.NewImageFromImage(img)
		ci.FillMode = canvas.ImageFillContain
		ci.ScaleMode = canvas.ImageScaleSmooth
		v.setBody(ci)
		trace("viewer loaded")
	case service.ContentPDF:
		pager.Show()
		v.showPage(1)
	default:
		v.fail(errors.New(T("docs.cannotshow")))
	}
}

// showPage renders page n of the PDF (off the UI goroutine: PDFium
// runs in its WebAssembly sandbox).
func (v *documentViewer) showPage(n int) {
	v.p.w.activity()
	if n < 1 || (v.pages > 0 && n > v.pages) {
		return
	}
	v.prevB.Disable()
	v.nextB.Disable()
	svc, data := v.p.w.svc, v.data.Data
	background(func() {
		pg, err := svc.PreviewPDFPage(data, n)
		fyne.Do(func() {
			if v.closed {
				return
			}
			if err != nil {
				v.fail(err)
				return
			}
			v.page, v.pages = n, pg.Pages
			v.pageL.SetText(T("docs.page", map[string]any{"N": n, "Of": pg.Pages}))
			if n > 1 {
				v.prevB.Enable()
			}
			if n < pg.Pages {
				v.nextB.Enable()
			}
			ci := canvas.NewImageFromImage(pg.Image)
			ci.FillMode = canvas.ImageFillContain
			v.setBody(ci)
			trace("viewer loaded")
		})
	})
}

// close wipes the plaintext and what shows it.
func (v *documentViewer) close() {
	v.closed = true
	v.data.Wipe()
	if v.text != nil {
		v.text.SetText("")
	}
	v.setBody(widget.NewLabel(""))
}
