package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/valv-vault/valv/store"
)

const staffUsage = `valv staff add --name NAME [--title TITLE] [--screened-by NAME --screened-on YYYY-MM-DD] [--nda FILE --nda-signed YYYY-MM-DD]
       valv staff screen STAFF-ID --status passed|failed|pending [--by NAME] [--on YYYY-MM-DD]
       valv staff nda STAFF-ID --file FILE --signed YYYY-MM-DD
       valv staff link STAFF-ID --holder HOLDER-ID|SERIAL
       valv staff deactivate STAFF-ID
       valv staff list [--names]
(each also takes [--vault DIR] [--identity FILE | --card SERIAL] [--pin-stdin]; admins only)

The staff register: nobody is enrolled (valv enrol --staff STAFF-ID) unless
screened (passed) and with a signed NDA on file. Deactivating a person
revokes every compartment of their cards (rotating the keys) and their
cards open nothing after. link records an enrolled card as a person's.
Lists show ids; --names adds names.`

// staffCommand runs "valv staff add|screen|nda|deactivate|list".
func staffCommand(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "usage: %s\n", staffUsage)
		return errUsage
	}
	var vf vaultFlags
	fs := newFlagSet("valv staff "+args[0], staffUsage, stderr)
	vf.register(fs)
	usage := func(err error) error {
		if err == nil {
			fs.Usage()
		}
		return errUsageOr(err)
	}
	switch args[0] {
	case "add":
		name := fs.String("name", "", "the person's `NAME`")
		title := fs.String("title", "", "role or job `TITLE`")
		by := fs.String("screened-by", "", "who screened the person (a passed screening)")
		on := fs.String("screened-on", "", "`date` of the passed screening, YYYY-MM-DD")
		nda := fs.String("nda", "", "the signed NDA `FILE` (at most 10 MiB)")
		signed := fs.String("nda-signed", "", "`date` the NDA was signed, YYYY-MM-DD")
		if pos, err := parseInterleaved(fs, args[1:]); err != nil || len(pos) != 0 || *name == "" {
			return usage(err)
		}
		info := store.StaffInfo{Name: *name, Title: *title}
		if (*by == "") != (*on == "") {
			return errors.New("give both --screened-by and --screened-on, or neither")
		}
		if *by != "" {
			d, err := parseDay("--screened-on", *on)
			if err != nil {
				return err
			}
			info.Screening = store.Screening{Status: store.ScreeningPassed, Date: d, By: *by}
		}
		if (*nda == "") != (*signed == "") {
			return errors.New("give both --nda and --nda-signed, or neither")
		}
		if *nda != "" {
			var err error
			if info.NDASigned, err = parseDay("--nda-signed", *signed); err != nil {
				return err
			}
			if info.NDADocument, err = readNDAFile(*nda); err != nil {
				return err
			}
		}
		return withSession(&vf, func(s *store.Session) error {
			id, err := s.AddStaff(info)
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, id)
			return nil
		})
	case "screen":
		status := fs.String("status", "", "passed, failed or pending")
		by := fs.String("by", "", "who screened the person")
		on := fs.String("on", "", "`date` of the decision, YYYY-MM-DD")
		pos, err := parseInterleaved(fs, args[1:])
		if err != nil || len(pos) != 1 || *status == "" {
			return usage(err)
		}
		sc := store.Screening{Status: store.ScreeningStatus(*status), By: *by}
		if *on != "" {
			if sc.Date, err = parseDay("--on", *on); err != nil {
				return err
			}
		}
		return withSession(&vf, func(s *store.Session) error {
			id, err := findStaff(s, pos[0])
			if err != nil {
				return err
			}
			if err := s.Screen(id, sc); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "screening of %s recorded: %s\n", id, sc.Status)
			return nil
		})
	case "nda":
		file := fs.String("file", "", "the signed NDA `FILE` (at most 10 MiB)")
		signed := fs.String("signed", "", "`date` the NDA was signed, YYYY-MM-DD")
		pos, err := parseInterleaved(fs, args[1:])
		if err != nil || len(pos) != 1 || *file == "" || *signed == "" {
			return usage(err)
		}
		day, err := parseDay("--signed", *signed)
		if err != nil {
			return err
		}
		doc, err := readNDAFile(*file)
		if err != nil {
			return err
		}
		return withSession(&vf, func(s *store.Session) error {
			id, err := findStaff(s, pos[0])
			if err != nil {
				return err
			}
			if err := s.RecordNDA(id, day, bytes.NewReader(doc)); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "NDA of %s recorded (%d bytes)\n", id, len(doc))
			return nil
		})
	case "link":
		holder := fs.String("holder", "", "key holder `id` (or its first 8+ hex digits, or the card serial)")
		pos, err := parseInterleaved(fs, args[1:])
		if err != nil || len(pos) != 1 || *holder == "" {
			return usage(err)
		}
		return withSession(&vf, func(s *store.Session) error {
			id, err := findStaff(s, pos[0])
			if err != nil {
				return err
			}
			hid, err := findHolder(s, *holder)
			if err != nil {
				return err
			}
			if err := s.LinkHolder(hid, id); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "key holder %s linked to %s\n", hid, id)
			return nil
		})
	case "deactivate":
		pos, err := parseInterleaved(fs, args[1:])
		if err != nil || len(pos) != 1 {
			return usage(err)
		}
		return withSession(&vf, func(s *store.Session) error {
			id, err := findStaff(s, pos[0])
			if err != nil {
				return err
			}
			if err := s.Deactivate(id, func(done, total int) {
				if done == total && total > 0 {
					fmt.Fprintf(stderr, "re-encrypted %d values\n", total)
				}
			}); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s deactivated: their cards open nothing, the compartments they held have new keys\n", id)
			return nil
		})
	case "list":
		names := fs.Bool("names", false, "also print names, titles and screeners")
		if pos, err := parseInterleaved(fs, args[1:]); err != nil || len(pos) != 0 {
			return usage(err)
		}
		return withSession(&vf, func(s *store.Session) error {
			staff, err := s.Staff()
			if err != nil {
				return err
			}
			for _, m := range staff {
				state := "active"
				if !m.Active {
					state = "inactive"
				}
				screening := "screening " + string(m.Screening.Status)
				if !m.Screening.Date.IsZero() {
					screening += " " + m.Screening.Date.Format(time.DateOnly)
				}
				nda := "no NDA"
				if m.NDA != nil {
					nda = "NDA signed " + m.NDA.Signed.Format(time.DateOnly)
				}
				cards := "no cards"
				if len(m.Holders) > 0 {
					ids := make([]string, len(m.Holders))
					for i, h := range m.Holders {
						ids[i] = h.String()
					}
					cards = "cards " + strings.Join(ids, ",")
				}
				line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s", m.ID, state, screening, nda, cards)
				if *names {
					line += fmt.Sprintf("\t%s\t%s\tscreened by %s", m.Name, m.Title, m.Screening.By)
				}
				fmt.Fprintln(stdout, line)
			}
			return nil
		})
	}
	fmt.Fprintf(stderr, "usage: %s\n", staffUsage)
	return errUsage
}

// parseDay reads a YYYY-MM-DD date given with flag.
func parseDay(flag, s string) (time.Time, error) {
	d, err := time.Parse(time.DateOnly, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q: want a date as YYYY-MM-DD", flag, s)
	}
	return d, nil
}

// readNDAFile reads a signed NDA document, refusing one too large before
// reading it.
func readNDAFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() || fi.Size() > store.MaxNDASize {
		return nil, fmt.Errorf("%s: the NDA must be a file of at most %d MiB", path, store.MaxNDASize>>20)
	} else if fi.Size() == 0 {
		return nil, fmt.Errorf("%s is empty", path)
	}
	return io.ReadAll(io.LimitReader(f, store.MaxNDASize+1))
}

// findStaff resolves a staff member given as an id or its first 8+ hex
// digits.
func findStaff(s *store.Session, arg string) (store.StaffID, error) {
	ids, err := s.Vault().StaffIDs()
	if err != nil {
		return store.ID{}, err
	}
	arg = strings.ToLower(strings.TrimSpace(arg))
	if len(arg) < 8 {
		return store.ID{}, errors.New("give at least the first 8 hex digits of the staff id (valv staff list)")
	}
	var found []store.StaffID
	for _, id := range ids {
		if strings.HasPrefix(id.String(), arg) {
			found = append(found, id)
		}
	}
	switch len(found) {
	case 0:
		return store.ID{}, fmt.Errorf("no staff member %s (see valv staff list)", arg)
	case 1:
		return found[0], nil
	}
	return store.ID{}, fmt.Errorf("staff id %s is ambiguous; give more digits", arg)
}
