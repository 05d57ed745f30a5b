package main

import (
	"crypto"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/valv-vault/valv/crypto/card"
	"github.com/valv-vault/valv/store"
)

const enrolUsage = `valv enrol --staff STAFF-ID --new-card SERIAL [--holder NAME] [--role holder|admin] [--card ADMIN-SERIAL | --identity FILE] [--pin-stdin] [--vault DIR]

Enrols the YubiKey --new-card as a key holder of the person --staff of the
staff register (valv staff list), who must be screened (passed) and have a
signed NDA on file; the card is not touched otherwise. --holder puts a name
in the card's certificate (default: none). An admin unlocks the vault
with their card (--card) or the recovery key (--identity). Asks, in this
order: the admin card's PIN (not with --identity), then the new card's
current PIN, new PIN, current PUK and new PUK. The new holder opens nothing
until granted a compartment (valv grant).`

func enrolCommand(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("valv enrol", enrolUsage, stderr)
	var vf vaultFlags
	vf.register(fs)
	holder := fs.String("holder", "", "`NAME` for the card's certificate (default: none; the vault takes the staff record's)")
	staffArg := fs.String("staff", "", "the new key holder's `STAFF-ID` (valv staff list; the first 8+ hex digits do)")
	newCard := fs.Uint("new-card", 0, "`SERIAL` of the YubiKey to enrol")
	role := fs.String("role", "holder", "holder or admin")
	touch := fs.String("touch", "cached", "touch policy of the new card's keys: never, cached or always")
	allowSim := fs.Bool("allow-simulated", false, "accept a simulated YubiKey (software keys: for tests and trials, never for real data)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if *staffArg == "" || *newCard == 0 || fs.NArg() != 0 {
		fs.Usage()
		return errUsage
	}
	r := store.Role(*role)
	if r != store.RoleHolder && r != store.RoleAdmin {
		return fmt.Errorf("role %q: want holder or admin", *role)
	}
	tp, err := parseTouch(*touch)
	if err != nil {
		return err
	}
	if uint32(*newCard) == uint32(vf.card.serial) {
		return errors.New("--new-card and --card name the same YubiKey: the admin's card cannot enrol itself again")
	}
	return withSessionIO(&vf, stdin, stderr, func(s *store.Session, pins *pinSource) error {
		if !s.IsAdmin() {
			return errors.New("only an admin key holder (or the recovery key) can enrol a card")
		}
		staffID, err := findStaff(s, *staffArg)
		if err != nil {
			return err
		}
		// Refuse an unscreened person, or one without an NDA, before
		// the card is touched.
		if err := s.CheckEnrolment(staffID); err != nil {
			return err
		}
		nc, err := card.Open(uint32(*newCard))
		if err != nil {
			return err
		}
		defer nc.Close()
		if err := refuseSimulated(nc.Info(), *allowSim); err != nil {
			return err
		}
		opts, err := askEnrolPINs(pins)
		if err != nil {
			return err
		}
		opts.Name, opts.Touch = *holder, tp
		if tp != card.TouchNever {
			fmt.Fprintln(stderr, "Touch the new YubiKey when it blinks.")
		}
		e, err := nc.Enrol(opts)
		if err != nil {
			return explainPINError(err, nc.Info().Serial)
		}
		var signer crypto.Signer
		if r == store.RoleAdmin { // a new admin's card signs the directory's anchor
			if signer, err = nc.Signer(); err != nil {
				return err
			}
		}
		id, err := s.Enrol(store.HolderInfo{
			StaffID: staffID, Name: *holder, Serial: e.Serial, Slot: e.Slot, Recipient: e.Recipient,
			SigningKey: e.SigningKey, Role: r, Signer: signer,
		})
		if err != nil {
			return fmt.Errorf("the card is enrolled but the vault did not record it: %w", err)
		}
		fmt.Fprintf(stdout, "YubiKey %d enrolled as %s %s (slot %#x): %s\n", e.Serial, r, id, e.Slot, e.Recipient)
		return nil
	})
}

const recipientUsage = `valv recipient COMPARTMENT [--card SERIAL | --identity FILE] [--pin-stdin] [--vault DIR]

Prints the compartment's public age recipient: anything encrypted to it
(age -r RECIPIENT) can be imported while the compartment is locked, and only
its key holders can read it. It needs an admin's card (or the recovery
key): the recipient printed is the one the directory's signed anchor names,
checked at unlock, never only what the compartment's file says.`

func recipientCommand(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("valv recipient", recipientUsage, stderr)
	var vf vaultFlags
	vf.register(fs)
	pos, err := parseArgs(fs, args, 1)
	if err != nil {
		return err
	}
	return withSession(&vf, func(s *store.Session) error {
		cid, err := findCompartment(s, pos[0])
		if err != nil {
			return err
		}
		r, err := s.CompartmentRecipient(cid)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, r)
		return nil
	})
}
