package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/valv-vault/valv/store"
	"github.com/valv-vault/valv/store/customer"
)

// Retention and erasure: "valv customer retention" lists the customers
// past their retention date, "valv customer erase" erases customers for
// good (every version and document, and the compartment file compacted).

// confirmTerminal opens the terminal on which erase asks the user to
// type the code back. Tests replace it.
var confirmTerminal = func() (io.ReadWriteCloser, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	if !term.IsTerminal(int(tty.Fd())) {
		tty.Close()
		return nil, errors.New("/dev/tty is not a terminal")
	}
	return tty, nil
}

// errNoConfirm says how to erase without a terminal.
var errNoConfirm = errors.New("erasing cannot be undone and there is no terminal to confirm it on: nothing was erased; pass --yes to erase without asking")

// confirmErase asks, for each code, to type it back.
func confirmErase(codes []customer.Code) error {
	tty, err := confirmTerminal()
	if err != nil {
		return errNoConfirm
	}
	defer tty.Close()
	in := bufio.NewReader(tty)
	fmt.Fprintln(tty, "Erasing removes a customer for good: every version and every document, from the vault's files.")
	fmt.Fprintln(tty, "Backups made before keep it until they rotate out.")
	for _, code := range codes {
		fmt.Fprintf(tty, "Type %s to erase it: ", code)
		line, err := in.ReadString('\n')
		if err != nil && line == "" {
			return errors.New("no answer: nothing was erased")
		}
		typed, perr := customer.ParseCode(strings.TrimSpace(line))
		if perr != nil || typed != code {
			return fmt.Errorf("that is not %s: nothing was erased", code)
		}
	}
	return nil
}

func customerErase(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("valv customer erase", customerUsage, stderr)
	var vf vaultFlags
	vf.register(fs)
	yes := fs.Bool("yes", false, "erase without asking to type each code back (needed without a terminal)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		fs.Usage()
		return errUsage
	}
	codes := make([]customer.Code, len(pos))
	for i, p := range pos {
		if codes[i], err = customer.ParseCode(p); err != nil {
			return fmt.Errorf("%s: %w; nothing was erased", p, err)
		}
	}
	if !*yes {
		if err := confirmErase(codes); err != nil {
			return err
		}
	}
	return withSession(&vf, func(s *store.Session) error {
		last := -1
		erased, err := s.EraseCustomers(codes, func(done, total int) {
			if total == 0 {
				return
			}
			if pct := done * 100 / total; pct/10 != last/10 || done == total {
				last = pct
				fmt.Fprintf(stderr, "compacting: %s of %s (%d%%)\n", byteSize(done), byteSize(total), pct)
			}
		})
		for _, code := range erased {
			fmt.Fprintf(stdout, "erased\t%s\n", code)
		}
		if err != nil && len(erased) > 0 {
			return fmt.Errorf("%w (the customers listed as erased are erased)", err)
		}
		return err
	})
}

// byteSize formats a byte count.
func byteSize(n int) string {
	switch {
	case n >= 10<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 10<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

func customerRetention(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("valv customer retention", customerUsage, stderr)
	var vf vaultFlags
	vf.register(fs)
	date := fs.String("date", "", "list the customers past their retention date on this `day`, YYYY-MM-DD (default today)")
	if pos, err := parseInterleaved(fs, args); err != nil || len(pos) != 0 {
		return errUsageOr(err)
	}
	now := time.Now()
	if *date != "" {
		d, err := customer.ParseDate(*date)
		if err != nil {
			return fmt.Errorf("--date: %w", err)
		}
		if now, err = time.Parse(time.DateOnly, d); err != nil {
			return fmt.Errorf("--date: %w", err)
		}
	}
	return withSession(&vf, func(s *store.Session) error {
		due, err := s.PastRetention(now)
		if err != nil {
			return err
		}
		for _, d := range due {
			fmt.Fprintf(stdout, "%s\t%s\t%s\n", d.Code, d.Compartment, d.RetainUntil)
		}
		fmt.Fprintf(stderr, "%d customers past their retention date on %s", len(due), now.Format(time.DateOnly))
		if len(due) > 0 {
			fmt.Fprint(stderr, "; erase them with valv customer erase CODE…")
		}
		fmt.Fprintln(stderr)
		return nil
	})
}
