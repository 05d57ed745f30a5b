package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/valv-vault/valv/store"
)

const compartmentUsage = `valv compartment create [--vault DIR] [--identity FILE | --card SERIAL] [--pin-stdin] NAME
       valv compartment list [--vault DIR] [--identity FILE | --card SERIAL] [--pin-stdin] [--names]`

// compartmentCommand runs "valv compartment create|list".
func compartmentCommand(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "usage: %s\n", compartmentUsage)
		return errUsage
	}
	var vf vaultFlags
	switch args[0] {
	case "create":
		fs := newFlagSet("valv compartment create", compartmentUsage, stderr)
		vf.register(fs)
		pos, err := parseInterleaved(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			fs.Usage()
			return errUsage
		}
		return withSession(&vf, func(s *store.Session) error {
			id, err := s.CreateCompartment(pos[0])
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, id)
			return nil
		})
	case "list":
		fs := newFlagSet("valv compartment list", compartmentUsage, stderr)
		vf.register(fs)
		names := fs.Bool("names", false, "also print the compartments' names")
		if pos, err := parseInterleaved(fs, args[1:]); err != nil || len(pos) != 0 {
			return errUsageOr(err)
		}
		return withSession(&vf, func(s *store.Session) error {
			cs, err := s.Compartments()
			if err != nil {
				return err
			}
			for _, c := range cs {
				state := "locked"
				switch {
				case c.Problem != "":
					state = "unreadable: " + c.Problem
				case c.Unlocked:
					state = "unlocked"
				}
				line := fmt.Sprintf("%s\t%s\t%d holders", c.ID, state, len(c.Holders))
				if *names {
					line += "\t" + c.Name
				}
				fmt.Fprintln(stdout, line)
			}
			return nil
		})
	}
	fmt.Fprintf(stderr, "usage: %s\n", compartmentUsage)
	return errUsage
}

func errUsageOr(err error) error {
	if err != nil {
		return err
	}
	return errUsage
}

const grantUsage = `valv grant  [--vault DIR] [--identity FILE | --card SERIAL] [--pin-stdin] --compartment ID --holder ID|SERIAL
       valv revoke [--vault DIR] [--identity FILE | --card SERIAL] [--pin-stdin] --compartment ID --holder ID|SERIAL`

// grantCommand runs "valv grant" and, with revoke set, "valv revoke".
func grantCommand(revoke bool, args []string, stdout, stderr io.Writer) error {
	name := "valv grant"
	if revoke {
		name = "valv revoke"
	}
	fs := newFlagSet(name, grantUsage, stderr)
	var vf vaultFlags
	vf.register(fs)
	comp := fs.String("compartment", "", "compartment `id` (or its first 8+ hex digits)")
	holder := fs.String("holder", "", "key holder `id` (or its first 8+ hex digits, or the card serial)")
	if pos, err := parseInterleaved(fs, args); err != nil || len(pos) != 0 || *comp == "" || *holder == "" {
		if err == nil {
			fs.Usage()
		}
		return errUsageOr(err)
	}
	return withSession(&vf, func(s *store.Session) error {
		cid, err := findCompartment(s, *comp)
		if err != nil {
			return err
		}
		hid, err := findHolder(s, *holder)
		if err != nil {
			return err
		}
		if !revoke {
			if err := s.Grant(cid, hid); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "granted %s to %s\n", cid, hid)
			return nil
		}
		last := -1
		err = s.Revoke(cid, hid, func(done, total int) {
			if total == 0 {
				return
			}
			if pct := done * 100 / total; pct/10 != last/10 || done == total {
				last = pct
				fmt.Fprintf(stderr, "re-encrypting: %d of %d values (%d%%)\n", done, total, pct)
			}
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked %s from %s; the compartment has a new key\n", cid, hid)
		return nil
	})
}

const holderUsage = `valv holder list [--vault DIR] [--identity FILE | --card SERIAL] [--pin-stdin] [--names]`

// holderCommand runs "valv holder list".
func holderCommand(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "list" {
		fmt.Fprintf(stderr, "usage: %s\n", holderUsage)
		return errUsage
	}
	fs := newFlagSet("valv holder list", holderUsage, stderr)
	var vf vaultFlags
	vf.register(fs)
	names := fs.Bool("names", false, "also print names (admins only)")
	if pos, err := parseInterleaved(fs, args[1:]); err != nil || len(pos) != 0 {
		return errUsageOr(err)
	}
	return withSession(&vf, func(s *store.Session) error {
		hs, err := s.Holders()
		if err != nil {
			return err
		}
		for _, h := range hs {
			line := fmt.Sprintf("%s\t%s\tcard %d slot %#x", h.ID, h.Role, h.Serial, h.Slot)
			if *names && h.Name != "" {
				line += "\t" + strings.TrimSpace(h.Name)
			}
			fmt.Fprintln(stdout, line)
		}
		return nil
	})
}
