package card

import (
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/go-piv/piv-go/v2/piv"
	"github.com/valv-vault/valv/crypto/card/pcsc"
)

// ErrManagementKey means enrolment cannot get at the card's management
// key, which generating keys and writing certificates need.
var ErrManagementKey = errors.New("this card's management key is not the default and not PIN-protected; reset its PIV applet with `ykman piv reset` or enrol another card")

// managementKey returns a management key that works on the card and is
// kept in the PIN-protected object 5FC109 (piv-go's Metadata), the layout
// of ykman's "--protect" and of age-plugin-yubikey:
//
//   - if 5FC109 holds a key that the card accepts, that key;
//   - else, if the card still has the factory key, a new random 24-byte
//     key, stored in 5FC109 first and then set on the card, so that a
//     failure in between leaves the factory key working and the next
//     enrolment starts over;
//   - else ErrManagementKey.
//
// piv-go picks the algorithm: it authenticates with the one the card
// reports in its metadata (3DES by default before firmware 5.7, AES-192
// from 5.7), and sets a 24-byte key as AES-192 on firmware 5.4 and later,
// as 3DES before. So a 5.4.3 card moves from 3DES to AES-192.
//
// The PIN must be the card's current PIN. changed reports a new key.
func managementKey(yk *piv.YubiKey, pin string) (key []byte, changed bool, err error) {
	md, err := yk.Metadata(pin)
	if err != nil {
		return nil, false, fmt.Errorf("reading the PIN-protected object 5FC109: %w", err)
	}
	if md.ManagementKey != nil {
		stored := *md.ManagementKey
		// Writing the object back unchanged authenticates with the
		// stored key first: a test of the key that changes nothing.
		unchanged := *md
		unchanged.ManagementKey = nil
		if err := yk.SetMetadata(stored, &unchanged); err == nil {
			return stored, false, nil
		} else if isRemoved(err) {
			return nil, false, err
		}
	}
	fresh := make([]byte, 24)
	if _, err := rand.Read(fresh); err != nil {
		return nil, false, err
	}
	md.ManagementKey = &fresh
	if err := yk.SetMetadata(piv.DefaultManagementKey, md); err != nil {
		if isRemoved(err) {
			return nil, false, err
		}
		return nil, false, ErrManagementKey
	}
	if err := yk.SetManagementKey(piv.DefaultManagementKey, fresh); err != nil {
		return nil, false, fmt.Errorf("setting a new management key: %w", err)
	}
	return fresh, true, nil
}

// flagStoredKey writes ykman's admin data flag "management key stored in
// 5FC109" (object 5FFF00), which piv-go cannot write: the session's
// piv-go connection is closed, the flag written on a raw PC/SC
// connection, the card reset (forgetting the PIN and management key
// there) and piv-go reopened. The caller must verify the PIN again.
// s.mu must be held.
func (s *Session) flagStoredKey(key []byte, changed bool) error {
	if err := s.yk.Close(); err != nil {
		return s.cardErr(err)
	}
	s.yk = nil
	err := s.rawSession(func(c *pcsc.Card) error { return setAdminFlag(c, key, changed) })
	if rerr := s.reopen(); err == nil {
		err = rerr
	}
	return err
}

// rawSession runs f on an exclusive raw connection to the session's card
// and disconnects with a reset.
func (s *Session) rawSession(f func(*pcsc.Card) error) error {
	ctx, err := pcsc.Establish()
	if err != nil {
		return err
	}
	defer ctx.Release()
	c, err := ctx.Connect(s.info.reader)
	if err != nil {
		if errors.Is(err, pcsc.ErrRemovedCard) || errors.Is(err, pcsc.ErrNoSmartcard) {
			s.markRemoved()
			return ErrRemoved
		}
		return fmt.Errorf("connecting to YubiKey %d: %w", s.info.Serial, err)
	}
	err = f(c)
	if cerr := c.Close(true); err == nil && cerr != nil {
		err = fmt.Errorf("resetting YubiKey %d: %w", s.info.Serial, cerr)
	}
	return err
}

// reopen opens the session's reader with piv-go again and checks that
// the same card is there. s.mu must be held.
func (s *Session) reopen() error {
	yk, err := piv.Open(s.info.reader)
	if err != nil {
		return s.cardErr(fmt.Errorf("reopening YubiKey %d: %w", s.info.Serial, err))
	}
	serial, err := yk.Serial()
	if err != nil || serial != s.info.Serial {
		yk.Close()
		s.markRemoved()
		return ErrRemoved
	}
	s.yk = yk
	s.unlocked.Store(false)
	return nil
}
