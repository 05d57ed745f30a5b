package card

import (
	"crypto/subtle"
	"errors"
	"fmt"
)

// The factory PIN and PUK of every YubiKey, refused as new values.
const (
	defaultPIN = "123456"
	defaultPUK = "12345678"
)

// Errors for a PIN or PUK that cannot be set. They never quote the value.
var (
	ErrDefaultPIN = errors.New("choose a PIN other than the factory default PIN of every YubiKey: everyone knows it")
	ErrDefaultPUK = errors.New("choose a PUK other than the factory default PUK of every YubiKey: everyone knows it")
	ErrPUKIsPIN   = errors.New("choose a PUK different from the PIN: otherwise someone who guesses at the PIN gets three more tries with the PUK")
)

// checkLength refuses what cannot be a YubiKey PIN or PUK (6 to 8 bytes),
// before the card spends a try on it.
func checkLength(secret, what string) error {
	if n := len(secret); n < 6 || n > 8 {
		return fmt.Errorf("a %s has 6 to 8 characters", what)
	}
	return nil
}

// checkNew checks a new PIN or PUK: 6 to 8 characters that can be typed
// on any keyboard layout (printable ASCII), and not the factory value.
func checkNew(secret, what, factory string, errFactory error) error {
	if err := checkLength(secret, what); err != nil {
		return err
	}
	for i := 0; i < len(secret); i++ {
		if c := secret[i]; c < 0x20 || c > 0x7e {
			return fmt.Errorf("a new %s may hold only digits, Latin letters and the symbols of a US keyboard, so that it can be typed anywhere", what)
		}
	}
	if equal(secret, factory) {
		return errFactory
	}
	return nil
}

// checkNewPIN checks a new PIN; puk, if not empty, is the PUK that goes
// with it, which the PIN must not equal.
func checkNewPIN(pin, puk string) error {
	if err := checkNew(pin, "PIN", defaultPIN, ErrDefaultPIN); err != nil {
		return err
	}
	if puk != "" && equal(pin, puk) {
		return ErrPUKIsPIN
	}
	return nil
}

func checkNewPUK(puk string) error {
	return checkNew(puk, "PUK", defaultPUK, ErrDefaultPUK)
}

// equal compares secrets in constant time (for equal lengths).
func equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
