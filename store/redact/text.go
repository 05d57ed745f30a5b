package redact

import (
	"bytes"
	"fmt"
	"io"

	"github.com/valv-vault/valv/store/redact/detect"
)

// scanText finds the values in plain text or Markdown.
func scanText(data []byte, opts *Options) []Finding {
	ms := opts.find(opts.detector(), nil, data, "")
	return findings(data, ms, 0, "")
}

// findings turns matches in b into findings; b starts at offset base of the
// input.
func findings(b []byte, ms []detect.Match, base int64, field string) []Finding {
	out := make([]Finding, 0, len(ms))
	line, at := 1, 0
	for _, m := range ms {
		line += bytes.Count(b[at:m.Start], []byte{'\n'})
		at = m.Start
		out = append(out, Finding{
			Kind:       m.Kind,
			Masked:     detect.Mask(m.Kind, b[m.Start:m.End]),
			Confidence: m.Confidence,
			Start:      base + int64(m.Start),
			End:        base + int64(m.End),
			Line:       line,
			Field:      field,
		})
	}
	return out
}

// replace appends b to dst with every match replaced by its label.
func replace(dst, b []byte, ms []detect.Match) []byte {
	at := 0
	for _, m := range ms {
		dst = append(dst, b[at:m.Start]...)
		dst = append(dst, detect.Label(m.Kind, b[m.Start:m.End])...)
		at = m.End
	}
	return append(dst, b[at:]...)
}

// RedactText returns b with every value found replaced by its label: the
// text redactor without file handling or labelling.
func RedactText(b []byte, opts Options) ([]byte, []detect.Match) {
	ms := opts.find(opts.detector(), nil, b, "")
	return replace(make([]byte, 0, len(b)), b, ms), ms
}

// newline returns the line ending b uses.
func newline(b []byte) string {
	if i := bytes.IndexByte(b, '\n'); i > 0 && b[i-1] == '\r' {
		return "\r\n"
	}
	return "\n"
}

func redactText(data []byte, w io.Writer, opts *Options, markdown bool) (Report, error) {
	ms := opts.find(opts.detector(), nil, data, "")
	rep := Report{Findings: findings(data, ms, 0, "")}
	out := make([]byte, 0, len(data)+256)
	body := data
	if bytes.HasPrefix(body, bom) {
		out = append(out, bom...)
		body = body[len(bom):]
		for i := range ms {
			ms[i].Start -= len(bom)
			ms[i].End -= len(bom)
		}
	}
	if code := opts.CustomerCode; code != "" {
		nl := newline(body)
		if markdown {
			// After YAML front matter, which must stay first.
			if n := frontMatter(body); n > 0 {
				// Matches inside the front matter are replaced there.
				k := 0
				for k < len(ms) && ms[k].Start < n {
					k++
				}
				out = replace(out, body[:n], ms[:k])
				ms = ms[k:]
				for i := range ms {
					ms[i].Start -= n
					ms[i].End -= n
				}
				body = body[n:]
			}
			out = fmt.Appendf(out, "*%s*%s%s", label(code), nl, nl)
		} else {
			out = fmt.Appendf(out, "%s%s%s", label(code), nl, nl)
		}
	}
	out = replace(out, body, ms)
	if _, err := w.Write(out); err != nil {
		return rep, fmt.Errorf("redact: writing output: %w", err)
	}
	return rep, nil
}

// frontMatter returns the length of a Markdown document's YAML front
// matter ("---" lines around it), or 0.
func frontMatter(b []byte) int {
	nl := newline(b)
	open := "---" + nl
	if !bytes.HasPrefix(b, []byte(open)) {
		return 0
	}
	rest := b[len(open):]
	for off := 0; off < len(rest); {
		i := bytes.IndexByte(rest[off:], '\n')
		if i < 0 {
			return 0
		}
		line := bytes.TrimRight(rest[off:off+i], "\r")
		off += i + 1
		if string(line) == "---" || string(line) == "..." {
			return len(open) + off
		}
	}
	return 0
}
