package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/valv-vault/valv/crypto/card"
	"github.com/valv-vault/valv/crypto/recovery"
	"github.com/valv-vault/valv/store"
	"github.com/valv-vault/valv/store/service"
)

const initUsage = `valv init --holder NAME --screened-by NAME --screened-on YYYY-MM-DD --nda FILE --nda-signed YYYY-MM-DD --recovery-out FILE [--title TITLE] [--recovery-protected-out FILE] [--card SERIAL] [--pin-stdin] [--vault DIR]

Creates a vault, writes its recovery key to FILE (print it, then lock it
away: it opens every backup), and enrols the YubiKey present as the first
admin key holder. The first admin goes into the staff register with their
passed screening (who screened them, and when) and their signed NDA (the
document, at most 10 MiB, and the signing date): nobody holds a key
without them. Asks, in this order: the card's current PIN, a new PIN,
the current PUK, a new PUK (then, with --recovery-protected-out, a
passphrase for the protected copy). With --pin-stdin each is one line of
standard input.`

func initCommand(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("valv init", initUsage, stderr)
	var cf cardFlags
	cf.register(fs)
	dir := fs.String("vault", defaultVaultDir(), "vault `folder` to create")
	holder := fs.String("holder", "", "the first admin's `NAME`")
	recoveryOut := fs.String("recovery-out", "", "write the recovery key to this new `FILE`")
	protectedOut := fs.String("recovery-protected-out", "", "also write a passphrase-protected copy to this new `FILE` (for a separate USB)")
	touch := fs.String("touch", "cached", "touch policy of the card's keys: never, cached or always")
	allowSim := fs.Bool("allow-simulated", false, "accept a simulated YubiKey (software keys: for tests and trials, never for real data)")
	title := fs.String("title", "", "the first admin's role or job `TITLE`")
	screenedBy := fs.String("screened-by", "", "who screened the first admin (`NAME`)")
	screenedOn := fs.String("screened-on", "", "`date` of the first admin's passed screening, YYYY-MM-DD")
	ndaFile := fs.String("nda", "", "the first admin's signed NDA `FILE` (at most 10 MiB)")
	ndaSigned := fs.String("nda-signed", "", "`date` the NDA was signed, YYYY-MM-DD")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if *holder == "" || *recoveryOut == "" || fs.NArg() != 0 {
		fs.Usage()
		return errUsage
	}
	var missing []string
	for _, f := range []struct{ name, value string }{
		{"--screened-by", *screenedBy}, {"--screened-on", *screenedOn}, {"--nda", *ndaFile}, {"--nda-signed", *ndaSigned},
	} {
		if strings.TrimSpace(f.value) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(stderr, "valv init: missing %s: the first admin needs a passed screening and a signed NDA on file, like every key holder\n", strings.Join(missing, ", "))
		fs.Usage()
		return errUsage
	}
	staff := &store.StaffInfo{Name: *holder, Title: *title}
	screenedDay, err := parseDay("--screened-on", *screenedOn)
	if err != nil {
		return err
	}
	staff.Screening = store.Screening{Status: store.ScreeningPassed, Date: screenedDay, By: *screenedBy}
	if staff.NDASigned, err = parseDay("--nda-signed", *ndaSigned); err != nil {
		return err
	}
	if staff.NDADocument, err = readNDAFile(*ndaFile); err != nil {
		return err
	}
	if err := store.CheckFirstAdmin(staff); err != nil {
		return err
	}
	tp, err := parseTouch(*touch)
	if err != nil {
		return err
	}
	if _, err := os.Lstat(filepath.Join(*dir, store.DirectoryFile)); err == nil {
		return fmt.Errorf("%s already holds a vault; choose another folder with --vault", *dir)
	}
	for _, f := range []string{*recoveryOut, *protectedOut} {
		if _, err := os.Lstat(f); f != "" && err == nil {
			return fmt.Errorf("%s already exists; Valv does not overwrite a key file", f)
		}
	}

	s, err := cf.open()
	if err != nil {
		return err
	}
	defer s.Close()
	if err := refuseSimulated(s.Info(), *allowSim); err != nil {
		return err
	}
	pins := newPINSource(cf.pinStdin, stdin, stderr)
	opts, err := askEnrolPINs(pins)
	if err != nil {
		return err
	}
	var passphrase string
	if *protectedOut != "" {
		if passphrase, err = pins.askNew("passphrase for the protected recovery copy"); err != nil {
			return err
		}
		if len(passphrase) < 12 {
			return errors.New("the recovery passphrase must be at least 12 characters; nothing was created")
		}
	}

	// The recovery key is written first, so that no vault ever exists
	// without it; it is removed again if the vault cannot be made.
	key, err := recovery.Generate()
	if err != nil {
		return err
	}
	if err := key.WriteFile(*recoveryOut); err != nil {
		return err
	}
	created := false
	defer func() {
		if !created {
			os.Remove(*recoveryOut)
			if *protectedOut != "" {
				os.Remove(*protectedOut)
			}
		}
	}()
	if *protectedOut != "" {
		if err := key.WriteProtectedFile(*protectedOut, passphrase, 0); err != nil {
			return err
		}
	}

	opts.Name, opts.Touch = *holder, tp
	if tp != card.TouchNever {
		fmt.Fprintln(stderr, "Touch the YubiKey when it blinks.")
	}
	e, v, err := service.InitVault(*dir, key, s, opts, staff)
	if err != nil {
		return explainPINError(err, s.Info().Serial)
	}
	created = true
	if err := v.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "vault created in %s\n", *dir)
	fmt.Fprintf(stdout, "recovery key written to %s: print it, then lock it away; it opens every backup\n", *recoveryOut)
	if *protectedOut != "" {
		fmt.Fprintf(stdout, "passphrase-protected copy written to %s\n", *protectedOut)
	}
	fmt.Fprintf(stdout, "YubiKey %d enrolled as admin in slot %#x: %s\n", e.Serial, e.Slot, e.Recipient)
	return nil
}

// askEnrolPINs asks what enrolling a card needs, in the documented order:
// current PIN, new PIN, current PUK, new PUK.
func askEnrolPINs(pins *pinSource) (card.EnrolOptions, error) {
	var o card.EnrolOptions
	var err error
	if o.PIN, err = pins.ask("card's current PIN (factory: 123456)"); err != nil {
		return o, err
	}
	if o.NewPIN, err = pins.askNew("new PIN (6–8 characters)"); err != nil {
		return o, err
	}
	if o.PUK, err = pins.ask("card's current PUK (factory: 12345678)"); err != nil {
		return o, err
	}
	if o.NewPUK, err = pins.askNew("new PUK (6–8 characters)"); err != nil {
		return o, err
	}
	return o, nil
}

// refuseSimulated keeps software keys out of a real vault: a yubisim card's
// private keys can be read from its state file.
func refuseSimulated(c card.Info, allowed bool) error {
	if err := service.RefuseSimulated(c, allowed); err != nil {
		return fmt.Errorf("%w (--allow-simulated)", err)
	}
	return nil
}

func parseTouch(s string) (card.Touch, error) {
	switch s {
	case "never":
		return card.TouchNever, nil
	case "cached":
		return card.TouchCached, nil
	case "always":
		return card.TouchAlways, nil
	}
	return 0, fmt.Errorf("touch policy %q: want never, cached or always", s)
}
