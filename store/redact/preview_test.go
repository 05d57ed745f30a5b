package redact

import (
	"bytes"
	"image"
	"image/color"
	"testing"

	"github.com/valv-vault/valv/store/redact/detect"
)

// A box drawn on the preview of a PDF page, divided by PixelsPerPoint,
// blacks out what it covered on the preview.
func TestRenderPDFPageMapsBoxes(t *testing.T) {
	if testing.Short() {
		t.Skip("compiling PDFium's WebAssembly takes seconds; skipped with -short")
	}
	if raceEnabled {
		t.Skip("PDFium under the race detector takes minutes; scripts/test runs this test without -race")
	}
	in, where := textPDF(t)
	p, err := RenderPDFPage(in, 1, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Pages != 2 || p.PixelsPerPoint != 150.0/72 || p.Image.Bounds().Dx() != 1241 {
		t.Fatalf("page 1: %d pages, %v px/pt, %v", p.Pages, p.PixelsPerPoint, p.Image.Bounds())
	}
	if uniform(p.Image, where) {
		t.Fatal("the preview shows nothing where the personnummer stands")
	}
	if _, err := RenderPDFPage(in, 3, Options{}); err == nil {
		t.Error("page 3 of 2 rendered")
	}
	// The box as the window draws it: preview pixels to points. The
	// detectors look only for e-mail addresses, so the box alone must
	// cover the personnummer.
	s := p.PixelsPerPoint
	pt := image.Rect(int(float64(where.Min.X)/s), int(float64(where.Min.Y)/s), int(float64(where.Max.X)/s+1), int(float64(where.Max.Y)/s+1))
	var out bytes.Buffer
	if _, err := Redact(bytes.NewReader(in), PDF, &out, Options{Kinds: detect.SetOf(detect.Email), Boxes: []Box{{Page: 1, Rect: pt}}}); err != nil {
		t.Fatal(err)
	}
	q, err := RenderPDFPage(out.Bytes(), 1, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !uniform(q.Image, where) || q.Image.RGBAAt(where.Min.X, where.Min.Y) != (color.RGBA{0, 0, 0, 255}) {
		t.Error("the box drawn on the preview is not black in the copy")
	}
}

// DecodeImage shows a JPEG as displayed (EXIF orientation applied), in the
// pixels image boxes are given in.
func TestDecodeImageOrientation(t *testing.T) {
	src := image.NewGray(image.Rect(0, 0, 40, 20))
	img, err := DecodeImage(exifJPEG(t, src, 6), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 20 || b.Dy() != 40 {
		t.Errorf("displayed size %v; want 20×40", b)
	}
	if _, err := DecodeImage([]byte("just text"), Options{}); err == nil {
		t.Error("text decoded as an image")
	}
	if _, err := DecodeImage(exifJPEG(t, testImage(100, 100), 1), Options{MaxPixels: 5000}); err == nil {
		t.Error("MaxPixels not applied")
	}
}
