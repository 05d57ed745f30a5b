package redact

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchCorpus returns about 1 MiB of the corpus text, markup removed.
func benchCorpus(b *testing.B) []byte {
	raw, err := os.ReadFile(filepath.Join("testdata", "corpus.txt"))
	if err != nil {
		b.Fatal(err)
	}
	s := strings.NewReplacer("[[", "", "]]", "").Replace(string(raw))
	var buf bytes.Buffer
	for buf.Len() < 1<<20 {
		buf.WriteString(s)
	}
	return buf.Bytes()
}

// BenchmarkRedactText is the whole text path: read, detect, replace,
// write. Run with -benchtime=100x for 100 MB.
func BenchmarkRedactText(b *testing.B) {
	text := benchCorpus(b)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Redact(bytes.NewReader(text), Text, io.Discard, Options{Now: corpusNow}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRedactCSV redacts a CSV of customers field by field.
func BenchmarkRedactCSV(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString("namn;personnummer;telefon;e-post;belopp\n")
	for buf.Len() < 1<<20 {
		buf.WriteString("Tolvan Tolvansson;19121212-1212;070-123 45 67;tolvan@example.se;1 234,50\n")
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Redact(bytes.NewReader(data), CSV, io.Discard, Options{Now: corpusNow}); err != nil {
			b.Fatal(err)
		}
	}
}
