package redact

import (
	"bytes"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-pdf/fpdf"
	"github.com/klippa-app/go-pdfium/requests"

	"github.com/valv-vault/valv/store/redact/detect"
)

const testPnr = "19121212-1212"

// textPDF makes a two-page PDF with real text: a personnummer, a phone
// number and an ordinary date, plus a title in the metadata. It returns
// where the digits of the personnummer stand on page 1, in pixels at 150
// dpi, as fpdf placed them (not as PDFium reports them).
func textPDF(t testing.TB) ([]byte, image.Rectangle) {
	t.Helper()
	f := fpdf.New("P", "pt", "A4", "")
	f.SetTitle("Kundakt Tolvan Tolvansson", true)
	f.SetAuthor("Handläggare", true)
	f.AddPage()
	f.SetFont("Helvetica", "", 14)
	f.Text(72, 100, "Kund: Tolvan Tolvansson")
	f.Text(72, 130, "Personnummer: "+testPnr)
	x0 := 72 + f.GetStringWidth("Personnummer: ")
	x1 := x0 + f.GetStringWidth(testPnr)
	px := func(pt float64) int { return int(pt * 150 / 72) }
	// Digits stand on the baseline and rise about 0.7 em.
	where := image.Rect(px(x0)+1, px(130-0.65*14), px(x1)-1, px(130)-1)
	f.Text(72, 160, "Telefon: 070-123 45 67")
	f.Text(72, 190, "Datum: 2024-02-28")
	f.AddPage()
	f.SetFont("Helvetica", "", 12)
	f.Text(72, 100, "Page two has no numbers.")
	var b bytes.Buffer
	if err := f.Output(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), where
}

// pdfText extracts the text of every page with PDFium.
func pdfText(t testing.TB, data []byte) string {
	t.Helper()
	d, err := openPDF(data, &Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	var all strings.Builder
	for i := 0; i < d.pages; i++ {
		res, err := d.inst.GetPageText(&requests.GetPageText{Page: d.page(i)})
		if err != nil {
			t.Fatal(err)
		}
		all.WriteString(res.Text)
		all.WriteString("\n")
	}
	return all.String()
}

// digitsOnly keeps the digits of s, so that "1912 1212-12 12" still
// matches.
func digitsOnly(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestRedactPDF(t *testing.T) {
	if testing.Short() {
		t.Skip("compiling PDFium's WebAssembly takes seconds; skipped with -short")
	}
	if raceEnabled {
		t.Skip("PDFium under the race detector takes minutes; scripts/test runs this test without -race")
	}
	in, where := textPDF(t)
	if !strings.Contains(pdfText(t, in), testPnr) {
		t.Fatal("the test PDF has no extractable personnummer; the test proves nothing")
	}
	d, err := openPDF(in, &Options{})
	if err != nil {
		t.Fatal(err)
	}
	orig, err := d.renderPage(0, 150)
	d.close()
	if err != nil {
		t.Fatal(err)
	}
	if uniform(orig, where) {
		t.Fatalf("the original page is uniform in %v; the test does not know where the personnummer is", where)
	}

	// The pre-archive check finds the same values, masked.
	scan, err := Scan(bytes.NewReader(in), Unknown)
	if err != nil {
		t.Fatal(err)
	}
	if scan.Kind != PDF || scan.Pages != 2 || scan.Summary() != "1 personnummer, 1 phone" || scan.Findings[0].Page != 1 {
		t.Errorf("scan: %+v", scan)
	}
	if len(scan.Notes) != 0 {
		t.Errorf("scan notes %q; both pages have text", scan.Notes)
	}

	var out bytes.Buffer
	box := Box{Page: 1, Rect: image.Rect(72, 180, 200, 195)} // over the date
	rep, err := Redact(bytes.NewReader(in), PDF, &out, Options{CustomerCode: "K7Q3-MX9R-2", Boxes: []Box{box}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Pages != 2 || rep.Boxes != 1 {
		t.Errorf("report: %d pages, %d boxes; want 2, 1", rep.Pages, rep.Boxes)
	}
	c := rep.Counts()
	if c[detect.Personnummer] != 1 || c[detect.Phone] != 1 || len(rep.Findings) != 2 {
		t.Errorf("findings %+v; want one personnummer and one phone", rep.Findings)
	}
	for _, f := range rep.Findings {
		if strings.Contains(digitsOnly(f.Masked), "1912121212") {
			t.Errorf("report holds the value: %q", f.Masked)
		}
	}

	got := pdfText(t, out.Bytes())
	for _, secret := range []string{digitsOnly(testPnr), "1212121212", "0701234567", "20240228", "Tolvan"} {
		if strings.Contains(digitsOnly(got), secret) || strings.Contains(got, secret) {
			t.Errorf("redacted PDF text still holds %q: %q", secret, got)
		}
	}
	if !strings.Contains(got, "customer K7Q3-MX9R-2") {
		t.Errorf("redacted PDF has no label; text %q", got)
	}
	for _, bad := range []string{"Tolvan", "Handl", "/Title", "/Author", "FPDF", "Helvetica-Bold"} {
		if bytes.Contains(out.Bytes(), []byte(bad)) {
			t.Errorf("redacted PDF file holds %q", bad)
		}
	}

	// The pixels where the personnummer stood are uniform.
	od, err := openPDF(out.Bytes(), &Options{})
	if err != nil {
		t.Fatal(err)
	}
	img, err := od.renderPage(0, 150)
	od.close()
	if err != nil {
		t.Fatal(err)
	}
	if !uniform(img, where) {
		t.Errorf("pixels in %v (where the personnummer stood) are not uniform", where)
	}
	if uniform(img, img.Bounds()) {
		t.Error("the whole page is uniform: nothing was rendered")
	}

	// The copy is image-only: a scan of it finds nothing (its only text
	// is the label).
	again, err := Scan(bytes.NewReader(out.Bytes()), PDF)
	if err != nil || len(again.Findings) != 0 {
		t.Errorf("scan of the copy: %+v, %v", again, err)
	}

	if p, err := exec.LookPath("pdftotext"); err == nil {
		dir := t.TempDir()
		fn := filepath.Join(dir, "out.pdf")
		if err := os.WriteFile(fn, out.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		txt, err := exec.Command(p, fn, "-").Output()
		if err != nil {
			t.Fatalf("pdftotext: %v", err)
		}
		if strings.Contains(digitsOnly(string(txt)), "1912121212") {
			t.Errorf("pdftotext finds the personnummer: %q", txt)
		}
	} else {
		t.Log("pdftotext not installed (apt-get install poppler-utils); checked with PDFium only")
	}
}

func uniform(img *image.RGBA, r image.Rectangle) bool {
	r = r.Intersect(img.Bounds())
	first := img.RGBAAt(r.Min.X, r.Min.Y)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if img.RGBAAt(x, y) != first {
				return false
			}
		}
	}
	return true
}
