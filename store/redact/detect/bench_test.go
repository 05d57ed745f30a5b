package detect

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchText returns about 1 MiB of text: the labelled corpus (dense with
// numbers, every kind and many near-misses) and, for "prose", the corpus
// diluted with ordinary Swedish and English running text at about one
// value per 400 bytes, which is closer to letters and contracts.
func benchText(b *testing.B, prose bool) []byte {
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "corpus.txt"))
	if err != nil {
		b.Fatal(err)
	}
	corpus := strings.NewReplacer("[[", "", "]]", "").Replace(string(raw))
	filler := "Avtalet gäller från och med den första i månaden och löper tills vidare med tre månaders ömsesidig uppsägningstid. " +
		"The parties agree that this agreement is governed by Swedish law, and that any dispute shall be settled by arbitration in Stockholm. "
	var buf bytes.Buffer
	lines := strings.Split(corpus, "\n")
	for i := 0; buf.Len() < 1<<20; i++ {
		buf.WriteString(lines[i%len(lines)])
		buf.WriteByte('\n')
		if prose {
			buf.WriteString(filler)
			buf.WriteString(filler)
		}
	}
	return buf.Bytes()
}

// BenchmarkFind runs every detector over 1 MiB of text per iteration; run
// with -benchtime=100x for a 100 MB workload. MB/s is for one goroutine.
func BenchmarkFind(b *testing.B) {
	for _, tc := range []struct {
		name  string
		prose bool
	}{{"corpus", false}, {"prose", true}} {
		b.Run(tc.name, func(b *testing.B) {
			text := benchText(b, tc.prose)
			d := Detector{Now: testNow}
			var ms []Match
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ms = d.Append(ms[:0], text, "")
			}
			b.ReportMetric(float64(len(ms))/float64(len(text))*1e6, "matches/MB")
		})
	}
}

// BenchmarkFindKind runs one detector at a time over the corpus text.
func BenchmarkFindKind(b *testing.B) {
	text := benchText(b, false)
	for _, k := range Kinds {
		b.Run(k.String(), func(b *testing.B) {
			d := Detector{Kinds: SetOf(k), Now: testNow}
			var ms []Match
			b.SetBytes(int64(len(text)))
			for i := 0; i < b.N; i++ {
				ms = d.Append(ms[:0], text, "")
			}
		})
	}
}
