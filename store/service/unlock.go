package service

import (
	"errors"

	"filippo.io/age"

	"github.com/valv-vault/valv/crypto/card"
	"github.com/valv-vault/valv/crypto/recovery"
	"github.com/valv-vault/valv/store"
)

// maxRecoveryFile bounds a recovery key file, as the CLI does.
const maxRecoveryFile = 64 << 10

// Unlock opens the vault with the card of the serial number and its PIN.
// A wrong PIN is a *WrongPINError with the tries left (and is recorded
// in the audit log as a failed PIN); a blocked PIN is ErrBlocked. The PIN
// is handed to the card and not kept.
func (s *Service) Unlock(serial uint32, pin string) error {
	return s.unlockCard(serial, func(cs *card.Session) error { return cs.VerifyPIN(pin) })
}

// Unblock sets a new PIN with the card's PUK (after the PIN was blocked)
// and opens the vault with it. A wrong PUK is a *WrongPUKError; a
// blocked PUK is ErrPUKBlocked.
func (s *Service) Unblock(serial uint32, puk, newPIN string) error {
	return s.unlockCard(serial, func(cs *card.Session) error { return cs.Unblock(puk, newPIN) })
}

func (s *Service) unlockCard(serial uint32, verify func(*card.Session) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sess != nil {
		return errors.New("the vault is already unlocked: lock it first")
	}
	v, err := s.vault()
	if err != nil {
		return err
	}
	cs, err := card.Open(serial)
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			cs.Close()
		}
	}()
	if err := verify(cs); err != nil {
		var wrong *card.WrongPINError
		if errors.As(err, &wrong) {
			// Logged even though the vault stays locked; a card that
			// is no key holder's has nothing to log.
			_ = v.ReportFailedPIN(serial, wrong.Left)
		} else if errors.Is(err, card.ErrBlocked) {
			_ = v.ReportFailedPIN(serial, 0)
		}
		return err
	}
	id, err := cs.Identity()
	if err != nil {
		return err
	}
	signer, err := cs.Signer()
	if err != nil {
		return err
	}
	sess, err := v.Unlock(id, signer)
	if err != nil {
		return err
	}
	s.sess, s.cs, s.id, ok = sess, cs, id, true
	return nil
}

// UnlockRecovery opens the vault with the recovery key: the contents of
// its identity file (pasted or read from the file). The key is parsed
// and used, not kept; errors never quote it.
func (s *Service) UnlockRecovery(keyFile []byte) error {
	if len(keyFile) > maxRecoveryFile {
		return errors.New("this is too large to be a recovery key file")
	}
	k, err := recovery.Parse(keyFile)
	if err != nil {
		// A key typed from the printed sheet, in groups.
		var typedErr error
		if k, typedErr = recovery.ParseTyped(string(keyFile)); typedErr != nil {
			return &Error{Kind: ErrNotRecoveryKey, Err: err}
		}
	}
	return s.unlockWith(k.Identity())
}

func (s *Service) unlockWith(id age.Identity) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sess != nil {
		return errors.New("the vault is already unlocked: lock it first")
	}
	v, err := s.vault()
	if err != nil {
		return err
	}
	sess, err := v.Unlock(id, nil)
	if errors.Is(err, store.ErrUnknownIdentity) {
		return &Error{Kind: ErrWrongRecoveryKey, Err: err}
	}
	if err != nil {
		return err
	}
	s.sess, s.id = sess, id
	return nil
}

// Unlocked reports whether a session is open.
func (s *Service) Unlocked() bool {
	_, err := s.session()
	return err == nil
}

// Removed returns a channel that is closed when the card that unlocked
// the session is taken out, or nil (never closed) when no card holds the
// session (locked, or unlocked with the recovery key).
func (s *Service) Removed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cs == nil {
		return nil
	}
	return s.cs.Removed()
}

// Lock ends the session: the store signs its audit checkpoints (with the
// card, if it is still there) and wipes the keys; the card is closed and
// reset. Locking a locked service does nothing.
func (s *Service) Lock() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lockLocked()
}

func (s *Service) lockLocked() error {
	var err error
	if s.sess != nil {
		err = s.sess.Lock()
		s.sess = nil
	}
	s.id = nil
	if s.cs != nil {
		err = errors.Join(err, s.cs.Close())
		s.cs = nil
	}
	return err
}
