package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/valv-vault/valv/crypto/card"
)

const cardUsage = `usage:
  valv card list                                   the YubiKeys present: serial, firmware, SIMULATED
  valv card unblock [--card SERIAL] [--pin-stdin]  set a new PIN with the PUK (asks: PUK, new PIN)
  valv unlock --check [--card SERIAL] [--pin-stdin]  check the PIN (asks: PIN); prints tries left
`

func cardCommand(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, cardUsage)
		return errUsage
	}
	switch args[0] {
	case "list":
		return cardList(args[1:], stdout, stderr)
	case "unblock":
		return cardUnblock(args[1:], stdin, stdout, stderr)
	}
	fmt.Fprintf(stderr, "valv card: unknown command %q\n%s", args[0], cardUsage)
	return errUsage
}

func cardList(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("valv card list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	cards, err := card.List()
	if err != nil {
		return err
	}
	for _, c := range cards {
		sim := ""
		if c.Simulated {
			sim = "\tSIMULATED"
		}
		fmt.Fprintf(stdout, "%d\t%s%s\n", c.Serial, c.Firmware, sim)
	}
	return nil
}

// cardFlags are the flags of every command that talks to one card.
type cardFlags struct {
	serial   uint
	pinStdin bool
}

func (c *cardFlags) register(fs *flag.FlagSet) {
	fs.UintVar(&c.serial, "card", 0, "the `SERIAL` of the YubiKey to use (needed when more than one is present)")
	fs.BoolVar(&c.pinStdin, "pin-stdin", false, "read PINs and PUKs from standard input, one per line, instead of the terminal")
}

// open opens the card named by --card, or the only card present.
func (c *cardFlags) open() (*card.Session, error) {
	serial := uint32(c.serial)
	if serial == 0 {
		cards, err := card.List()
		if err != nil {
			return nil, err
		}
		switch len(cards) {
		case 0:
			return nil, errors.New("no YubiKey found: insert a key holder's YubiKey")
		case 1:
			serial = cards[0].Serial
		default:
			var s []string
			for _, x := range cards {
				s = append(s, fmt.Sprint(x.Serial))
			}
			return nil, fmt.Errorf("%d YubiKeys are present (%s): choose one with --card SERIAL", len(cards), strings.Join(s, ", "))
		}
	}
	return card.Open(serial)
}

func unlockCommand(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("valv unlock", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf cardFlags
	cf.register(fs)
	check := fs.Bool("check", false, "only check the PIN and report the tries left; open nothing")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if !*check {
		fmt.Fprintln(stderr, "valv unlock: the window unlocks the vault; from the command line only --check is available")
		return errUsage
	}
	s, err := cf.open()
	if err != nil {
		return err
	}
	defer s.Close()
	if left, err := s.PINRetries(); err == nil {
		fmt.Fprintf(stdout, "YubiKey %d: %d PIN %s left\n", s.Info().Serial, left, tries(left))
		if left == 0 {
			return fmt.Errorf("the PIN of YubiKey %d is blocked: unblock it with `valv card unblock`", s.Info().Serial)
		}
	}
	pin, err := newPINSource(cf.pinStdin, stdin, stderr).ask("PIN")
	if err != nil {
		return err
	}
	if err := s.VerifyPIN(pin); err != nil {
		return explainPINError(err, s.Info().Serial)
	}
	fmt.Fprintf(stdout, "YubiKey %d: PIN correct\n", s.Info().Serial)
	return nil
}

func cardUnblock(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("valv card unblock", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf cardFlags
	cf.register(fs)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	s, err := cf.open()
	if err != nil {
		return err
	}
	defer s.Close()
	pins := newPINSource(cf.pinStdin, stdin, stderr)
	puk, err := pins.ask("PUK")
	if err != nil {
		return err
	}
	newPIN, err := pins.askNew("new PIN")
	if err != nil {
		return err
	}
	if err := s.Unblock(puk, newPIN); err != nil {
		return explainPINError(err, s.Info().Serial)
	}
	fmt.Fprintf(stdout, "YubiKey %d: PIN set; the card is unblocked\n", s.Info().Serial)
	return nil
}

// explainPINError turns the card's PIN and PUK errors into what to do next.
func explainPINError(err error, serial uint32) error {
	var wrongPIN *card.WrongPINError
	var wrongPUK *card.WrongPUKError
	switch {
	case errors.As(err, &wrongPIN):
		return fmt.Errorf("wrong PIN for YubiKey %d: %d %s left before it blocks", serial, wrongPIN.Left, tries(wrongPIN.Left))
	case errors.Is(err, card.ErrBlocked):
		return fmt.Errorf("the PIN of YubiKey %d is blocked: unblock it with `valv card unblock` and the PUK", serial)
	case errors.As(err, &wrongPUK):
		return fmt.Errorf("wrong PUK for YubiKey %d: %d %s left before the PUK blocks too", serial, wrongPUK.Left, tries(wrongPUK.Left))
	case errors.Is(err, card.ErrPUKBlocked):
		return fmt.Errorf("the PUK of YubiKey %d is blocked as well: its keys cannot be used again; open the vault with the recovery key and enrol a new card", serial)
	}
	return err
}

func tries(n int) string {
	if n == 1 {
		return "try"
	}
	return "tries"
}
