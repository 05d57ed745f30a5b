package redact

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"

	"github.com/valv-vault/valv/store/redact/detect"
)

// CSV is redacted field by field, so that a value never runs into the next
// field and a field's column name ("telefon", "personnummer") tells the
// detectors what a bare number is. The output is written by encoding/csv
// with the input's delimiter and line ending: it stays CSV, quoting only
// where needed.

// csvDelimiter guesses the delimiter from the first line: the most frequent
// of ; , tab and | outside quotes (',' when there are none).
func csvDelimiter(b []byte) rune {
	counts := map[byte]int{}
	quoted := false
	for _, c := range b {
		if c == '"' {
			quoted = !quoted
			continue
		}
		if quoted {
			continue
		}
		if c == '\n' {
			break
		}
		if c == ';' || c == ',' || c == '\t' || c == '|' {
			counts[c]++
		}
	}
	best, n := byte(','), 0
	for _, c := range []byte{',', ';', '\t', '|'} {
		if counts[c] > n {
			best, n = c, counts[c]
		}
	}
	return rune(best)
}

// csvDoc walks the records of a CSV document.
type csvDoc struct {
	data       []byte
	r          *csv.Reader
	lineStarts []int
	header     []string
}

func newCSVDoc(data []byte) *csvDoc {
	body := bytes.TrimPrefix(data, bom)
	r := csv.NewReader(bytes.NewReader(body))
	r.Comma = csvDelimiter(body)
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	ls := []int{0}
	for i, c := range body {
		if c == '\n' {
			ls = append(ls, i+1)
		}
	}
	return &csvDoc{data: body, r: r, lineStarts: ls}
}

// offset returns the byte offset (in the body, without BOM) of byte i of
// the value of field f of the record last read.
func (d *csvDoc) offset(f, i int) int {
	line, col := d.r.FieldPos(f)
	at := d.lineStarts[line-1] + col - 1
	if at >= len(d.data) || d.data[at] != '"' {
		return at + i
	}
	// Quoted: walk the raw field, where "" stands for one quote.
	p := at + 1
	for n := 0; n < i && p < len(d.data); n++ {
		if d.data[p] == '"' && p+1 < len(d.data) && d.data[p+1] == '"' {
			p++
		}
		p++
	}
	return p
}

// each calls fn with every record, its 1-based number and the column names.
func (d *csvDoc) each(fn func(rec []string, n int) error) error {
	for n := 1; ; n++ {
		rec, err := d.r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return fmt.Errorf("redact: the CSV cannot be read at line %d: %v; if the file is not CSV, redact it as text", pe.Line, pe.Err)
			}
			return fmt.Errorf("redact: reading CSV: %w", err)
		}
		if n == 1 {
			d.header = append([]string(nil), rec...)
		}
		if err := fn(rec, n); err != nil {
			return err
		}
	}
}

func (d *csvDoc) column(i int) string {
	if i < len(d.header) {
		return d.header[i]
	}
	return ""
}

func scanCSV(data []byte, opts *Options) ([]Finding, error) {
	var out []Finding
	_, err := csvFields(data, opts, func(rec []string, _ int, fi int, ms []detect.Match, d *csvDoc) {
		out = append(out, csvFindings(d, rec[fi], fi, ms, int64(len(data)-len(d.data)))...)
	})
	return out, err
}

func csvFindings(d *csvDoc, field string, fi int, ms []detect.Match, base int64) []Finding {
	fs := findings([]byte(field), ms, 0, d.column(fi))
	line, _ := d.r.FieldPos(fi)
	for i, m := range ms {
		fs[i].Start = base + int64(d.offset(fi, m.Start))
		fs[i].End = base + int64(d.offset(fi, m.End))
		fs[i].Line = line + int(fs[i].Line) - 1
	}
	return fs
}

// csvFields runs the detectors over every field and calls fn for each
// field with matches.
func csvFields(data []byte, opts *Options, fn func(rec []string, n, field int, ms []detect.Match, d *csvDoc)) (*csvDoc, error) {
	d := newCSVDoc(data)
	det := opts.detector()
	var ms []detect.Match
	err := d.each(func(rec []string, n int) error {
		for i, f := range rec {
			hint := ""
			if n > 1 {
				hint = d.column(i)
			}
			ms = opts.find(det, ms[:0], []byte(f), hint)
			if len(ms) > 0 {
				fn(rec, n, i, ms, d)
			}
		}
		return nil
	})
	return d, err
}

func redactCSV(data []byte, w io.Writer, opts *Options) (Report, error) {
	var rep Report
	var buf bytes.Buffer
	if bytes.HasPrefix(data, bom) {
		buf.Write(bom)
	}
	base := int64(0)
	if bytes.HasPrefix(data, bom) {
		base = int64(len(bom))
	}
	d := newCSVDoc(data)
	cw := csv.NewWriter(&buf)
	cw.Comma = d.r.Comma
	cw.UseCRLF = newline(d.data) == "\r\n"
	det := opts.detector()
	var ms []detect.Match
	labelled := false
	err := d.each(func(rec []string, n int) error {
		if !labelled && opts.CustomerCode != "" {
			// A first record as wide as the header, so that readers
			// that want equal widths still read the file.
			first := make([]string, max(len(rec), 1))
			first[0] = label(opts.CustomerCode)
			if err := cw.Write(first); err != nil {
				return err
			}
			labelled = true
		}
		for i, f := range rec {
			hint := ""
			if n > 1 {
				hint = d.column(i)
			}
			ms = opts.find(det, ms[:0], []byte(f), hint)
			if len(ms) == 0 {
				continue
			}
			rep.Findings = append(rep.Findings, csvFindings(d, f, i, ms, base)...)
			rec[i] = string(replace(nil, []byte(f), ms))
		}
		return cw.Write(rec)
	})
	if err != nil {
		return rep, err
	}
	if !labelled && opts.CustomerCode != "" {
		cw.Write([]string{label(opts.CustomerCode)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return rep, fmt.Errorf("redact: writing CSV: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return rep, fmt.Errorf("redact: writing output: %w", err)
	}
	return rep, nil
}
