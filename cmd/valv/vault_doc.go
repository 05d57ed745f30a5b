package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/valv-vault/valv/store"
	"github.com/valv-vault/valv/store/customer"
	"github.com/valv-vault/valv/store/redact"
)

const docUsage = `valv doc add    [--vault DIR] [--identity FILE | --card SERIAL] [--pin-stdin] [--type MEDIA-TYPE] [--protect] CODE FILE
       valv doc list   [--vault DIR] [--identity FILE | --card SERIAL] [--pin-stdin] CODE
       valv doc export [--vault DIR] [--identity FILE | --card SERIAL] [--pin-stdin] DOCID OUT
       valv doc redact [--vault DIR] [--identity FILE | --card SERIAL] [--pin-stdin] [--box [PAGE:]X0,Y0,X1,Y1]... DOCID

add attaches FILE to the customer CODE (its name and media type are stored
sealed; the audit log records the code only). --protect asks for a
passphrase that will be needed to export the document, on top of the key.
redact files a redacted archive copy (named by customer code and
document id) beside the original. add and export print a pre-archive
check: which identifying numbers the file holds, masked.
export writes the document to OUT, which must not exist: it is written
under a temporary name and renamed only once its size and SHA-256 check.
With --pin-stdin, standard input gives one line per secret: the card's PIN
(not with --identity), then the document's passphrase (add --protect, or
export of a protected document). Interrupt (Ctrl-C) cancels cleanly.`

// docCommand runs "valv doc add|list|export".
func docCommand(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "usage: %s\n", docUsage)
		return errUsage
	}
	switch args[0] {
	case "add":
		return docAdd(args[1:], stdout, stderr)
	case "list":
		return docList(args[1:], stdout, stderr)
	case "redact":
		return docRedact(args[1:], stdout, stderr)
	case "export":
		return docExport(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "usage: %s\n", docUsage)
	return errUsage
}

// progressEvery is the step of progress lines on standard error; files
// smaller than it get none.
const progressEvery = 64 << 20

// progressPrinter prints "verb: N MiB of T MiB" every progressEvery bytes.
func progressPrinter(stderr io.Writer, verb string, total int64) func(int64) {
	next := int64(progressEvery)
	return func(done int64) {
		if done < next {
			return
		}
		next = (done/progressEvery + 1) * progressEvery
		if total > 0 {
			fmt.Fprintf(stderr, "%s: %d of %d MiB (%d%%)\n", verb, done>>20, total>>20, done*100/total)
		} else {
			fmt.Fprintf(stderr, "%s: %d MiB\n", verb, done>>20)
		}
	}
}

// interruptible returns a context cancelled by an interrupt.
func interruptible() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt)
}

func docAdd(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("valv doc add", docUsage, stderr)
	var vf vaultFlags
	vf.register(fs)
	mediaType := fs.String("type", "", "the document's media `type` (default: from the file name's extension)")
	protect := fs.Bool("protect", false, "protect the document with its own passphrase (asked)")
	pos, err := parseArgs(fs, args, 2)
	if err != nil {
		return err
	}
	code, path := customer.Code(pos[0]), pos[1]
	if _, err := customer.ParseCode(pos[0]); err != nil {
		return fmt.Errorf("customer code %s: %w", pos[0], err)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	typ := *mediaType
	if typ == "" {
		typ = mime.TypeByExtension(strings.ToLower(filepath.Ext(path)))
	}
	if typ == "" {
		typ = "application/octet-stream"
	}
	preArchiveCheck(stderr, path)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	ctx, cancel := interruptible()
	defer cancel()
	return withSessionIO(&vf, stdio.in, stderr, func(s *store.Session, pins *pinSource) error {
		var opts store.DocumentOptions
		if *protect {
			if opts.Passphrase, err = pins.askNew("passphrase for the document"); err != nil {
				return err
			}
		}
		id, err := s.AddDocument(ctx, code, filepath.Base(path), typ, f, progressPrinter(stderr, "adding", st.Size()), opts)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, id)
		return nil
	})
}

func docList(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("valv doc list", docUsage, stderr)
	var vf vaultFlags
	vf.register(fs)
	pos, err := parseArgs(fs, args, 1)
	if err != nil {
		return err
	}
	return withSession(&vf, func(s *store.Session) error {
		docs, err := s.Documents(customer.Code(pos[0]))
		if err != nil {
			return err
		}
		for _, d := range docs {
			prot := "-"
			if d.Protected {
				prot = "protected"
			}
			fmt.Fprintf(stdout, "%s\t%d\t%s\t%s\t%s\t%q\n", d.ID, d.Size, d.MediaType, d.Added.UTC().Format(time.RFC3339), prot, d.Name)
		}
		return nil
	})
}

func docExport(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("valv doc export", docUsage, stderr)
	var vf vaultFlags
	vf.register(fs)
	pos, err := parseArgs(fs, args, 2)
	if err != nil {
		return err
	}
	id, err := store.ParseID(pos[0])
	if err != nil {
		return fmt.Errorf("document id: %w", err)
	}
	out := pos[1]
	if _, err := os.Lstat(out); err == nil {
		return fmt.Errorf("%s exists; choose a new file name", out)
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	ctx, cancel := interruptible()
	defer cancel()
	return withSessionIO(&vf, stdio.in, stderr, func(s *store.Session, pins *pinSource) error {
		tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.tmp")
		if err != nil {
			return err
		}
		defer os.Remove(tmp.Name())
		defer tmp.Close()
		var info store.DocumentInfo
		err = withDocPassphrase(pins, func(opts store.DocumentOptions) (err error) {
			info, err = s.ExportDocument(ctx, id, tmp, progressPrinter(stderr, "exporting", 0), opts)
			return err
		})
		if err != nil {
			return err
		}
		if err := tmp.Sync(); err != nil {
			return err
		}
		if err := tmp.Close(); err != nil {
			return err
		}
		if err := publish(tmp.Name(), out); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\t%d bytes\tSHA-256 %x\n", out, info.Size, info.SHA256)
		preArchiveCheck(stderr, out)
		return nil
	})
}

// preArchiveCheck reports on standard error which identifying numbers a
// file holds (masked), before it is stored or once it is exported. It
// never stops the command: it tells the user what they are handling.
func preArchiveCheck(stderr io.Writer, path string) {
	st, err := os.Stat(path)
	if err != nil {
		return
	}
	if st.Size() > maxScanSize {
		fmt.Fprintf(stderr, "pre-archive check: %s is over %d MiB and was not scanned; check it by eye\n", filepath.Base(path), maxScanSize>>20)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	head := make([]byte, 4096)
	n, _ := io.ReadFull(f, head)
	kind := redact.Sniff(head[:n], path)
	if kind == redact.Unknown {
		fmt.Fprintf(stderr, "pre-archive check: %s is not a kind Valv can scan; check it by eye\n", filepath.Base(path))
		return
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return
	}
	rep, err := redact.Scan(f, kind)
	if err != nil {
		fmt.Fprintf(stderr, "pre-archive check: %s could not be scanned: %v\n", filepath.Base(path), err)
		return
	}
	fmt.Fprintf(stderr, "pre-archive check of %s: %s\n", filepath.Base(path), rep.Summary())
}

// maxScanSize bounds the pre-archive check, which reads the whole file.
const maxScanSize = 64 << 20

const docRedactUsage = `valv doc redact [--vault DIR] [--identity FILE | --card SERIAL] [--pin-stdin] [--box [PAGE:]X0,Y0,X1,Y1]... DOCID

Makes a redacted archive copy of the document and files it under the same
customer, named by customer code and document id; the original is kept.`

func docRedact(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("valv doc redact", docRedactUsage, stderr)
	var vf vaultFlags
	vf.register(fs)
	var opts redact.Options
	fs.Func("box", "a rectangle to black out: `[PAGE:]X0,Y0,X1,Y1` (repeatable)", func(v string) error {
		b, err := parseBox(v)
		if err == nil {
			opts.Boxes = append(opts.Boxes, b)
		}
		return err
	})
	pos, err := parseArgs(fs, args, 1)
	if err != nil {
		return err
	}
	id, err := store.ParseID(pos[0])
	if err != nil {
		return fmt.Errorf("document id: %w", err)
	}
	ctx, cancel := interruptible()
	defer cancel()
	return withSessionIO(&vf, stdio.in, stderr, func(s *store.Session, pins *pinSource) error {
		var copyID store.DocumentID
		var rep redact.Report
		err := withDocPassphrase(pins, func(docOpts store.DocumentOptions) (err error) {
			copyID, rep, err = s.RedactDocument(ctx, id, docOpts, opts)
			return err
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\tarchive copy: removed %s", copyID, rep.Summary())
		if rep.Boxes > 0 {
			fmt.Fprintf(stdout, "; blacked out %d box(es)", rep.Boxes)
		}
		fmt.Fprintln(stdout)
		for _, n := range rep.Notes {
			fmt.Fprintf(stdout, "note: %s\n", n)
		}
		return nil
	})
}

// publish gives the verified temporary file its final name without
// replacing a file that appeared meanwhile: a hard link where the file
// system has them, else a rename after a last check.
func publish(tmp, out string) error {
	err := os.Link(tmp, out)
	if err == nil || errors.Is(err, os.ErrExist) {
		if err != nil {
			return fmt.Errorf("%s exists; choose a new file name", out)
		}
		return nil
	}
	if _, err := os.Lstat(out); err == nil {
		return fmt.Errorf("%s exists; choose a new file name", out)
	}
	return os.Rename(tmp, out)
}

// withDocPassphrase runs f without a passphrase and, if the document turns
// out to be protected, asks for its passphrase and runs f again. (The store
// checks the passphrase before it writes or logs anything.)
func withDocPassphrase(pins *pinSource, f func(store.DocumentOptions) error) error {
	err := f(store.DocumentOptions{})
	if !errors.Is(err, store.ErrPassphraseNeeded) {
		return err
	}
	p, err := pins.ask("passphrase of the document")
	if err != nil {
		return err
	}
	return f(store.DocumentOptions{Passphrase: p})
}
