package redact

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/valv-vault/valv/store/redact/detect"
)

// The corpus is testdata/corpus.txt (written by testdata/gen.go) and the
// hand-written testdata/tricky.txt. See gen.go for the format.

type span struct {
	kind string
	s, e int
}

type corpusDoc struct {
	format, lang, source string
	text                 []byte
	want                 []span // values to find
	near                 []span // near-misses, in which nothing may be found
}

func parseCorpus(t testing.TB, name string) []corpusDoc {
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var docs []corpusDoc
	var cur *corpusDoc
	for _, line := range strings.SplitAfter(string(raw), "\n") {
		if strings.HasPrefix(line, "#") && cur == nil {
			continue
		}
		if strings.HasPrefix(line, "=== ") {
			f := strings.Fields(line[4:])
			docs = append(docs, corpusDoc{format: f[0], source: name})
			cur = &docs[len(docs)-1]
			if len(f) > 1 {
				cur.lang = f[1]
			}
			continue
		}
		if cur == nil {
			continue
		}
		for {
			i := strings.Index(line, "[[")
			if i < 0 {
				cur.text = append(cur.text, line...)
				break
			}
			cur.text = append(cur.text, line[:i]...)
			line = line[i+2:]
			j := strings.Index(line, "]]")
			colon := strings.IndexByte(line, ':')
			if j < 0 || colon < 0 || colon > j {
				t.Fatalf("%s: bad markup near %q", name, line)
			}
			kind, val := line[:colon], line[colon+1:j]
			sp := span{kind: strings.TrimPrefix(kind, "-"), s: len(cur.text), e: len(cur.text) + len(val)}
			if strings.HasPrefix(kind, "-") {
				cur.near = append(cur.near, sp)
			} else {
				if _, err := detect.ParseKind(kind); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				cur.want = append(cur.want, sp)
			}
			cur.text = append(cur.text, val...)
			line = line[j+2:]
		}
	}
	return docs
}

// corpusNow is "today" for the corpus, so that it does not age.
var corpusNow = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func scanDoc(t testing.TB, d corpusDoc) []Finding {
	kind := Text
	switch d.format {
	case "csv":
		kind = CSV
	case "md":
		kind = Markdown
	case "json":
		kind = JSON
	}
	rep, err := ScanWith(bytes.NewReader(d.text), kind, Options{Now: corpusNow})
	if err != nil {
		t.Fatalf("%s %s doc: %v", d.source, d.format, err)
	}
	return rep.Findings
}

func TestCorpusPrecisionRecall(t *testing.T) {
	docs := append(parseCorpus(t, "corpus.txt"), parseCorpus(t, "tricky.txt")...)
	type score struct{ tp, fp, fn int }
	scores := map[string]*score{}
	for _, k := range detect.Kinds {
		scores[k.String()] = &score{}
	}
	positives, nearMisses := 0, 0
	var failures []string
	for _, d := range docs {
		positives += len(d.want)
		nearMisses += len(d.near)
		got := scanDoc(t, d)
		matched := make([]bool, len(got))
		for _, w := range d.want {
			found := false
			for i, g := range got {
				if g.Kind.String() == w.kind && int(g.Start) == w.s && int(g.End) == w.e {
					matched[i], found = true, true
					break
				}
			}
			if found {
				scores[w.kind].tp++
			} else {
				scores[w.kind].fn++
				failures = append(failures, fmt.Sprintf("missed %s %q in %s %s doc", w.kind, d.text[w.s:w.e], d.source, d.format))
			}
		}
		for i, g := range got {
			if matched[i] {
				continue
			}
			scores[g.Kind.String()].fp++
			what := "outside any labelled value"
			for _, n := range d.near {
				if int(g.Start) < n.e && int(g.End) > n.s {
					what = fmt.Sprintf("in near-miss %s %q", n.kind, d.text[n.s:n.e])
				}
			}
			for _, w := range d.want {
				if int(g.Start) < w.e && int(g.End) > w.s {
					what = fmt.Sprintf("overlapping %s %q", w.kind, d.text[w.s:w.e])
				}
			}
			failures = append(failures, fmt.Sprintf("false %s %q (%.2f) %s, %s %s doc", g.Kind, d.text[g.Start:g.End], g.Confidence, what, d.source, d.format))
		}
	}
	if positives < 300 || nearMisses < 300 {
		t.Errorf("corpus has %d positives and %d near-misses; want at least 300 of each", positives, nearMisses)
	}
	var tbl strings.Builder
	fmt.Fprintf(&tbl, "corpus: %d documents, %d positives, %d near-misses\n", len(docs), positives, nearMisses)
	fmt.Fprintf(&tbl, "%-20s %5s %4s %4s %9s %7s\n", "kind", "tp", "fp", "fn", "precision", "recall")
	for _, k := range detect.Kinds {
		s := scores[k.String()]
		p, r := ratio(s.tp, s.tp+s.fp), ratio(s.tp, s.tp+s.fn)
		fmt.Fprintf(&tbl, "%-20s %5d %4d %4d %9.4f %7.4f\n", k, s.tp, s.fp, s.fn, p, r)
		if p < 0.99 || r < 0.99 {
			t.Errorf("%s: precision %.4f, recall %.4f; want both ≥ 0.99", k, p, r)
		}
		if s.tp == 0 {
			t.Errorf("%s: no positives in the corpus", k)
		}
	}
	t.Log("\n" + tbl.String())
	for i, f := range failures {
		if i == 40 {
			t.Logf("… and %d more", len(failures)-i)
			break
		}
		t.Log(f)
	}
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}
