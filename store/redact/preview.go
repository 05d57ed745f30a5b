package redact

import (
	"fmt"
	"image"
)

// Previews for the window: a document is shown as the redactor sees it,
// so that a box drawn on the preview lands where Box says it does. Both
// functions work on bytes in memory and write nothing anywhere.

// DecodeImage decodes a PNG or JPEG for display, with a JPEG's EXIF
// orientation applied: its pixels are the coordinates of an image Box.
// Options.MaxPixels limits the size (a decompression bomb guard).
func DecodeImage(data []byte, opts Options) (image.Image, error) {
	kind := Sniff(data[:min(len(data), 4096)], "")
	if kind != PNG && kind != JPEG {
		return nil, fmt.Errorf("redact: the document is %s, not a PNG or JPEG image", kind)
	}
	return decodeImage(data, kind, &opts)
}

// A PDFPage is one page of a PDF rendered for display.
type PDFPage struct {
	Image *image.RGBA // opaque, the page on white
	Pages int         // pages in the document
	// PixelsPerPoint maps the image to a PDF Box: a box's Rect is the
	// image rectangle divided by PixelsPerPoint.
	PixelsPerPoint float64
}

// RenderPDFPage renders page (1-based) of a PDF in a fresh PDFium
// instance, at Options.DPI (150 by default) or lower if the page would
// exceed Options.MaxPixels. It renders what the redactor renders.
func RenderPDFPage(data []byte, page int, opts Options) (PDFPage, error) {
	d, err := openPDF(data, &opts)
	if err != nil {
		return PDFPage{}, err
	}
	defer d.close()
	if page < 1 || page > d.pages {
		return PDFPage{}, fmt.Errorf("redact: the PDF has %d pages; there is no page %d", d.pages, page)
	}
	dpi, _, _, err := d.pageDPI(page-1, &opts)
	if err != nil {
		return PDFPage{}, err
	}
	img, err := d.renderPage(page-1, dpi)
	if err != nil {
		return PDFPage{}, err
	}
	return PDFPage{Image: img, Pages: d.pages, PixelsPerPoint: float64(dpi) / 72}, nil
}
