package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/valv-vault/valv/store"
	"github.com/valv-vault/valv/store/customer"
	"github.com/valv-vault/valv/store/intake"
)

const intakeUsage = `valv intake seal    --to RECIPIENT [--to RECIPIENT]... [--out DIR] FILE...
       valv intake import  [--vault DIR] [--remove] DIR
       valv intake list    [--vault DIR] [--identity FILE | --card SERIAL] [--pin-stdin]
       valv intake file    [--vault DIR] [--identity FILE | --card SERIAL] [--pin-stdin] ITEM CODE
       valv intake discard [--vault DIR] [--identity FILE | --card SERIAL] [--pin-stdin] ITEM

seal encrypts each FILE to a compartment's public recipient (what
"valv recipient COMPARTMENT" prints) into a new file named
<random>.valvin in DIR (default: the current folder), and prints its
path. It needs no vault, no card and no key: it runs anywhere, e.g. at
a front desk. The original name, media type and content are sealed
inside; only the compartment's key holders can read them.
import takes every *.valvin file of DIR into the intake queue of the
compartment it is sealed to, without unlocking anything; it prints one
line per file and leaves the files in place unless --remove is given.
A file imported before is skipped. The compartment's key holders see
the queue at their next unlock: list shows it (with the sealed file
names), file makes an item a document of the customer CODE (of the same
compartment), discard deletes an item. The audit log records item ids,
never file names.`

// intakeCommand runs "valv intake seal|import|list|file|discard".
func intakeCommand(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "seal":
			return intakeSeal(args[1:], stdout, stderr)
		case "import":
			return intakeImport(args[1:], stdout, stderr)
		case "list":
			return intakeList(args[1:], stdout, stderr)
		case "file":
			return intakeFile(args[1:], stdout, stderr)
		case "discard":
			return intakeDiscard(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "usage: %s\n", intakeUsage)
	return errUsage
}

func intakeSeal(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("valv intake seal", intakeUsage, stderr)
	var to listFlag
	fs.Var(&to, "to", "a compartment's age `recipient` (age1…; repeat for several)")
	out := fs.String("out", ".", "write the sealed files to this `folder`")
	files, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(to) == 0 || len(files) == 0 {
		fs.Usage()
		return errUsage
	}
	var rs []*age.X25519Recipient
	for _, s := range to {
		r, err := intake.ParseRecipient(s)
		if err != nil {
			return fmt.Errorf("--to: %w", err)
		}
		rs = append(rs, r)
	}
	if len(rs) > intake.MaxRecipients {
		return fmt.Errorf("--to: at most %d recipients", intake.MaxRecipients)
	}
	if st, err := os.Stat(*out); err != nil || !st.IsDir() {
		return fmt.Errorf("--out %s: not a folder", *out)
	}
	var failed int
	for _, path := range files {
		var size int64
		if st, err := os.Stat(path); err == nil {
			size = st.Size()
		}
		dst, err := intake.SealFile(*out, rs, path, time.Now(), progressPrinter(stderr, "sealing "+filepath.Base(path), size))
		if err != nil {
			fmt.Fprintf(stderr, "valv: %s: %v\n", path, err)
			failed++
			continue
		}
		fmt.Fprintln(stdout, dst)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d files were not sealed", failed, len(files))
	}
	return nil
}

func intakeImport(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("valv intake import", intakeUsage, stderr)
	dir := fs.String("vault", defaultVaultDir(), "vault `folder`")
	remove := fs.Bool("remove", false, "delete each file once it is in the vault (imported now or before)")
	pos, err := parseArgs(fs, args, 1)
	if err != nil {
		return err
	}
	ents, err := os.ReadDir(pos[0])
	if err != nil {
		return err
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), intake.Ext) && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	if len(names) == 0 {
		fmt.Fprintf(stderr, "no *%s files in %s\n", intake.Ext, pos[0])
		return nil
	}
	v, err := store.Open(*dir)
	if err != nil {
		return err
	}
	defer v.Close()
	ctx, cancel := interruptible()
	defer cancel()
	var imported, skipped, failed int
	for _, name := range names {
		path := filepath.Join(pos[0], name)
		rs, err := importOne(ctx, v, path, stderr)
		var already *store.IntakeImportedError
		switch {
		case errors.As(err, &already):
			fmt.Fprintf(stdout, "%s\talready imported as item %s\n", name, already.Item)
			skipped++
		case err != nil:
			fmt.Fprintf(stderr, "valv: %s: %v\n", name, err)
			failed++
			if ctx.Err() != nil {
				return ctx.Err()
			}
			continue
		default:
			for _, r := range rs {
				fmt.Fprintf(stdout, "%s\titem %s\tcompartment %s\n", name, r.Item, r.Compartment)
			}
			imported++
		}
		if *remove {
			if err := os.Remove(path); err != nil {
				fmt.Fprintf(stderr, "valv: %v\n", err)
			}
		}
	}
	fmt.Fprintf(stderr, "%d imported, %d imported before, %d failed\n", imported, skipped, failed)
	if failed > 0 {
		return fmt.Errorf("%d of %d files were not imported (left in place)", failed, len(names))
	}
	return nil
}

func importOne(ctx context.Context, v *store.Vault, path string, stderr io.Writer) ([]store.IntakeReceipt, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return v.ImportIntake(ctx, f, progressPrinter(stderr, "importing "+filepath.Base(path), st.Size()))
}

func intakeList(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("valv intake list", intakeUsage, stderr)
	var vf vaultFlags
	vf.register(fs)
	if pos, err := parseInterleaved(fs, args); err != nil || len(pos) != 0 {
		if err == nil {
			fs.Usage()
		}
		return errUsageOr(err)
	}
	return withSession(&vf, func(s *store.Session) error {
		q, err := s.IntakeQueue()
		if err != nil {
			return err
		}
		for _, it := range q {
			received := it.Received.UTC().Format(time.RFC3339)
			if it.Damaged != "" {
				fmt.Fprintf(stdout, "%s\t%s\t%s\tDAMAGED: %s\n", it.ID, it.Compartment, received, it.Damaged)
				continue
			}
			fmt.Fprintf(stdout, "%s\t%s\t%s\t%d\t%s\t%q\n", it.ID, it.Compartment, received, it.Size, it.MediaType, it.Name)
		}
		if len(q) == 0 {
			fmt.Fprintln(stderr, "the intake queue is empty")
		}
		return nil
	})
}

func intakeFile(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("valv intake file", intakeUsage, stderr)
	var vf vaultFlags
	vf.register(fs)
	pos, err := parseArgs(fs, args, 2)
	if err != nil {
		return err
	}
	item, err := store.ParseID(pos[0])
	if err != nil {
		return fmt.Errorf("intake item: %w", err)
	}
	if _, err := customer.ParseCode(pos[1]); err != nil {
		return fmt.Errorf("customer code %s: %w", pos[1], err)
	}
	ctx, cancel := interruptible()
	defer cancel()
	return withSession(&vf, func(s *store.Session) error {
		id, err := s.FileIntake(ctx, item, customer.Code(pos[1]), progressPrinter(stderr, "filing", 0))
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, id)
		return nil
	})
}

func intakeDiscard(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("valv intake discard", intakeUsage, stderr)
	var vf vaultFlags
	vf.register(fs)
	pos, err := parseArgs(fs, args, 1)
	if err != nil {
		return err
	}
	item, err := store.ParseID(pos[0])
	if err != nil {
		return fmt.Errorf("intake item: %w", err)
	}
	return withSession(&vf, func(s *store.Session) error {
		if err := s.DiscardIntake(item); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "discarded %s\n", item)
		return nil
	})
}
