package ui

import (
	"context"
	"image"
	"math"
	"slices"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/valv-vault/valv/store/service"
)

// redactScreen is the review before a redacted archive copy: the
// numbers the detectors found (kind, masked value, confidence, where),
// a tick per kind to remove it (all ticked at first), the page (image or
// PDF) to draw extra boxes on, and Save, which has the engine write the
// copy under the customer, named by the customer's code.
type redactScreen struct {
	p       *documentsPanel
	doc     Document
	pass    string // the document's own passphrase, "" if not protected
	content fyne.CanvasObject

	findings *fyne.Container
	checks   map[FindingKind]*widget.Check
	page     *fyne.Container // the drawer and its controls, or a note
	drawer   *boxDrawer
	pageL    *widget.Label
	prevB    *widget.Button
	nextB    *widget.Button
	boxesL   *widget.Label
	saveB    *widget.Button
	notice   *widget.Label
	errLabel *widget.Label

	data   Content
	report RedactReport
	cur    int                       // PDF page shown, from 1
	pages  int                       // PDF pages
	boxes  map[int][]image.Rectangle // drawn boxes by page (0 for an image), in preview pixels
	scale  map[int]float64           // PDF page preview pixels per point
	closed bool
}

func newRedactScreen(p *documentsPanel, doc Document, pass string) *redactScreen {
	r := &redactScreen{p: p, doc: doc, pass: pass, checks: map[FindingKind]*widget.Check{},
		boxes: map[int][]image.Rectangle{}, scale: map[int]float64{}, cur: 1}
	title := widget.NewLabelWithStyle(T("redact.title", map[string]any{"Name": doc.Name}), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	title.Truncation = fyne.TextTruncateEllipsis
	back := widget.NewButtonWithIcon(T("docs.backtolist"), theme.NavigateBackIcon(), p.backToList)
	r.saveB = widget.NewButtonWithIcon(T("redact.save"), theme.DocumentSaveIcon(), r.save)
	r.saveB.Importance = widget.HighImportance
	r.saveB.Disable()
	r.notice = widget.NewLabel("")
	r.notice.Wrapping = fyne.TextWrapWord
	r.notice.Importance = widget.SuccessImportance
	r.notice.Hide()
	r.errLabel = errorLabel()
	r.findings = container.NewVBox(widget.NewProgressBarInfinite())
	r.page = container.NewStack()
	r.boxesL = widget.NewLabel("")
	r.pageL = widget.NewLabel("")
	r.prevB = widget.NewButtonWithIcon("", theme.NavigateBackIcon(), func() { r.showPage(r.cur - 1) })
	r.nextB = widget.NewButtonWithIcon("", theme.NavigateNextIcon(), func() { r.showPage(r.cur + 1) })

	bar := container.NewBorder(nil, nil, back, r.saveB, title)
	left := container.NewVScroll(r.findings)
	split := container.NewHSplit(left, r.page)
	split.Offset = 0.4
	r.content = container.NewBorder(container.NewVBox(bar, r.notice, r.errLabel), nil, nil, nil, split)

	svc := p.w.svc
	background(func() {
		ctx := context.Background()
		c, err := svc.OpenDocument(ctx, doc, pass)
		var rep RedactReport
		if err == nil {
			rep, err = svc.ScanDocument(ctx, doc, pass)
		}
		fyne.Do(func() {
			if r.closed {
				c.Wipe()
				return
			}
			if err != nil {
				c.Wipe()
				r.findings.RemoveAll()
				setError(r.errLabel, explainDocument(err))
				p.retryPassphrase(doc, err, func(pass string) { p.openRedactor(doc, pass) })
				return
			}
			r.data, r.report = c, rep
			r.showFindings()
			r.showDrawing()
			r.saveB.Enable()
		})
	})
	return r
}

// kindName is a kind of number in the window's language.
func kindName(k FindingKind) string {
	switch k.String() {
	case "personnummer":
		return T("kind.personnummer")
	case "samordningsnummer":
		return T("kind.samordningsnummer")
	case "organisationsnummer":
		return T("kind.organisationsnummer")
	case "card":
		return T("kind.card")
	case "iban":
		return T("kind.iban")
	case "bankaccount":
		return T("kind.bankaccount")
	case "bankgiro":
		return T("kind.bankgiro")
	case "plusgiro":
		return T("kind.plusgiro")
	case "email":
		return T("kind.email")
	case "phone":
		return T("kind.phone")
	}
	return k.String()
}

// showFindings lists the findings by kind, each kind with its tick.
func (r *redactScreen) showFindings() {
	r.findings.RemoveAll()
	fs := r.report.Findings
	head := widget.NewLabel(T("redact.nothing"))
	if len(fs) > 0 {
		head.SetText(T("redact.found", arg(len(fs))))
	}
	head.Wrapping = fyne.TextWrapWord
	r.findings.Add(head)
	var kinds []FindingKind
	for _, f := range fs {
		if !slices.Contains(kinds, f.Kind) {
			kinds = append(kinds, f.Kind)
		}
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		n := 0
		for _, f := range fs {
			if f.Kind == k {
				n++
			}
		}
		check := widget.NewCheck(T("redact.remove", map[string]any{"Kind": kindName(k), "N": n}), func(bool) { r.p.w.activity() })
		check.SetChecked(true)
		r.checks[k] = check
		r.findings.Add(check)
		for _, f := range fs {
			if f.Kind != k {
				continue
			}
			where := T("redact.line", arg(f.Line))
			if f.Page > 0 {
				where = T("redact.onpage", arg(f.Page))
			}
			row := widget.NewLabel(T("redact.finding", map[string]any{
				"Masked": f.Masked, "Confidence": int(math.Round(float64(f.Confidence) * 100)), "Where": where,
			}))
			r.findings.Add(container.NewPadded(row))
		}
	}
	for _, n := range r.report.Notes {
		l := widget.NewLabel(n)
		l.Wrapping = fyne.TextWrapWord
		l.Importance = widget.WarningImportance
		r.findings.Add(l)
	}
	r.findings.Refresh()
}

// showDrawing shows the image or the first PDF page to draw boxes on.
func (r *redactScreen) showDrawing() {
	switch r.data.Kind {
	case service.ContentImage:
		img, err := r.p.w.svc.PreviewImage(r.data.Data)
		if err != nil {
			setError(r.errLabel, explainDocument(err))
			return
		}
		r.setDrawer(img, nil)
	case service.ContentPDF:
		r.showPage(1)
	default:
		l := widget.NewLabel(T("redact.textonly"))
		l.Wrapping = fyne.TextWrapWord
		r.page.Objects = []fyne.CanvasObject{container.NewVBox(l)}
		r.page.Refresh()
	}
}

// setDrawer puts img in the drawer, with the PDF page controls if pager.
func (r *redactScreen) setDrawer(img image.Image, pager fyne.CanvasObject) {
	key := 0
	if r.data.Kind == service.ContentPDF {
		key = r.cur
	}
	if r.drawer == nil {
		r.drawer = newBoxDrawer(img, func() {
			r.p.w.activity()
			r.boxes[r.pageKey()] = r.drawer.boxes
			r.showBoxCount()
		})
		clearB := widget.NewButtonWithIcon(T("redact.clearboxes"), theme.ContentClearIcon(), func() {
			r.p.w.activity()
			delete(r.boxes, r.pageKey())
			r.drawer.setImage(r.drawer.img, nil)
			r.showBoxCount()
		})
		hint := widget.NewLabel(T("redact.drawhint"))
		hint.Wrapping = fyne.TextWrapWord
		hint.Importance = widget.LowImportance
		controls := container.NewVBox(container.NewHBox(r.boxesL, clearB))
		if pager != nil {
			controls.Add(pager)
		}
		r.page.Objects = []fyne.CanvasObject{container.NewBorder(container.NewVBox(hint, controls), nil, nil, nil, r.drawer)}
		r.page.Refresh()
	}
	r.drawer.setImage(img, slices.Clone(r.boxes[key]))
	r.showBoxCount()
}

func (r *redactScreen) pageKey() int {
	if r.data.Kind == service.ContentPDF {
		return r.cur
	}
	return 0
}

func (r *redactScreen) showBoxCount() {
	n := 0
	for _, b := range r.boxes {
		n += len(b)
	}
	r.boxesL.SetText(T("redact.boxes", arg(n)))
}

// showPage renders PDF page n to draw on.
func (r *redactScreen) showPage(n int) {
	r.p.w.activity()
	if n < 1 || (r.pages > 0 && n > r.pages) {
		return
	}
	r.prevB.Disable()
	r.nextB.Disable()
	svc, data := r.p.w.svc, r.data.Data
	background(func() {
		pg, err := svc.PreviewPDFPage(data, n)
		fyne.Do(func() {
			if r.closed {
				return
			}
			if err != nil {
				setError(r.errLabel, explainDocument(err))
				return
			}
			r.cur, r.pages = n, pg.Pages
			r.scale[n] = pg.PixelsPerPoint
			r.pageL.SetText(T("docs.page", map[string]any{"N": n, "Of": pg.Pages}))
			if n > 1 {
				r.prevB.Enable()
			}
			if n < pg.Pages {
				r.nextB.Enable()
			}
			r.setDrawer(pg.Image, container.NewHBox(r.prevB, r.pageL, r.nextB))
		})
	})
}

// options are the ticks and boxes as the engine takes them: PDF boxes
// in points (rounded outward), image boxes in pixels.
func (r *redactScreen) options() RedactOptions {
	var o RedactOptions
	for k, c := range r.checks {
		if !c.Checked {
			o.Keep = append(o.Keep, k)
		}
	}
	slices.Sort(o.Keep)
	pages := make([]int, 0, len(r.boxes))
	for pg := range r.boxes {
		pages = append(pages, pg)
	}
	slices.Sort(pages)
	for _, pg := range pages {
		for _, b := range r.boxes[pg] {
			if pg == 0 {
				o.Boxes = append(o.Boxes, Box{Rect: b})
				continue
			}
			s := r.scale[pg]
			o.Boxes = append(o.Boxes, Box{Page: pg, Rect: image.Rect(
				int(math.Floor(float64(b.Min.X)/s)), int(math.Floor(float64(b.Min.Y)/s)),
				int(math.Ceil(float64(b.Max.X)/s)), int(math.Ceil(float64(b.Max.Y)/s)))})
		}
	}
	return o
}

// save has the engine write the redacted copy.
func (r *redactScreen) save() {
	r.p.w.activity()
	r.saveB.Disable()
	setError(r.errLabel, "")
	svc, doc, pass, code, opts := r.p.w.svc, r.doc, r.pass, r.p.code, r.options()
	background(func() {
		id, rep, err := svc.RedactDocument(context.Background(), doc, pass, opts)
		name := ""
		if err == nil {
			if docs, lerr := svc.Documents(code); lerr == nil {
				for _, d := range docs {
					if d.ID == id {
						name = d.Name
					}
				}
			}
		}
		fyne.Do(func() {
			if r.closed {
				return
			}
			r.saveB.Enable()
			if err != nil {
				setError(r.errLabel, explainDocument(err))
				return
			}
			r.notice.SetText(T("redact.saved", map[string]any{"Name": name, "N": len(rep.Findings), "Boxes": rep.Boxes}))
			r.notice.Show()
		})
	})
}

// close wipes the plaintext and forgets the passphrase.
func (r *redactScreen) close() {
	r.closed = true
	r.data.Wipe()
	r.pass = ""
	r.findings.RemoveAll()
	r.page.RemoveAll()
}
