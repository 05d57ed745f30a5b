package main

import (
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/valv-vault/valv/store/redact"
)

const redactUsage = `usage:
  valv redact [--code CUSTOMER-CODE] [--box [PAGE:]X0,Y0,X1,Y1]... IN OUT
        write a redacted copy of IN to OUT (same kind: text, CSV, JSON,
        Markdown, PNG, JPEG or PDF); needs no vault and no card
  valv redact --scan IN
        report which identifying numbers IN contains, masked; writes nothing

Boxes are in pixels for images and in points from the page's top-left
corner for PDFs (PAGE is 1-based, default 1). OUT must not exist.
`

func redactCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("valv redact", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, redactUsage) }
	var opts redact.Options
	fs.StringVar(&opts.CustomerCode, "code", "", "label the copy with this customer `CODE` (never a name)")
	scan := fs.Bool("scan", false, "only report what IN contains")
	fs.Func("box", "a rectangle to black out: `[PAGE:]X0,Y0,X1,Y1` (repeatable)", func(s string) error {
		b, err := parseBox(s)
		if err == nil {
			opts.Boxes = append(opts.Boxes, b)
		}
		return err
	})
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if *scan {
		if fs.NArg() != 1 {
			fs.Usage()
			return errUsage
		}
		return redactScan(fs.Arg(0), opts, stdout)
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return errUsage
	}
	rep, err := redact.RedactFile(fs.Arg(0), fs.Arg(1), opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: removed %s", fs.Arg(1), rep.Summary())
	if rep.Boxes > 0 {
		fmt.Fprintf(stdout, "; blacked out %d box(es)", rep.Boxes)
	}
	fmt.Fprintln(stdout)
	for _, n := range rep.Notes {
		fmt.Fprintf(stdout, "note: %s\n", n)
	}
	return nil
}

func redactScan(path string, opts redact.Options, stdout io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, 4096)
	n, _ := io.ReadFull(f, head)
	kind := redact.Sniff(head[:n], path)
	if kind == redact.Unknown {
		return fmt.Errorf("%s is not a document Valv can scan (text, CSV, JSON, Markdown, PNG, JPEG or PDF)", path)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	rep, err := redact.ScanWith(f, kind, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s (%s): %s\n", path, kind, rep.Summary())
	for _, x := range rep.Findings {
		where := ""
		switch {
		case x.Page > 0:
			where = fmt.Sprintf("page %d", x.Page)
		case x.Line > 0:
			where = fmt.Sprintf("line %d", x.Line)
		}
		if x.Field != "" {
			where += " " + x.Field
		}
		fmt.Fprintf(stdout, "  %-20s %-24s %s\n", x.Kind, x.Masked, strings.TrimSpace(where))
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(stdout, "note: %s\n", n)
	}
	return nil
}

// parseBox reads "[PAGE:]X0,Y0,X1,Y1".
func parseBox(s string) (redact.Box, error) {
	b := redact.Box{Page: 1}
	if p, rest, ok := strings.Cut(s, ":"); ok {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			return b, fmt.Errorf("box %q: the page must be a number from 1", s)
		}
		b.Page, s = n, rest
	}
	f := strings.Split(s, ",")
	if len(f) != 4 {
		return b, fmt.Errorf("box %q: want X0,Y0,X1,Y1", s)
	}
	var v [4]int
	for i, x := range f {
		n, err := strconv.Atoi(strings.TrimSpace(x))
		if err != nil || n < 0 {
			return b, fmt.Errorf("box %q: coordinates are whole numbers from 0", s)
		}
		v[i] = n
	}
	b.Rect = image.Rect(v[0], v[1], v[2], v[3])
	if b.Rect.Empty() {
		return b, fmt.Errorf("box %q is empty", s)
	}
	return b, nil
}
