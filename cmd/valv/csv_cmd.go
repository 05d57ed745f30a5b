package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/valv-vault/valv/store"
	"github.com/valv-vault/valv/store/customercsv"
)

const importCSVUsage = `valv import-csv [--vault DIR] [--identity FILE | --card SERIAL] [--pin-stdin] [--compartment ID] [--encoding utf-8|windows-1252] FILE

Adds the customers of a CSV file (RFC 4180) to a compartment. FILE may be
"-" for standard input (not with --pin-stdin).

The file is UTF-8, with or without a byte order mark (Excel: "CSV UTF-8");
Excel's plain "CSV (semikolonavgränsad)" is Windows-1252: give
--encoding windows-1252. Cells are separated by ',' or ';' (found in the
first line). The first line names the columns, in English or Swedish, in
any case: code/kod, name/namn (required), personnummer,
organisationsnummer/orgnr, address/adress, phone/telefon, email/e-post,
card/kort, account/konto, notes/anteckningar, tags/taggar, retain
until/gallras. address, card, account and tags may be repeated; in one
cell put one card, account or tag per line, and an empty line between
addresses. compartment, version and updated (written by export-csv) are
ignored. An unknown or repeated column stops the import.

Every row is checked as "valv customer add" checks it. Rows with errors
are listed on standard error (line, field, reason; never the value) and
not imported; the valid rows are all added in one transaction (a crash
adds all of them or none). A row without a code gets a new one; a given
code must be valid and not in use. Standard output lists LINE<TAB>CODE for
each customer added. The import is logged (csv-import, with the number
added) beside an "add" entry per customer. The exit status is 1 if any
row was not imported.`

const exportCSVUsage = `valv export-csv [--vault DIR] [--identity FILE | --card SERIAL] [--pin-stdin] [--compartment ID] [--with-names [--reveal]] [--excel] [--force] OUT

Writes the customers of a compartment (default: of every compartment this
key opens) as CSV (RFC 4180, CRLF), one row per customer in code order, to
the file OUT, or to standard output with "-".

By default the file names no one: code, retain until, compartment,
version and updated (the time of the current version), enough to check
retention dates and what changed. --with-names adds name, personnummer,
organisationsnummer, address, phone, email, card, account, notes and
tags, with personnummer, card and account numbers masked as in "valv
customer show"; --reveal writes them in full (what "valv import-csv" needs
to copy customers into another vault). Each variant is logged in the
compartment's audit log (csv-export, csv-export-names, csv-export-reveal)
with the number of customers, before the first row is written.

Cells that a spreadsheet would run as a formula (starting with = + - @,
TAB or CR, such as a phone number +46…) are written with a leading
apostrophe; import-csv removes it. --excel writes ';' and a UTF-8 byte
order mark, so that Swedish Excel opens the file in columns.

OUT is written under a temporary name (mode 0600), synced and renamed; an
existing file is never replaced unless --force is given.`

// progressRows is the step of progress lines of imports and exports.
const progressRows = 10_000

// importCSVCommand runs "valv import-csv".
func importCSVCommand(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("valv import-csv", importCSVUsage, stderr)
	var vf vaultFlags
	vf.register(fs)
	comp := fs.String("compartment", "", "compartment `id` (needed if the key opens several)")
	encoding := fs.String("encoding", "utf-8", "the file's `encoding`: utf-8 or windows-1252")
	pos, err := parseArgs(fs, args, 1)
	if err != nil {
		return err
	}
	var opt customercsv.Options
	switch strings.ToLower(*encoding) {
	case "utf-8", "utf8":
	case "windows-1252", "cp1252":
		opt.Windows1252 = true
	default:
		fmt.Fprintln(stderr, "valv import-csv: --encoding is utf-8 or windows-1252")
		return errUsage
	}

	// Read the whole file before unlocking: a file that does not parse
	// needs no PIN.
	var in io.Reader = stdin
	name := "standard input"
	if pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			return err
		}
		defer f.Close()
		in, name = f, pos[0]
	} else if vf.card.pinStdin {
		return errors.New("import-csv: the file cannot come from standard input with --pin-stdin")
	}
	rd, err := customercsv.NewReader(in, opt)
	if err != nil {
		return csvError(name, err)
	}
	var rows []store.ImportRow
	var problems []lineProblem
	for {
		r, err := rd.Read()
		var re *customercsv.RowError
		if errors.As(err, &re) {
			problems = append(problems, lineProblem{re.Line, re.Error()})
			continue
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return csvError(name, err)
		}
		rows = append(rows, store.ImportRow{Line: r.Line, Customer: r.Customer})
		if n := len(rows) + len(problems); n%progressRows == 0 {
			fmt.Fprintf(stderr, "read %d rows\n", n)
		}
	}

	return withSession(&vf, func(s *store.Session) error {
		cid, err := findCompartment(s, *comp)
		if err != nil {
			return err
		}
		if len(rows) >= progressRows {
			fmt.Fprintf(stderr, "checking and adding %d customers in one transaction\n", len(rows))
		}
		res, err := s.ImportCustomers(cid, rows)
		if err != nil {
			return fmt.Errorf("nothing was imported: %w", err)
		}
		bw := bufio.NewWriter(stdout)
		for i, code := range res.Codes {
			if code != "" {
				fmt.Fprintf(bw, "%d\t%s\n", rows[i].Line, code)
			}
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		bad := len(problems) + len(res.Rejected) // a reader's error is one per row
		for _, r := range res.Rejected {
			for _, f := range r.Fields {
				problems = append(problems, lineProblem{r.Line, fmt.Sprintf("line %d: %s: %s", r.Line, f.Field, f.Message)})
			}
		}
		slices.SortStableFunc(problems, func(a, b lineProblem) int { return a.line - b.line })
		for _, p := range problems {
			fmt.Fprintln(stderr, p.text)
		}
		fmt.Fprintf(stderr, "added %d customers to compartment %s", res.Added, cid)
		if bad > 0 {
			fmt.Fprintf(stderr, "; %d rows were not imported (listed above)", bad)
		}
		fmt.Fprintln(stderr)
		if bad > 0 {
			return fmt.Errorf("%d rows of %s were not imported; correct them and import those rows again", bad, name)
		}
		return nil
	})
}

// A lineProblem is a message about one line of an imported file.
type lineProblem struct {
	line int
	text string
}

// csvError explains an error that stops an import.
func csvError(name string, err error) error {
	msg := fmt.Sprintf("%s: %v; nothing was imported", name, err)
	if errors.Is(err, customercsv.ErrNotUTF8) {
		msg += " (--encoding windows-1252 reads Excel's \"CSV (semikolonavgränsad)\")"
	}
	return errors.New(msg)
}

// exportCSVCommand runs "valv export-csv".
func exportCSVCommand(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("valv export-csv", exportCSVUsage, stderr)
	var vf vaultFlags
	vf.register(fs)
	comp := fs.String("compartment", "", "compartment `id` (default: every compartment this key opens)")
	names := fs.Bool("with-names", false, "add names and contact fields (numbers masked)")
	reveal := fs.Bool("reveal", false, "with --with-names: personnummer, card and account numbers in full")
	excel := fs.Bool("excel", false, "';' and a byte order mark, for Swedish Excel")
	force := fs.Bool("force", false, "replace OUT if it exists")
	pos, err := parseArgs(fs, args, 1)
	if err != nil {
		return err
	}
	if *reveal && !*names {
		fmt.Fprintln(stderr, "valv export-csv: --reveal needs --with-names")
		return errUsage
	}
	variant, what := store.ExportCodes, "codes only"
	switch {
	case *reveal:
		variant, what = store.ExportRevealed, "with names, numbers in full"
	case *names:
		variant, what = store.ExportMasked, "with names, numbers masked"
	}
	out := pos[0]
	if out != "-" && !*force {
		if _, err := os.Lstat(out); err == nil {
			return fmt.Errorf("%s exists; choose a new file name (or --force to replace it)", out)
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return withSession(&vf, func(s *store.Session) error {
		var ids []store.CompartmentID
		if *comp != "" {
			cid, err := findCompartment(s, *comp)
			if err != nil {
				return err
			}
			ids = append(ids, cid)
		} else {
			cs, err := s.Compartments()
			if err != nil {
				return err
			}
			for _, c := range cs {
				if c.Unlocked {
					ids = append(ids, c.ID)
				}
			}
			slices.SortFunc(ids, func(a, b store.CompartmentID) int { return strings.Compare(a.String(), b.String()) })
		}
		if len(ids) == 0 {
			return errors.New("this key opens no compartment")
		}
		write := func(w io.Writer) (int, error) {
			bw := bufio.NewWriterSize(w, 256<<10)
			cw := customercsv.NewWriter(bw, customercsv.WriterOptions{Names: *names, Excel: *excel})
			total := 0
			for _, cid := range ids {
				_, err := s.ExportCustomers(cid, variant, func(r store.Record) error {
					total++
					if total%progressRows == 0 {
						fmt.Fprintf(stderr, "exported %d customers\n", total)
					}
					return cw.Write(customercsv.ExportRow{Customer: r.Customer, Compartment: r.Compartment.String(), Version: r.Version, Updated: r.Time})
				})
				if err != nil {
					return total, err
				}
			}
			if err := cw.Flush(); err != nil {
				return total, err
			}
			return total, bw.Flush()
		}
		var n int
		if out == "-" {
			if n, err = write(stdout); err != nil {
				return err
			}
			fmt.Fprintf(stderr, "exported %d customers (%s)\n", n, what)
		} else {
			if n, err = writeAtomically(out, *force, write); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s\t%d customers\t%s\n", out, n, what)
		}
		if variant == store.ExportRevealed {
			fmt.Fprintln(stderr, "the export holds personnummer, card and account numbers in full: keep it on this machine and delete it when done")
		}
		return nil
	})
}

// writeAtomically writes a new file through write: under a temporary name
// (mode 0600) in the same folder, synced, then given its name (replacing
// an existing file only with force) and the folder synced. On an error
// the temporary file is removed and out is untouched.
func writeAtomically(out string, force bool, write func(io.Writer) (int, error)) (int, error) {
	dir := filepath.Dir(out)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(out)+".*.tmp")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := tmp.Chmod(0o600); err != nil {
		return 0, err
	}
	n, err := write(tmp)
	if err != nil {
		return n, err
	}
	if err := tmp.Sync(); err != nil {
		return n, err
	}
	if err := tmp.Close(); err != nil {
		return n, err
	}
	if force {
		err = os.Rename(tmp.Name(), out)
	} else {
		err = publish(tmp.Name(), out)
	}
	if err != nil {
		return n, err
	}
	d, err := os.Open(dir)
	if err != nil {
		return n, err
	}
	defer d.Close()
	return n, d.Sync()
}
