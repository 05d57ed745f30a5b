package redact

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"sync"
	"time"

	"github.com/go-pdf/fpdf"
	"github.com/klippa-app/go-pdfium"
	pdfiumerrors "github.com/klippa-app/go-pdfium/errors"
	"github.com/klippa-app/go-pdfium/references"
	"github.com/klippa-app/go-pdfium/requests"
	"github.com/klippa-app/go-pdfium/responses"
	"github.com/klippa-app/go-pdfium/webassembly"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/valv-vault/valv/store/redact/detect"
)

// PDFs are read by PDFium compiled to WebAssembly (go-pdfium's wazero
// backend): the same renderer as Chrome's, memory-safe in its sandbox, no
// cgo, and the module is embedded in the Go module, so nothing is fetched at
// run time. The sandbox is given no file system. Each document gets a fresh
// PDFium instance, so a crafted PDF cannot leave state behind for the next.
//
// The copy is written by fpdf: one image per page and, if a customer code
// is given, a footer line below it with the label. Nothing else of the
// original (text, fonts, forms, annotations, attachments, JavaScript,
// metadata, XMP) is carried over, because nothing else is copied.

var engine struct {
	once sync.Once
	pool pdfium.Pool
	err  error
}

// pdfiumPool compiles the WebAssembly module once (a second or two).
func pdfiumPool() (pdfium.Pool, error) {
	engine.once.Do(func() {
		rc := wazero.NewRuntimeConfig().
			WithCoreFeatures(api.CoreFeaturesV2 | experimental.CoreFeaturesExceptionHandling).
			WithMemoryLimitPages(32768) // 2 GiB
		engine.pool, engine.err = webassembly.Init(webassembly.Config{
			MinIdle:       0,
			MaxIdle:       1,
			MaxTotal:      2,
			FSConfig:      wazero.NewFSConfig(), // no files
			RuntimeConfig: rc,
			Stdout:        io.Discard,
			Stderr:        io.Discard,
		})
		if engine.err != nil {
			engine.err = fmt.Errorf("redact: starting the PDF renderer: %w", engine.err)
		}
	})
	return engine.pool, engine.err
}

// pdfDoc is an open PDF in its own PDFium instance.
type pdfDoc struct {
	inst  pdfium.Pdfium
	doc   references.FPDF_DOCUMENT
	pages int
}

func openPDF(data []byte, opts *Options) (*pdfDoc, error) {
	pool, err := pdfiumPool()
	if err != nil {
		return nil, err
	}
	inst, err := pool.GetInstance(time.Minute)
	if err != nil {
		return nil, fmt.Errorf("redact: starting the PDF renderer: %w", err)
	}
	d := &pdfDoc{inst: inst}
	od, err := inst.OpenDocument(&requests.OpenDocument{File: &data})
	if err != nil {
		inst.Close()
		switch {
		case errors.Is(err, pdfiumerrors.ErrPassword):
			return nil, errors.New("redact: the PDF is protected by a password; remove the password in the program that made it, then redact the copy")
		case errors.Is(err, pdfiumerrors.ErrSecurity):
			return nil, errors.New("redact: the PDF uses an encryption PDFium cannot open; print it to a new PDF first")
		}
		return nil, fmt.Errorf("redact: the PDF cannot be read (%v); it may be damaged", err)
	}
	d.doc = od.Document
	pc, err := inst.FPDF_GetPageCount(&requests.FPDF_GetPageCount{Document: d.doc})
	if err != nil {
		d.close()
		return nil, fmt.Errorf("redact: the PDF cannot be read (%v); it may be damaged", err)
	}
	d.pages = pc.PageCount
	if d.pages < 1 {
		d.close()
		return nil, errors.New("redact: the PDF has no pages")
	}
	if d.pages > opts.maxPages() {
		d.close()
		return nil, fmt.Errorf("%w: the PDF has %d pages, more than %d; raise Options.MaxPages or split it", ErrTooLarge, d.pages, opts.maxPages())
	}
	return d, nil
}

func (d *pdfDoc) close() {
	d.inst.FPDF_CloseDocument(&requests.FPDF_CloseDocument{Document: d.doc})
	d.inst.Close()
}

func (d *pdfDoc) page(i int) requests.Page {
	return requests.Page{ByIndex: &requests.PageByIndex{Document: d.doc, Index: i}}
}

// pageDPI returns the resolution page i is rendered at, and its size in
// points.
func (d *pdfDoc) pageDPI(i int, opts *Options) (dpi int, w, h float64, err error) {
	sz, err := d.inst.GetPageSize(&requests.GetPageSize{Page: d.page(i)})
	if err != nil {
		return 0, 0, 0, fmt.Errorf("redact: page %d of the PDF cannot be read: %v", i+1, err)
	}
	w, h = sz.Width, sz.Height
	if !(w > 0 && h > 0) || w > 14400 || h > 14400 {
		return 0, 0, 0, fmt.Errorf("redact: page %d of the PDF has a size (%.0f×%.0f points) no paper has", i+1, w, h)
	}
	dpi = opts.dpi()
	px := w * h * float64(dpi*dpi) / (72 * 72)
	if max := float64(opts.maxPixels()); px > max {
		dpi = int(float64(dpi) * math.Sqrt(max/px))
		if dpi < 18 {
			return 0, 0, 0, fmt.Errorf("%w: page %d of the PDF is too large to render within Options.MaxPixels", ErrTooLarge, i+1)
		}
	}
	return dpi, w, h, nil
}

// pageText returns the text of page i and, for each byte of it, the box
// of its character in page coordinates (points, origin bottom-left, as
// PDFium's FPDFText_GetCharBox gives them).
func (d *pdfDoc) pageText(i int) ([]byte, []responses.CharPosition, error) {
	st, err := d.inst.GetPageTextStructured(&requests.GetPageTextStructured{
		Page: d.page(i),
		Mode: requests.GetPageTextStructuredModeChars,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("redact: the text of page %d of the PDF cannot be read: %v", i+1, err)
	}
	var text []byte
	var boxes []responses.CharPosition
	for _, c := range st.Chars {
		n := len(text)
		text = append(text, c.Text...)
		for range len(text) - n {
			boxes = append(boxes, c.PointPosition)
		}
	}
	return text, boxes, nil
}

// pixelSize is the size of page i rendered at dpi, as PDFium renders it.
func pixelSize(wPt, hPt float64, dpi int) (int, int) {
	s := float64(dpi) / 72
	return int(math.Ceil(wPt * s)), int(math.Ceil(hPt * s))
}

// toDevice maps a character box in page coordinates to pixels of page i
// rendered at w×h, with PDFium's own transform (crop box origin and page
// rotation included).
func (d *pdfDoc) toDevice(i, w, h int, c responses.CharPosition) (image.Rectangle, error) {
	var pts [2]image.Point
	for j, xy := range [2][2]float64{{c.Left, c.Top}, {c.Right, c.Bottom}} {
		res, err := d.inst.FPDF_PageToDevice(&requests.FPDF_PageToDevice{
			Page: d.page(i), SizeX: w, SizeY: h, PageX: xy[0], PageY: xy[1],
		})
		if err != nil {
			return image.Rectangle{}, fmt.Errorf("redact: locating text on page %d: %v", i+1, err)
		}
		pts[j] = image.Pt(res.DeviceX, res.DeviceY)
	}
	return image.Rectangle{Min: pts[0], Max: pts[1]}.Canon(), nil
}

// spanRects returns the rectangles (in pixels of page i rendered at w×h)
// that cover bytes [s, e) of the page's text: one per line of text the
// value lies on, padded a little.
func (d *pdfDoc) spanRects(i, w, h int, boxes []responses.CharPosition, s, e int) ([]image.Rectangle, error) {
	var out []image.Rectangle
	var cur image.Rectangle
	for j := s; j < e && j < len(boxes); j++ {
		if j > s && boxes[j] == boxes[j-1] {
			continue // another byte of the same character
		}
		c := boxes[j]
		if c.Right <= c.Left && c.Top <= c.Bottom {
			continue // a generated space or line break
		}
		r, err := d.toDevice(i, w, h, c)
		if err != nil {
			return nil, err
		}
		if cur.Empty() {
			cur = r
			continue
		}
		// Same line if the vertical centre lies within the current box
		// (or the horizontal centre, for text turned on its side).
		cy, cx := (r.Min.Y+r.Max.Y)/2, (r.Min.X+r.Max.X)/2
		if (cy >= cur.Min.Y && cy <= cur.Max.Y) || (cx >= cur.Min.X && cx <= cur.Max.X) {
			cur = cur.Union(r)
			continue
		}
		out = append(out, cur)
		cur = r
	}
	if !cur.Empty() {
		out = append(out, cur)
	}
	for j, r := range out {
		pad := max(2, min(r.Dx(), r.Dy())/5)
		out[j] = r.Inset(-pad)
	}
	return out, nil
}

// pageFindings searches the text of page i, rendered at w×h pixels.
func (d *pdfDoc) pageFindings(i, w, h int, opts *Options, det *detect.Detector) ([]Finding, bool, error) {
	text, boxes, err := d.pageText(i)
	if err != nil {
		return nil, false, err
	}
	hasText := len(bytes.TrimSpace(text)) > 0
	ms := opts.find(det, nil, text, "")
	var out []Finding
	for _, m := range ms {
		rects, err := d.spanRects(i, w, h, boxes, m.Start, m.End)
		if err != nil {
			return nil, false, err
		}
		for _, r := range rects {
			out = append(out, Finding{
				Kind:       m.Kind,
				Masked:     detect.Mask(m.Kind, text[m.Start:m.End]),
				Confidence: m.Confidence,
				Start:      -1,
				End:        -1,
				Page:       i + 1,
				Rect:       r,
			})
		}
	}
	return out, hasText, nil
}

func noTextNote(page int) string {
	return fmt.Sprintf("page %d has no text layer (a scan?): its text could not be searched; check it by eye and draw boxes over identifying numbers", page)
}

func scanPDF(data []byte, opts *Options) (Report, error) {
	var rep Report
	d, err := openPDF(data, opts)
	if err != nil {
		return rep, err
	}
	defer d.close()
	rep.Pages = d.pages
	det := opts.detector()
	for i := 0; i < d.pages; i++ {
		dpi, wPt, hPt, err := d.pageDPI(i, opts)
		if err != nil {
			return rep, err
		}
		w, h := pixelSize(wPt, hPt, dpi)
		fs, hasText, err := d.pageFindings(i, w, h, opts, det)
		if err != nil {
			return rep, err
		}
		rep.Findings = append(rep.Findings, fs...)
		if !hasText {
			rep.Notes = append(rep.Notes, noTextNote(i+1))
		}
	}
	return rep, nil
}

// renderPage renders page i at dpi onto white, as an opaque RGBA image
// owned by Go.
func (d *pdfDoc) renderPage(i, dpi int) (*image.RGBA, error) {
	res, err := d.inst.RenderPageInDPI(&requests.RenderPageInDPI{
		Page:       d.page(i),
		DPI:        dpi,
		RenderForm: true,
		Document:   &d.doc,
	})
	if err != nil {
		return nil, fmt.Errorf("redact: page %d of the PDF cannot be rendered: %v", i+1, err)
	}
	defer res.Cleanup()
	src, ok := res.Result.RenderedImage.(*image.RGBA)
	if !ok {
		return nil, fmt.Errorf("redact: page %d rendered as %T, not RGBA", i+1, res.Result.RenderedImage)
	}
	b := src.Bounds()
	img := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		s := src.Pix[y*src.Stride : y*src.Stride+4*b.Dx()]
		t := img.Pix[y*img.Stride : y*img.Stride+4*b.Dx()]
		for x := 0; x < len(s); x += 4 {
			// Premultiplied alpha over white.
			a := 255 - s[x+3]
			t[x], t[x+1], t[x+2], t[x+3] = s[x]+a, s[x+1]+a, s[x+2]+a, 255
		}
	}
	return img, nil
}

// pdfEpoch is the creation date written into every copy, so that a copy
// says nothing about when it was made and redaction is reproducible.
var pdfEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

const footerPt = 14 // height of the label strip below each page

func redactPDF(data []byte, w io.Writer, opts *Options) (Report, error) {
	var rep Report
	for _, b := range opts.Boxes {
		if b.Page < 1 {
			return rep, fmt.Errorf("redact: a box has page %d; PDF boxes need a page number from 1", b.Page)
		}
	}
	d, err := openPDF(data, opts)
	if err != nil {
		return rep, err
	}
	defer d.close()
	rep.Pages = d.pages
	for _, b := range opts.Boxes {
		if b.Page > d.pages {
			return rep, fmt.Errorf("redact: a box is for page %d but the PDF has %d pages", b.Page, d.pages)
		}
	}

	out := fpdf.NewCustom(&fpdf.InitType{UnitStr: "pt", Size: fpdf.SizeType{Wd: 595, Ht: 842}})
	out.SetProducer("", false)
	out.SetCreationDate(pdfEpoch)
	out.SetModificationDate(pdfEpoch)
	out.SetAutoPageBreak(false, 0)
	out.SetMargins(0, 0, 0)
	out.SetCompression(true)
	tr := out.UnicodeTranslatorFromDescriptor("") // cp1252, for the dash in the label
	strip := 0.0
	if opts.CustomerCode != "" {
		strip = footerPt
	}
	det := opts.detector()
	for i := 0; i < d.pages; i++ {
		dpi, wPt, hPt, err := d.pageDPI(i, opts)
		if err != nil {
			return rep, err
		}
		img, err := d.renderPage(i, dpi)
		if err != nil {
			return rep, err
		}
		fs, hasText, err := d.pageFindings(i, img.Bounds().Dx(), img.Bounds().Dy(), opts, det)
		if err != nil {
			return rep, err
		}
		for _, f := range fs {
			blackOut(img, f.Rect.Intersect(img.Bounds()))
		}
		rep.Findings = append(rep.Findings, fs...)
		if !hasText {
			rep.Notes = append(rep.Notes, noTextNote(i+1))
		}
		n, err := fillBoxes(img, opts.Boxes, i+1, float64(dpi)/72, 1)
		if err != nil {
			return rep, err
		}
		rep.Boxes += n

		// The copy's page has the original's size (as displayed); the
		// image, rounded to whole pixels, is drawn to fill it.
		if (wPt < hPt) != (img.Bounds().Dx() < img.Bounds().Dy()) {
			wPt, hPt = hPt, wPt
		}
		enc, typ, err := encodePage(img, opts)
		if err != nil {
			return rep, err
		}
		name := fmt.Sprintf("page%d", i+1)
		out.AddPageFormat("P", fpdf.SizeType{Wd: wPt, Ht: hPt + strip})
		iopt := fpdf.ImageOptions{ImageType: typ}
		out.RegisterImageOptionsReader(name, iopt, bytes.NewReader(enc))
		out.ImageOptions(name, 0, 0, wPt, hPt, false, iopt, 0, "")
		if strip > 0 {
			out.SetFont("Helvetica", "", 7)
			out.SetTextColor(0, 0, 0)
			out.Text(6, hPt+strip-4.5, tr(fmt.Sprintf("%s — page %d of %d", label(opts.CustomerCode), i+1, d.pages)))
		}
		if err := out.Error(); err != nil {
			return rep, fmt.Errorf("redact: writing the PDF: %w", err)
		}
	}
	if err := out.Output(w); err != nil {
		return rep, fmt.Errorf("redact: writing the PDF: %w", err)
	}
	return rep, nil
}

// encodePage encodes a page image: PNG (lossless, small for text pages),
// or JPEG when the page is a photo or scan that PNG stores badly.
func encodePage(img *image.RGBA, opts *Options) ([]byte, string, error) {
	var p bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.DefaultCompression}).Encode(&p, img); err != nil {
		return nil, "", fmt.Errorf("redact: encoding a page: %w", err)
	}
	if p.Len() < 1<<20 {
		return p.Bytes(), "PNG", nil
	}
	var j bytes.Buffer
	if err := jpeg.Encode(&j, img, &jpeg.Options{Quality: opts.jpegQuality()}); err != nil {
		return nil, "", fmt.Errorf("redact: encoding a page: %w", err)
	}
	if j.Len() < p.Len() {
		return j.Bytes(), "JPG", nil
	}
	return p.Bytes(), "PNG", nil
}
