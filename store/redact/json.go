package redact

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/valv-vault/valv/store/redact/detect"
)

// JSON is redacted token by token: every string (keys too) is decoded,
// searched with the nearest key as context, and re-encoded if a value was
// replaced; a number that holds a value ("pnr": 198503121234) becomes the
// label as a string. Everything else is copied byte for byte, so the output
// is valid JSON whenever the input is.

// jsonToken is a string or number literal in the input.
type jsonToken struct {
	s, e  int  // raw bytes data[s:e], quotes included
	isStr bool // string (else number)
	isKey bool
}

// jsonWalk calls fn for every string and number literal in data, which must
// be valid JSON, with the key that names it.
func jsonWalk(data []byte, fn func(t jsonToken, key string) error) error {
	var keys []string // the key of each open object
	var lastKey string
	for i := 0; i < len(data); {
		switch c := data[i]; {
		case c == '"':
			e := i + 1
			for data[e] != '"' {
				if data[e] == '\\' {
					e++
				}
				e++
			}
			e++
			j := e
			for j < len(data) && (data[j] == ' ' || data[j] == '\t' || data[j] == '\n' || data[j] == '\r') {
				j++
			}
			t := jsonToken{s: i, e: e, isStr: true, isKey: j < len(data) && data[j] == ':'}
			if err := fn(t, lastKey); err != nil {
				return err
			}
			if t.isKey {
				dec, _ := jsonString(data[i:e])
				lastKey = string(dec)
			}
			i = e
		case c == '-' || isDigitByte(c):
			e := i + 1
			for e < len(data) && (isDigitByte(data[e]) || data[e] == '.' || data[e] == 'e' || data[e] == 'E' || data[e] == '+' || data[e] == '-') {
				e++
			}
			if err := fn(jsonToken{s: i, e: e}, lastKey); err != nil {
				return err
			}
			i = e
		case c == '{':
			keys = append(keys, lastKey)
			i++
		case c == '}':
			if n := len(keys); n > 0 {
				lastKey = keys[n-1]
				keys = keys[:n-1]
			}
			i++
		default:
			i++
		}
	}
	return nil
}

func isDigitByte(c byte) bool { return c >= '0' && c <= '9' }

// jsonString decodes a JSON string literal (quotes included) and returns,
// for each decoded byte, its offset in the literal (nil if there were no
// escapes: then decoded byte i is at i+1).
func jsonString(lit []byte) ([]byte, []int) {
	body := lit[1 : len(lit)-1]
	if bytes.IndexByte(body, '\\') < 0 {
		return body, nil
	}
	out := make([]byte, 0, len(body))
	pos := make([]int, 0, len(body)+1)
	for i := 0; i < len(body); {
		c := body[i]
		if c != '\\' {
			out = append(out, c)
			pos = append(pos, i+1)
			i++
			continue
		}
		start := i + 1
		if i+1 >= len(body) {
			break
		}
		esc := body[i+1]
		i += 2
		var r rune
		switch esc {
		case 'b':
			r = '\b'
		case 'f':
			r = '\f'
		case 'n':
			r = '\n'
		case 'r':
			r = '\r'
		case 't':
			r = '\t'
		case 'u':
			r = hex4(body[i:])
			i += 4
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if i+6 <= len(body) && body[i] == '\\' && body[i+1] == 'u' {
					r2 = hex4(body[i+2:])
				}
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					r = d
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
		default: // " \ /
			r = rune(esc)
		}
		n := len(out)
		out = utf8.AppendRune(out, r)
		for range len(out) - n {
			pos = append(pos, start)
		}
	}
	pos = append(pos, len(lit)-1)
	return out, pos
}

func hex4(b []byte) rune {
	if len(b) < 4 {
		return utf8.RuneError
	}
	var r rune
	for _, c := range b[:4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return utf8.RuneError
		}
	}
	return r
}

func checkJSON(data []byte) error {
	if !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v)
		return fmt.Errorf("redact: the input is not valid JSON (%v); if it is not JSON, redact it as text", err)
	}
	return nil
}

// jsonMatches runs the detectors over one literal. For a string it returns
// the decoded value and the offset map from jsonString.
func jsonMatches(opts *Options, det *detect.Detector, dst []detect.Match, lit []byte, t jsonToken, key string) ([]detect.Match, []byte, []int) {
	if !t.isStr {
		return opts.find(det, dst, lit, key), lit, nil
	}
	val, pos := jsonString(lit)
	return opts.find(det, dst, val, key), val, pos
}

// lineCounter returns the 1-based line of increasing offsets in data.
type lineCounter struct {
	data     []byte
	at, line int
}

func (c *lineCounter) lineOf(off int) int {
	if c.line == 0 {
		c.line = 1
	}
	c.line += bytes.Count(c.data[c.at:off], []byte{'\n'})
	c.at = off
	return c.line
}

func jsonFindings(lines *lineCounter, t jsonToken, key string, val []byte, pos []int, ms []detect.Match) []Finding {
	fs := findings(val, ms, 0, key)
	line := lines.lineOf(t.s)
	for i, m := range ms {
		s, e := m.Start, m.End
		if t.isStr {
			if pos == nil {
				s, e = s+1, e+1
			} else {
				s, e = pos[s], pos[e]
			}
		}
		fs[i].Start, fs[i].End = int64(t.s+s), int64(t.s+e)
		fs[i].Line = line
	}
	return fs
}

func scanJSON(data []byte, opts *Options) ([]Finding, error) {
	// A byte order mark is not JSON; it is dropped.
	base := len(data)
	data = bytes.TrimPrefix(data, bom)
	base -= len(data)
	if err := checkJSON(data); err != nil {
		return nil, err
	}
	det := opts.detector()
	var out []Finding
	var ms []detect.Match
	lines := &lineCounter{data: data}
	err := jsonWalk(data, func(t jsonToken, key string) error {
		var val []byte
		var pos []int
		ms, val, pos = jsonMatches(opts, det, ms[:0], data[t.s:t.e], t, key)
		if len(ms) > 0 {
			out = append(out, shift(jsonFindings(lines, t, key, val, pos, ms), base)...)
		}
		return nil
	})
	return out, err
}

func redactJSON(data []byte, w io.Writer, opts *Options) (Report, error) {
	var rep Report
	body := bytes.TrimPrefix(data, bom)
	base := len(data) - len(body)
	if err := checkJSON(body); err != nil {
		return rep, err
	}
	det := opts.detector()
	out := make([]byte, 0, len(data)+256)
	if code := opts.CustomerCode; code != "" {
		// Wrap the document: {"valv_archive_copy": {...}, "document": …}.
		hdr, _ := json.Marshal(map[string]string{"label": label(code), "customer": code})
		out = append(out, `{"valv_archive_copy":`...)
		out = append(out, hdr...)
		out = append(out, `,"document":`...)
	}
	at := 0
	var ms []detect.Match
	lines := &lineCounter{data: body}
	err := jsonWalk(body, func(t jsonToken, key string) error {
		lit := body[t.s:t.e]
		var val []byte
		var pos []int
		ms, val, pos = jsonMatches(opts, det, ms[:0], lit, t, key)
		if len(ms) == 0 {
			return nil
		}
		rep.Findings = append(rep.Findings, shift(jsonFindings(lines, t, key, val, pos, ms), base)...)
		// A number cannot be partly replaced: it becomes a string.
		enc, err := marshalString(string(replace(nil, val, ms)))
		if err != nil {
			return err
		}
		out = append(out, body[at:t.s]...)
		out = append(out, enc...)
		at = t.e
		return nil
	})
	if err != nil {
		return rep, err
	}
	out = append(out, body[at:]...)
	if opts.CustomerCode != "" {
		out = append(out, '}')
	}
	if _, err := w.Write(out); err != nil {
		return rep, fmt.Errorf("redact: writing output: %w", err)
	}
	return rep, nil
}

// marshalString encodes s as a JSON string without HTML escaping.
func marshalString(s string) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return nil, fmt.Errorf("redact: encoding JSON: %w", err)
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

func shift(fs []Finding, by int) []Finding {
	for i := range fs {
		fs[i].Start += int64(by)
		fs[i].End += int64(by)
	}
	return fs
}
