package customercsv

import (
	"encoding/csv"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/valv-vault/valv/store/customer"
)

// WriterOptions choose what a Writer writes.
type WriterOptions struct {
	// Names adds the name and contact columns: name, personnummer,
	// organisationsnummer, address, phone, email, card, account, notes,
	// tags. Without it only code, retain until, compartment, version and
	// updated are written: nothing that names a customer.
	Names bool
	// Excel writes ';' between cells and a UTF-8 byte order mark, which
	// Swedish Excel needs to open the file in columns with å, ä and ö.
	Excel bool
}

// An ExportRow is one customer as exported.
type ExportRow struct {
	Customer    customer.Customer // only Code and RetainUntil are written without Names
	Compartment string            // the compartment id
	Version     uint64
	Updated     time.Time // when this version was written
}

// A Writer writes customers as CSV. The header is written before the
// first row (or by Flush, for a file without rows).
type Writer struct {
	w      io.Writer
	cw     *csv.Writer
	opt    WriterOptions
	cols   []column
	header bool
	cells  []string
	err    error
}

// NewWriter returns a Writer to w.
func NewWriter(w io.Writer, opt WriterOptions) *Writer {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if opt.Excel {
		cw.Comma = ';'
	}
	cols := []column{colCode, colRetainUntil, colCompartment, colVersion, colUpdated}
	if opt.Names {
		cols = []column{colCode, colName, colPersonalNumber, colOrgNumber, colAddress, colPhone, colEmail,
			colCard, colAccount, colNotes, colTags, colRetainUntil, colCompartment, colVersion, colUpdated}
	}
	return &Writer{w: w, cw: cw, opt: opt, cols: cols}
}

func (w *Writer) writeHeader() error {
	if w.header || w.err != nil {
		return w.err
	}
	w.header = true
	if w.opt.Excel {
		if _, w.err = io.WriteString(w.w, "\ufeff"); w.err != nil {
			return w.err
		}
	}
	h := make([]string, len(w.cols))
	for i, c := range w.cols {
		h[i] = columns[c].header
	}
	w.err = w.cw.Write(h)
	return w.err
}

// Write writes one customer.
func (w *Writer) Write(r ExportRow) error {
	if err := w.writeHeader(); err != nil {
		return err
	}
	c := &r.Customer
	w.cells = w.cells[:0]
	for _, col := range w.cols {
		var v string
		switch col {
		case colCode:
			v = string(c.Code)
		case colName:
			v = c.Name
		case colPersonalNumber:
			v = c.PersonalNumber
		case colOrgNumber:
			v = c.OrgNumber
		case colAddress:
			v = joinAddresses(c.Addresses)
		case colPhone:
			v = c.Phone
		case colEmail:
			v = c.Email
		case colCard:
			v = strings.Join(c.Cards, "\n")
		case colAccount:
			v = strings.Join(c.Accounts, "\n")
		case colNotes:
			v = c.Notes
		case colTags:
			v = strings.Join(c.Tags, "\n")
		case colRetainUntil:
			v = c.RetainUntil
		case colCompartment:
			v = r.Compartment
		case colVersion:
			v = strconv.FormatUint(r.Version, 10)
		case colUpdated:
			if !r.Updated.IsZero() {
				v = r.Updated.UTC().Format(time.RFC3339)
			}
		}
		w.cells = append(w.cells, escapeCell(v))
	}
	w.err = w.cw.Write(w.cells)
	return w.err
}

// Flush writes the header if no row was written, and any buffered data.
func (w *Writer) Flush() error {
	if err := w.writeHeader(); err != nil {
		return err
	}
	w.cw.Flush()
	return w.cw.Error()
}

var emptyLines = regexp.MustCompile(`\n[ \t]*(\n[ \t]*)+`)

// joinAddresses puts an empty line between addresses; an empty line inside
// an address becomes a single line break.
func joinAddresses(as []string) string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = emptyLines.ReplaceAllString(strings.TrimSpace(a), "\n")
	}
	return strings.Join(out, "\n\n")
}
