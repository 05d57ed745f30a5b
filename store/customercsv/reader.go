package customercsv

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/transform"

	"github.com/valv-vault/valv/store/customer"
)

// Limits of a file read.
const (
	DefaultMaxBytes = 512 << 20 // bytes of a file
	DefaultMaxRows  = 1_000_000 // data rows of a file
	MaxRecordBytes  = 1 << 20   // bytes of one record (a row, with its quoted line breaks)
	MaxFieldBytes   = 256 << 10 // bytes of one cell
	MaxColumns      = 64        // columns of the header
	maxHeaderLine   = 64 << 10  // bytes of the header line, for finding the delimiter
	readBuffer      = 64 << 10
)

// Options tune a Reader. The zero value reads UTF-8 with the default
// limits.
type Options struct {
	// Windows1252 reads the file as Windows-1252 (what Swedish Excel's
	// "CSV (semikolonavgränsad)" writes) instead of UTF-8.
	Windows1252 bool
	MaxBytes    int64 // 0 means DefaultMaxBytes
	MaxRows     int   // 0 means DefaultMaxRows
}

var (
	// ErrNotUTF8 is returned (wrapped, with the line and column) for a
	// file that is not UTF-8.
	ErrNotUTF8 = errors.New(`the text is not UTF-8; the file is probably in Windows-1252 (Excel's "CSV (semikolonavgränsad)"): save it as "CSV UTF-8", or read it as Windows-1252`)

	// ErrTooLarge is returned (wrapped) when a file exceeds a limit.
	ErrTooLarge = errors.New("the file is too large")

	errRecordTooLong = errors.New("record too long")
)

// A Row is one customer read from a file.
type Row struct {
	Line     int // the physical line the record starts on (the header is line 1)
	Customer customer.Customer
}

// A RowError is a row that could not be read. The rest of the file is
// still read: Read returns it and the next call goes on.
type RowError struct {
	Line   int
	Column string // "column 3 (C)" or empty for the whole row
	Reason string
}

func (e *RowError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
	}
	return fmt.Sprintf("line %d, %s: %s", e.Line, e.Column, e.Reason)
}

// A Reader reads customers from a CSV file.
type Reader struct {
	lim   *limitReader
	cr    *csv.Reader
	delim rune
	cols  []column
	rows  int
	max   int
	last  int // line of the last record read
}

// NewReader reads the header of a customer file and returns a Reader for
// its rows. Errors in the header (unknown or repeated columns, no name
// column, bad encoding) stop here.
func NewReader(r io.Reader, opt Options) (*Reader, error) {
	if opt.MaxBytes <= 0 {
		opt.MaxBytes = DefaultMaxBytes
	}
	if opt.MaxRows <= 0 {
		opt.MaxRows = DefaultMaxRows
	}
	lim := &limitReader{r: r, left: opt.MaxBytes}
	lim.startRecord()
	var src io.Reader = lim
	if opt.Windows1252 {
		src = transform.NewReader(lim, charmap.Windows1252.NewDecoder())
	}
	br := bufio.NewReaderSize(src, readBuffer)
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
	} else if bom, _ := br.Peek(len("ï»¿")); opt.Windows1252 && string(bom) == "ï»¿" {
		return nil, errors.New("line 1: the file starts with a UTF-8 byte order mark: it is UTF-8, read it as UTF-8")
	}
	delim, err := findDelimiter(br)
	if err != nil {
		return nil, err
	}
	cr := csv.NewReader(br) // uses br itself: it is large enough
	cr.Comma = delim
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	rd := &Reader{lim: lim, cr: cr, delim: delim, max: opt.MaxRows}
	header, err := rd.record()
	if err == io.EOF {
		return nil, errors.New("the file is empty; its first line must name the columns (code, name, personnummer, …)")
	}
	if err != nil {
		return nil, err
	}
	if err := rd.checkUTF8(header); err != nil {
		return nil, err
	}
	if rd.cols, err = mapHeader(header); err != nil {
		return nil, err
	}
	return rd, nil
}

// Delimiter returns the delimiter found in the header line.
func (r *Reader) Delimiter() rune { return r.delim }

// findDelimiter looks at the header line, outside quotes, for ',' and ';'.
func findDelimiter(br *bufio.Reader) (rune, error) {
	head, err := br.Peek(maxHeaderLine)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return 0, wrapRead(err, 0)
	}
	quoted, commas, semis, ended := false, 0, 0, false
	for _, b := range head {
		switch {
		case b == '"':
			quoted = !quoted
		case quoted:
		case b == ',':
			commas++
		case b == ';':
			semis++
		case b == '\n':
			ended = true
		}
		if ended {
			break
		}
	}
	if !ended && len(head) == maxHeaderLine {
		return 0, fmt.Errorf("line 1: the header line is longer than %d KiB; is this a customer CSV file?", maxHeaderLine>>10)
	}
	if semis > commas {
		return ';', nil
	}
	return ',', nil
}

// mapHeader maps the header's cells to columns.
func mapHeader(header []string) ([]column, error) {
	if len(header) > MaxColumns {
		return nil, fmt.Errorf("line 1: %d columns; at most %d are read", len(header), MaxColumns)
	}
	cols := make([]column, len(header))
	seen := make(map[column]int)
	var unknown, repeated []string
	for i, h := range header {
		key := headerKey(strings.TrimPrefix(h, "\ufeff"))
		if key == "" {
			continue // an unnamed column: its cells must be empty
		}
		c, ok := byKey[key]
		if !ok {
			unknown = append(unknown, columnName(i))
			continue
		}
		if j, dup := seen[c]; dup && !columns[c].list {
			repeated = append(repeated, fmt.Sprintf("%s repeats %s (%s)", columnName(i), columnName(j), columns[c].header))
		} else if !dup {
			seen[c] = i
		}
		cols[i] = c
	}
	var msgs []string
	if unknown != nil {
		msgs = append(msgs, fmt.Sprintf("%s: not a customer field (the known columns are %s; is the first line a header?)",
			strings.Join(unknown, ", "), knownList()))
	}
	if repeated != nil {
		msgs = append(msgs, strings.Join(repeated, "; "))
	}
	if _, ok := seen[colName]; !ok && unknown == nil {
		msgs = append(msgs, "there is no name (namn) column: every customer needs a name (a codes-only export cannot be imported)")
	}
	if msgs != nil {
		return nil, errors.New("line 1: " + strings.Join(msgs, "; "))
	}
	return cols, nil
}

func knownList() string {
	var names []string
	for c := colCode; c <= colUpdated; c++ {
		info := columns[c]
		names = append(names, info.header)
	}
	return strings.Join(names, ", ") + " (or in Swedish)"
}

// record reads the next record. Errors are fatal.
func (r *Reader) record() ([]string, error) {
	r.lim.startRecord()
	rec, err := r.cr.Read()
	if err == nil {
		r.last, _ = r.cr.FieldPos(0)
		return rec, nil
	}
	if err == io.EOF {
		return nil, err
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) && pe.Err != nil && !errors.Is(pe.Err, errRecordTooLong) && !errors.Is(pe.Err, ErrTooLarge) {
		reason := "the record is malformed"
		switch {
		case errors.Is(pe.Err, csv.ErrQuote):
			reason = `a quoted field has a stray '"' or is never closed (a '"' inside a quoted field is written twice: "")`
		case errors.Is(pe.Err, csv.ErrBareQuote):
			reason = `a '"' appears inside an unquoted field (quote the whole field and double the '"')`
		}
		if pe.StartLine != pe.Line {
			return nil, fmt.Errorf("line %d (in the record starting on line %d): %s", pe.Line, pe.StartLine, reason)
		}
		return nil, fmt.Errorf("line %d: %s", pe.Line, reason)
	}
	return nil, wrapRead(err, r.last)
}

// wrapRead explains a read error of the record after line (0: the
// header).
func wrapRead(err error, line int) error {
	where := fmt.Sprintf("the record after line %d", line)
	if line == 0 {
		where = "the header"
	}
	switch {
	case errors.Is(err, errRecordTooLong):
		return fmt.Errorf("%w: %s is longer than %d MiB (a quote that is never closed?)", ErrTooLarge, where, MaxRecordBytes>>20)
	case errors.Is(err, ErrTooLarge):
		return fmt.Errorf("%w: it is longer than the limit, in %s or later", ErrTooLarge, where)
	}
	return fmt.Errorf("reading %s: %w", where, err)
}

// checkUTF8 rejects a record with text that is not UTF-8.
func (r *Reader) checkUTF8(rec []string) error {
	for i, f := range rec {
		if !utf8.ValidString(f) {
			line, _ := r.cr.FieldPos(i)
			return fmt.Errorf("line %d, %s: %w", line, columnName(i), ErrNotUTF8)
		}
	}
	return nil
}

// Read returns the next customer. At the end of the file it returns
// io.EOF. A row that cannot be read gives a *RowError, after which
// reading goes on; any other error is fatal. Values are as written in
// the file: customer.Customer.Normalize checks them.
func (r *Reader) Read() (Row, error) {
	for {
		rec, err := r.record()
		if err != nil {
			return Row{}, err
		}
		r.rows++
		if r.rows > r.max {
			return Row{}, fmt.Errorf("%w: more than %d rows, at line %d", ErrTooLarge, r.max, r.last)
		}
		if err := r.checkUTF8(rec); err != nil {
			return Row{}, err
		}
		blank := true
		for _, f := range rec {
			if strings.TrimSpace(f) != "" {
				blank = false
				break
			}
		}
		if blank {
			continue
		}
		return r.row(rec)
	}
}

// row turns a record into a customer.
func (r *Reader) row(rec []string) (Row, error) {
	line := r.last
	if len(rec) < len(r.cols) {
		return Row{}, &RowError{Line: line, Reason: fmt.Sprintf("%d cells, the header has %d (every row needs a cell per column, empty or not)", len(rec), len(r.cols))}
	}
	for i := len(r.cols); i < len(rec); i++ {
		if strings.TrimSpace(rec[i]) != "" {
			return Row{}, &RowError{Line: line, Column: columnName(i), Reason: fmt.Sprintf("a value beyond the header's %d columns", len(r.cols))}
		}
	}
	row := Row{Line: line}
	c := &row.Customer
	for i, col := range r.cols {
		v := rec[i]
		if len(v) > MaxFieldBytes {
			return Row{}, &RowError{Line: line, Column: columnName(i), Reason: fmt.Sprintf("longer than %d KiB", MaxFieldBytes>>10)}
		}
		v = unescapeCell(v)
		if col == colNone {
			if strings.TrimSpace(v) != "" {
				return Row{}, &RowError{Line: line, Column: columnName(i), Reason: "a value in a column without a name in the header"}
			}
			continue
		}
		switch col {
		case colCode:
			c.Code = customer.Code(v)
		case colName:
			c.Name = v
		case colPersonalNumber:
			c.PersonalNumber = v
		case colOrgNumber:
			c.OrgNumber = v
		case colAddress:
			c.Addresses = append(c.Addresses, splitAddresses(v)...)
		case colPhone:
			c.Phone = v
		case colEmail:
			c.Email = v
		case colCard:
			c.Cards = append(c.Cards, splitLines(v)...)
		case colAccount:
			c.Accounts = append(c.Accounts, splitLines(v)...)
		case colNotes:
			c.Notes = v
		case colTags:
			c.Tags = append(c.Tags, splitLines(v)...)
		case colRetainUntil:
			c.RetainUntil = v
		}
	}
	return row, nil
}

// splitLines splits a list cell into its non-empty lines.
func splitLines(v string) []string {
	var out []string
	for l := range strings.SplitSeq(v, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// splitAddresses splits an address cell at its empty lines.
func splitAddresses(v string) []string {
	var out []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.Join(cur, "\n"))
			cur = cur[:0]
		}
	}
	for l := range strings.SplitSeq(v, "\n") {
		if strings.TrimSpace(l) == "" {
			flush()
			continue
		}
		cur = append(cur, strings.TrimRight(l, " \t\r"))
	}
	flush()
	return out
}

// ReadAll reads every row of a file: the customers, and the rows that
// could not be read. err is a fatal error (nothing should be imported).
func ReadAll(r io.Reader, opt Options) (rows []Row, bad []*RowError, err error) {
	rd, err := NewReader(r, opt)
	if err != nil {
		return nil, nil, err
	}
	for {
		row, err := rd.Read()
		var re *RowError
		switch {
		case err == io.EOF:
			return rows, bad, nil
		case errors.As(err, &re):
			bad = append(bad, re)
		case err != nil:
			return nil, nil, err
		default:
			rows = append(rows, row)
		}
	}
}

// limitReader bounds the bytes of a file and of each record.
type limitReader struct {
	r      io.Reader
	left   int64 // bytes of the file still allowed
	record int64 // bytes still allowed before the current record ends
}

// startRecord allows MaxRecordBytes more, plus what the buffer above may
// already hold.
func (l *limitReader) startRecord() { l.record = MaxRecordBytes + 2*readBuffer }

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// One byte more tells a file of exactly the limit from a
		// larger one.
		var b [1]byte
		if n, _ := io.ReadFull(l.r, b[:]); n == 0 {
			return 0, io.EOF
		}
		return 0, ErrTooLarge
	}
	if l.record <= 0 {
		return 0, errRecordTooLong
	}
	p = p[:min(int64(len(p)), l.left, l.record)]
	n, err := l.r.Read(p)
	l.left -= int64(n)
	l.record -= int64(n)
	return n, err
}
