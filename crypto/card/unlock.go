package card

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-piv/piv-go/v2/piv"
)

// PIN errors. None of them, nor any other error of this package, contains
// a PIN or PUK.
var (
	// ErrBlocked: the PIN has no tries left. The PUK unblocks it.
	ErrBlocked = errors.New("the PIN is blocked after too many wrong tries: unblock it with the PUK and choose a new PIN")
	// ErrPUKBlocked: the PUK has no tries left; once the PIN is blocked
	// too, the keys on the card are lost.
	ErrPUKBlocked = errors.New("the PUK of this YubiKey is blocked after too many wrong tries: reset its PIV applet with `ykman piv reset` and enrol it again (its keys are lost; the recovery key or another key holder restores access)")
	// ErrAlreadyUnlocked: the card does not report the tries left while
	// the PIN is verified.
	ErrAlreadyUnlocked = errors.New("the PIN is already verified in this session")
)

// WrongPINError is a wrong PIN with tries left.
type WrongPINError struct {
	Left int // tries left before the PIN is blocked
}

func (e *WrongPINError) Error() string {
	return "wrong PIN: " + triesLeft(e.Left) + " before the PIN is blocked"
}

// WrongPUKError is a wrong PUK with tries left.
type WrongPUKError struct {
	Left int // tries left before the PUK is blocked
}

func (e *WrongPUKError) Error() string {
	return "wrong PUK: " + triesLeft(e.Left) + " before the PUK is blocked for good"
}

func triesLeft(n int) string {
	if n == 1 {
		return "1 try left"
	}
	return fmt.Sprintf("%d tries left", n)
}

// VerifyPIN unlocks the session with the card's PIN. A wrong PIN returns
// a *WrongPINError with the tries left, or an error matching ErrBlocked
// when none are left. A PIN of the wrong length is refused without
// spending a try: a YubiKey PIN has 6 to 8 characters.
func (s *Session) VerifyPIN(pin string) error {
	if err := checkLength(pin, "PIN"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	yk, err := s.card()
	if err != nil {
		return err
	}
	if err := yk.VerifyPIN(pin); err != nil {
		return s.pinErr(err)
	}
	s.unlocked.Store(true)
	return nil
}

// PINRetries returns the PIN tries left, without spending one. While the
// PIN is verified the card does not tell; that is ErrAlreadyUnlocked.
func (s *Session) PINRetries() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	yk, err := s.card()
	if err != nil {
		return 0, err
	}
	n, err := yk.Retries()
	if err != nil {
		// piv-go's words when the card answers 9000: the PIN is verified.
		if strings.Contains(err.Error(), "expected error code from empty pin") {
			return 0, ErrAlreadyUnlocked
		}
		return 0, s.cardErr(fmt.Errorf("reading the PIN tries left on YubiKey %d: %w", s.info.Serial, err))
	}
	return n, nil
}

// Unblock sets a new PIN with the PUK, after the PIN was blocked (or
// forgotten), and unlocks the session with it. The new PIN is checked as
// at enrolment: 6 to 8 characters, not 123456, not the PUK. A wrong PUK
// returns a *WrongPUKError, or ErrPUKBlocked when none are left.
func (s *Session) Unblock(puk, newPIN string) error {
	if err := checkLength(puk, "PUK"); err != nil {
		return err
	}
	if err := checkNewPIN(newPIN, puk); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	yk, err := s.card()
	if err != nil {
		return err
	}
	if err := yk.Unblock(puk, newPIN); err != nil {
		return s.pukErr(err)
	}
	if err := yk.VerifyPIN(newPIN); err != nil {
		return s.pinErr(err)
	}
	s.unlocked.Store(true)
	return nil
}

// ChangePIN sets a new PIN, checked as at enrolment (the PUK is not known
// here, so "not the PUK" is not checked), and leaves the session
// unlocked.
func (s *Session) ChangePIN(oldPIN, newPIN string) error {
	if err := checkLength(oldPIN, "PIN"); err != nil {
		return err
	}
	if err := checkNewPIN(newPIN, ""); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	yk, err := s.card()
	if err != nil {
		return err
	}
	if err := yk.SetPIN(oldPIN, newPIN); err != nil {
		return s.pinErr(err)
	}
	if err := yk.VerifyPIN(newPIN); err != nil {
		return s.pinErr(err)
	}
	s.unlocked.Store(true)
	return nil
}

// pinErr maps piv-go's answer to a PIN check; s.mu must be held.
func (s *Session) pinErr(err error) error {
	var ae piv.AuthErr
	if errors.As(err, &ae) {
		s.unlocked.Store(false)
		if ae.Retries == 0 {
			return ErrBlocked
		}
		return &WrongPINError{Left: ae.Retries}
	}
	return s.cardErr(fmt.Errorf("checking the PIN on YubiKey %d: %w", s.info.Serial, err))
}

// pukErr maps piv-go's answer to a PUK check.
func (s *Session) pukErr(err error) error {
	var ae piv.AuthErr
	if errors.As(err, &ae) {
		if ae.Retries == 0 {
			return ErrPUKBlocked
		}
		return &WrongPUKError{Left: ae.Retries}
	}
	return s.cardErr(fmt.Errorf("checking the PUK on YubiKey %d: %w", s.info.Serial, err))
}
