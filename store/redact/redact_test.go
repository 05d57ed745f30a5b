package redact

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/valv-vault/valv/store/redact/detect"
)

const code = "K7Q3-MX9R-2"

func redactString(t *testing.T, in string, kind Kind, opts Options) (string, Report) {
	t.Helper()
	if opts.Now.IsZero() {
		opts.Now = corpusNow
	}
	var out bytes.Buffer
	rep, err := Redact(strings.NewReader(in), kind, &out, opts)
	if err != nil {
		t.Fatalf("Redact(%s): %v", kind, err)
	}
	return out.String(), rep
}

func TestRedactText(t *testing.T) {
	in := "Kund Tolvan, pnr 19121212-1212, kort 4111 1111 1111 1111,\r\nring 070-123 45 67. Datum 2024-02-28.\r\n"
	got, rep := redactString(t, in, Text, Options{CustomerCode: code})
	want := "Redacted archive copy — customer K7Q3-MX9R-2\r\n\r\nKund Tolvan, pnr [PERSONNUMMER], kort [KORT ****1111],\r\nring [TELEFON]. Datum 2024-02-28.\r\n"
	if got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
	if rep.Summary() != "1 personnummer, 1 card, 1 phone" {
		t.Errorf("summary %q", rep.Summary())
	}
	if f := rep.Findings[2]; f.Line != 2 || in[f.Start:f.End] != "070-123 45 67" || f.Masked != "***-*** ** 67" {
		t.Errorf("finding %+v", f)
	}
}

func TestRedactMarkdown(t *testing.T) {
	in := "---\ntitle: Kund 19121212-1212\n---\n# Kund\n\n| pnr | tel |\n|---|---|\n| 19121212-1212 | 070-123 45 67 |\n"
	got, _ := redactString(t, in, Markdown, Options{CustomerCode: code})
	want := "---\ntitle: Kund [PERSONNUMMER]\n---\n*Redacted archive copy — customer K7Q3-MX9R-2*\n\n# Kund\n\n| pnr | tel |\n|---|---|\n| [PERSONNUMMER] | [TELEFON] |\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestRedactCSV(t *testing.T) {
	n := "070123456"
	n += checkDigitString(n)
	in := "\xef\xbb\xbfnamn;telefon;personnummer;anteckning\n" +
		"Tolvan;" + n + ";" + n + ";\"ring 08-123 456 78; \"\"viktigt\"\"\"\n" +
		"Anna;070-123 45 67;121212-1212;belopp 1 234,50\n"
	got, rep := redactString(t, in, CSV, Options{CustomerCode: code})
	if !strings.HasPrefix(got, "\xef\xbb\xbf") {
		t.Error("BOM lost")
	}
	recs, err := readCSV(strings.TrimPrefix(got, "\xef\xbb\xbf"), ';')
	if err != nil {
		t.Fatalf("output is not CSV: %v\n%s", err, got)
	}
	want := [][]string{
		{"Redacted archive copy — customer K7Q3-MX9R-2", "", "", ""},
		{"namn", "telefon", "personnummer", "anteckning"},
		{"Tolvan", "[TELEFON]", "[PERSONNUMMER]", `ring [TELEFON]; "viktigt"`},
		{"Anna", "[TELEFON]", "[PERSONNUMMER]", "belopp 1 234,50"},
	}
	if !equalRecords(recs, want) {
		t.Errorf("got %q\nwant %q", recs, want)
	}
	// The column decides what a bare number is.
	c := rep.Counts()
	if c[detect.Phone] != 3 || c[detect.Personnummer] != 2 {
		t.Errorf("counts %v", c)
	}
	// Offsets point into the input, through quoting.
	for _, f := range rep.Findings {
		v := in[f.Start:f.End]
		if detect.Mask(f.Kind, []byte(v)) != f.Masked {
			t.Errorf("finding at [%d,%d) is %q, masked %q", f.Start, f.End, v, f.Masked)
		}
	}
}

// checkDigitString returns the Luhn check digit for the digits s.
func checkDigitString(s string) string {
	sum := 0
	for i := len(s) - 1; i >= 0; i-- {
		v := int(s[i] - '0')
		if (len(s)-1-i)%2 == 0 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return string(rune('0' + (10-sum%10)%10))
}

func readCSV(s string, comma rune) ([][]string, error) {
	r := csv.NewReader(strings.NewReader(s))
	r.Comma = comma
	r.FieldsPerRecord = -1
	return r.ReadAll()
}

func equalRecords(a, b [][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if strings.Join(a[i], "\x00") != strings.Join(b[i], "\x00") {
			return false
		}
	}
	return true
}

func TestRedactJSON(t *testing.T) {
	in := `{"kund": {"namn": "Tolvan", "pnr": 191212121212, "telefon": "070\u002d123 45 67",
  "konton": ["SE45 5000 0000 0583 9825 7466"], "belopp": 1234.5, "noter": "<b>ring</b> 08-123 456 78"}}`
	got, rep := redactString(t, in, JSON, Options{CustomerCode: code})
	if !json.Valid([]byte(got)) {
		t.Fatalf("output is not JSON: %s", got)
	}
	var v struct {
		Copy struct{ Label, Customer string } `json:"valv_archive_copy"`
		Doc  struct {
			Kund map[string]any
		} `json:"document"`
	}
	if err := json.Unmarshal([]byte(got), &v); err != nil {
		t.Fatal(err)
	}
	if v.Copy.Customer != code || !strings.Contains(v.Copy.Label, code) {
		t.Errorf("label %+v", v.Copy)
	}
	k := v.Doc.Kund
	if k["pnr"] != "[PERSONNUMMER]" || k["telefon"] != "[TELEFON]" || k["belopp"] != 1234.5 ||
		k["konton"].([]any)[0] != "[IBAN]" || k["noter"] != "<b>ring</b> [TELEFON]" || k["namn"] != "Tolvan" {
		t.Errorf("document %v", k)
	}
	for _, f := range rep.Findings {
		if f.Start < 0 || f.End > int64(len(in)) || f.Field == "" {
			t.Errorf("finding %+v", f)
		}
	}
	if _, err := Redact(strings.NewReader(`{"a": 1,}`), JSON, &bytes.Buffer{}, Options{}); err == nil || !strings.Contains(err.Error(), "not valid JSON") {
		t.Errorf("invalid JSON: %v", err)
	}
}

func TestCustomerCodeIsNotAName(t *testing.T) {
	for _, c := range []string{"Tolvan Tolvansson", "anna", "K7Q3 MX9R", "ÅSA", "KILO"} {
		_, err := Redact(strings.NewReader("x"), Text, &bytes.Buffer{}, Options{CustomerCode: c})
		if err == nil {
			t.Errorf("customer code %q accepted", c)
		}
	}
}

func testImage(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 7), uint8(y * 5), uint8(x ^ y), 255})
		}
	}
	return img
}

// exifJPEG returns a JPEG with an APP1 EXIF segment holding orientation o,
// a GPS-like marker string and a comment.
func exifJPEG(t *testing.T, img image.Image, o uint16) []byte {
	var j bytes.Buffer
	if err := jpeg.Encode(&j, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	tiff := []byte{'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, byte(o >> 8), byte(o), 0, 0, 0, 0, 0, 0}
	tiff = append(tiff, "GPSLatitude 59.3293 SECRET"...)
	app1 := append([]byte("Exif\x00\x00"), tiff...)
	seg := append([]byte{0xFF, 0xE1, byte((len(app1) + 2) >> 8), byte(len(app1) + 2)}, app1...)
	com := []byte("Tolvan Tolvansson")
	seg = append(seg, 0xFF, 0xFE, 0, byte(len(com)+2))
	seg = append(seg, com...)
	b := j.Bytes()
	return append(append(append([]byte{}, b[:2]...), seg...), b[2:]...)
}

func TestRedactImage(t *testing.T) {
	src := testImage(64, 48)
	var p bytes.Buffer
	if err := png.Encode(&p, src); err != nil {
		t.Fatal(err)
	}
	box := image.Rect(10, 5, 30, 20)
	for _, tc := range []struct {
		kind Kind
		data []byte
	}{{PNG, p.Bytes()}, {JPEG, exifJPEG(t, src, 1)}} {
		var out bytes.Buffer
		rep, err := Redact(bytes.NewReader(tc.data), tc.kind, &out, Options{Boxes: []Box{{Rect: box}}})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Boxes != 1 {
			t.Errorf("%s: %d boxes", tc.kind, rep.Boxes)
		}
		for _, s := range []string{"SECRET", "Tolvan", "Exif"} {
			if bytes.Contains(out.Bytes(), []byte(s)) {
				t.Errorf("%s: output holds %q", tc.kind, s)
			}
		}
		img, _, err := image.Decode(bytes.NewReader(out.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		// Inside the box (away from JPEG's 8×8 block edges) all black.
		inner := box
		if tc.kind == JPEG {
			inner = image.Rect(0, 0, 32, 32) // grown to the 16-pixel grid
		}
		for y := inner.Min.Y; y < inner.Max.Y; y++ {
			for x := inner.Min.X; x < inner.Max.X; x++ {
				r, g, b, _ := img.At(x, y).RGBA()
				if r>>8 > 2 || g>>8 > 2 || b>>8 > 2 {
					t.Fatalf("%s: pixel (%d,%d) is %v, not black", tc.kind, x, y, img.At(x, y))
				}
			}
		}
	}
}

func TestImageOrientation(t *testing.T) {
	// A 40×20 image stored sideways (orientation 6: turn 90° clockwise
	// to display) is 20×40 as displayed; boxes are in displayed pixels.
	src := image.NewGray(image.Rect(0, 0, 40, 20))
	for i := range src.Pix {
		src.Pix[i] = 255
	}
	src.SetGray(0, 19, color.Gray{0}) // bottom-left stored → top-left displayed
	data := exifJPEG(t, src, 6)
	if o := jpegOrientation(data); o != 6 {
		t.Fatalf("orientation %d", o)
	}
	var out bytes.Buffer
	if _, err := Redact(bytes.NewReader(data), JPEG, &out, Options{Boxes: []Box{{Rect: image.Rect(0, 32, 20, 40)}}}); err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(&out)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 20 || b.Dy() != 40 {
		t.Fatalf("displayed size %v; want 20×40", b)
	}
	if y, _, _, _ := img.At(0, 0).RGBA(); y>>8 > 128 {
		t.Errorf("top-left is %v; want the dark pixel there", img.At(0, 0))
	}
	if y, _, _, _ := img.At(10, 36).RGBA(); y>>8 > 10 {
		t.Errorf("box not black: %v", img.At(10, 36))
	}
}

func TestImageLimits(t *testing.T) {
	var p bytes.Buffer
	png.Encode(&p, testImage(100, 100))
	_, err := Redact(bytes.NewReader(p.Bytes()), PNG, &bytes.Buffer{}, Options{MaxPixels: 5000})
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("10000 pixels with MaxPixels 5000: %v", err)
	}
	_, err = Redact(bytes.NewReader(p.Bytes()), PNG, &bytes.Buffer{}, Options{Boxes: []Box{{Rect: image.Rect(200, 200, 300, 300)}}})
	if err == nil || !strings.Contains(err.Error(), "outside") {
		t.Errorf("box outside: %v", err)
	}
	// A header that claims a huge image is refused before decoding.
	bomb := append([]byte{}, p.Bytes()...)
	copy(bomb[16:24], []byte{0, 1, 0, 0, 0, 1, 0, 0}) // 65536×65536 in IHDR
	_, err = Redact(bytes.NewReader(bomb), PNG, &bytes.Buffer{}, Options{})
	if err == nil {
		t.Error("decompression bomb accepted")
	}
}

func TestSniff(t *testing.T) {
	for _, tc := range []struct {
		head, name string
		want       Kind
	}{
		{"%PDF-1.7", "x.bin", PDF},
		{"\x89PNG\r\n\x1a\nxxxx", "a.jpg", PNG},
		{"\xff\xd8\xff\xe0", "a.png", JPEG},
		{"a;b\n1;2\n", "kunder.csv", CSV},
		{`{"a":1}`, "x.json", JSON},
		{"# Rubrik", "x.md", Markdown},
		{"hej", "x.txt", Text},
		{"\x00\x01\x02", "x.txt", Unknown},
	} {
		if got := Sniff([]byte(tc.head), tc.name); got != tc.want {
			t.Errorf("Sniff(%q, %q) = %v; want %v", tc.head, tc.name, got, tc.want)
		}
	}
}

func TestRedactFile(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "kund.txt")
	if err := os.WriteFile(in, []byte("pnr 19121212-1212\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "K7Q3-MX9R-2.txt")
	rep, err := RedactFile(in, out, Options{CustomerCode: code})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Kind != Text || len(rep.Findings) != 1 {
		t.Errorf("report %+v", rep)
	}
	b, _ := os.ReadFile(out)
	if strings.Contains(string(b), "1212") || !strings.Contains(string(b), code) {
		t.Errorf("output %q", b)
	}
	if _, err := RedactFile(in, out, Options{}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("overwrite: %v", err)
	}
	if _, err := RedactFile(in, in, Options{}); err == nil {
		t.Error("in == out accepted")
	}
	if _, err := RedactFile(in, filepath.Join(dir, "x.pdf"), Options{}); err == nil || !strings.Contains(err.Error(), "name the copy") {
		t.Errorf("wrong extension: %v", err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("left behind: %v", ents)
	}
}

func TestScan(t *testing.T) {
	rep, err := Scan(strings.NewReader("pnr 19121212-1212, 121212-1212 och bankgiro 5050-1055"), Text)
	if err != nil {
		t.Fatal(err)
	}
	if c := rep.Counts(); c[detect.Personnummer] != 2 || c[detect.Bankgiro] != 1 {
		t.Errorf("counts %v", c)
	}
	for _, f := range rep.Findings {
		if strings.Contains(f.Masked, "1212-12") || strings.Contains(f.Masked, "5050") {
			t.Errorf("value not masked: %q", f.Masked)
		}
	}
	var p bytes.Buffer
	png.Encode(&p, testImage(8, 8))
	rep, err = Scan(&p, Unknown)
	if err != nil || rep.Kind != PNG || len(rep.Notes) == 0 {
		t.Errorf("image scan: %+v, %v", rep, err)
	}
}
