package redact

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/valv-vault/valv/store/redact/detect"
)

func corpusSeeds(f *testing.F) {
	f.Add([]byte("pnr 19121212-1212, tel 070-123 45 67, kort 4111 1111 1111 1111, åsa@exempel.se"))
	f.Add([]byte("namn;telefon\nTolvan;0701234567\n\"a;\"\"b\";SE45 5000 0000 0583 9825 7466\n"))
	f.Add([]byte(`{"pnr": 191212121212, "tel": "070\u002d123 45 67", "a": [1, "x@y.se"]}`))
	for _, name := range []string{"corpus.txt", "tricky.txt"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			continue
		}
		// Small seeds: a few lines each (large ones make the fuzzer's
		// minimizing crawl).
		s := strings.NewReplacer("[[", "", "]]", "").Replace(string(b))
		lines := strings.Split(s, "\n")
		for i := 0; i+3 <= len(lines); i += 60 {
			f.Add([]byte(strings.Join(lines[i:i+3], "\n")))
		}
	}
}

// noValuesLeft checks that every value found in in is gone from out, where
// it can tell: a value found at every place it occurs in the input may
// occur nowhere in the output.
func noValuesLeft(t *testing.T, in, out []byte, spans [][2]int) {
	t.Helper()
	seen := map[string]int{}
	for _, s := range spans {
		seen[string(in[s[0]:s[1]])]++
	}
	for v, n := range seen {
		if bytes.Count(in, []byte(v)) == n && bytes.Contains(out, []byte(v)) {
			t.Fatalf("redacted output still holds %q:\n%q", v, out)
		}
	}
}

func FuzzRedactText(f *testing.F) {
	corpusSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		out, ms := RedactText(in, Options{Now: corpusNow})
		var spans [][2]int
		for _, m := range ms {
			spans = append(spans, [2]int{m.Start, m.End})
		}
		noValuesLeft(t, in, out, spans)
		labels := 0
		for _, m := range ms {
			if !bytes.Contains(out, []byte(detect.Label(m.Kind, in[m.Start:m.End]))) {
				t.Fatalf("label for %v missing", m.Kind)
			}
			labels += len(detect.Label(m.Kind, in[m.Start:m.End])) - (m.End - m.Start)
		}
		if len(out) != len(in)+labels {
			t.Fatalf("output is %d bytes; want %d", len(out), len(in)+labels)
		}
	})
}

func findingSpans(rep Report) [][2]int {
	var spans [][2]int
	for _, f := range rep.Findings {
		spans = append(spans, [2]int{int(f.Start), int(f.End)})
	}
	return spans
}

func FuzzRedactCSV(f *testing.F) {
	corpusSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		rep, err := Redact(bytes.NewReader(in), CSV, &out, Options{Now: corpusNow, CustomerCode: "K7Q3"})
		if err != nil {
			return
		}
		for _, s := range findingSpans(rep) {
			if s[0] < 0 || s[1] > len(in) || s[0] >= s[1] {
				t.Fatalf("finding span %v outside the input", s)
			}
		}
		noValuesLeft(t, in, out.Bytes(), findingSpans(rep))
		body := bytes.TrimPrefix(out.Bytes(), bom)
		r := csv.NewReader(bytes.NewReader(body))
		r.Comma = csvDelimiter(bytes.TrimPrefix(in, bom))
		r.FieldsPerRecord = -1
		recs, err := r.ReadAll()
		if err != nil {
			t.Fatalf("output is not CSV: %v\n%q", err, body)
		}
		if len(recs) == 0 || !strings.HasPrefix(recs[0][0], "Redacted archive copy") {
			t.Fatalf("no label record: %q", recs)
		}
	})
}

func FuzzRedactJSON(f *testing.F) {
	corpusSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		rep, err := Redact(bytes.NewReader(in), JSON, &out, Options{Now: corpusNow})
		valid := json.Valid(bytes.TrimPrefix(in, bom))
		if valid != (err == nil) {
			t.Fatalf("valid JSON %v, error %v", valid, err)
		}
		if err != nil {
			return
		}
		if !json.Valid(out.Bytes()) {
			t.Fatalf("output is not JSON:\n%q\nfrom\n%q", out.Bytes(), in)
		}
		noValuesLeft(t, in, out.Bytes(), findingSpans(rep))
	})
}

func FuzzJPEGOrientation(f *testing.F) {
	f.Add([]byte("\xff\xd8\xff\xe1\x00\x20Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00"))
	f.Add([]byte("\xff\xd8\xff\xe1\x00\x20Exif\x00\x00II\x2a\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x03\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if o := jpegOrientation(b); o < 1 || o > 8 {
			t.Fatalf("orientation %d", o)
		}
	})
}

func FuzzRedactImage(f *testing.F) {
	var p bytes.Buffer
	png.Encode(&p, testImage(20, 10))
	f.Add(p.Bytes(), false)
	f.Add([]byte("\xff\xd8\xff\xe1\x00\x20Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00"), true)
	f.Fuzz(func(t *testing.T, b []byte, isJPEG bool) {
		kind := PNG
		if isJPEG {
			kind = JPEG
		}
		var out bytes.Buffer
		opts := Options{MaxPixels: 1 << 16, Boxes: []Box{{Rect: image.Rect(0, 0, 4, 4)}}}
		if _, err := Redact(bytes.NewReader(b), kind, &out, opts); err != nil {
			return
		}
		if _, _, err := image.Decode(&out); err != nil {
			t.Fatalf("output does not decode: %v", err)
		}
	})
}
