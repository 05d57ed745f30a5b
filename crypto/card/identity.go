package card

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/go-piv/piv-go/v2/piv"
	"github.com/valv-vault/valv/crypto/pivage"
)

// Identity returns the age identity of the card's holder key, which
// decrypts piv-p256 stanzas by ECDH on the card. It needs the session
// unlocked; it keeps no PIN: the card remembers the verified PIN for the
// session (PIN policy once). Each decryption may wait for a touch.
func (s *Session) Identity() (*pivage.Identity, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.needUnlocked(); err != nil {
		return nil, err
	}
	e, err := s.loadHolder()
	if err != nil {
		return nil, err
	}
	slot, _ := piv.RetiredKeyManagementSlot(uint32(e.Slot))
	return pivage.NewIdentity(&cardKey{s: s, slot: slot, pub: e.key})
}

// IdentityFor returns the age identity for an "AGE-PLUGIN-YUBIKEY-1…"
// string of this card (Enrolment.Identity), from any retired slot, as
// age-plugin-yubikey does: the serial must be this card's and the tag must
// match the key in the slot. For a card that holds keys of more than one
// enrolment. It needs the session unlocked.
func (s *Session) IdentityFor(identity string) (*pivage.Identity, error) {
	serial, k, tag, err := pivage.ParseIdentity(identity)
	if err != nil {
		return nil, err
	}
	if serial != s.info.Serial {
		return nil, fmt.Errorf("the identity belongs to YubiKey %d, not to YubiKey %d: insert that one", serial, s.info.Serial)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.needUnlocked(); err != nil {
		return nil, err
	}
	slot, _ := piv.RetiredKeyManagementSlot(uint32(k))
	c, err := s.slotKey(slot, false)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, fmt.Errorf("slot %02x of YubiKey %d holds no P-256 key: the identity is for a key that was deleted or overwritten", k, serial)
	}
	id, err := pivage.NewIdentity(&cardKey{s: s, slot: slot, pub: c.pub})
	if err != nil {
		return nil, err
	}
	if got := id.Recipient().Tag(); subtle.ConstantTimeCompare(got[:], tag[:]) != 1 {
		return nil, fmt.Errorf("the key in slot %02x of YubiKey %d is not the identity's key: it was overwritten", k, serial)
	}
	return id, nil
}

// Signer returns the audit signing key in 9C (ECDSA P-256; sign SHA-256
// digests). It needs the session unlocked. Each signature may wait for a
// touch.
func (s *Session) Signer() (crypto.Signer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.needUnlocked(); err != nil {
		return nil, err
	}
	e, err := s.loadHolder()
	if err != nil {
		return nil, err
	}
	if e.SigningKey == nil {
		return nil, errors.New("this YubiKey has no audit signing key in slot 9c: enrol it again")
	}
	return &cardKey{s: s, slot: piv.SlotSignature, pub: e.SigningKey}, nil
}

func (s *Session) needUnlocked() error {
	if _, err := s.card(); err != nil {
		return err
	}
	if !s.unlocked.Load() {
		return ErrLocked
	}
	return nil
}

// cardKey is a key on the session's card: piv-go's ECDSAPrivateKey, made
// afresh for each operation (piv-go ties it to one connection, and
// enrolment reconnects), run under the session's lock.
type cardKey struct {
	s    *Session
	slot piv.Slot
	pub  *ecdsa.PublicKey
}

func (k *cardKey) Public() crypto.PublicKey { return k.pub }

// ECDH implements pivage.KeyAgreer.
func (k *cardKey) ECDH(peer *ecdh.PublicKey) ([]byte, error) {
	return k.do(func(p *piv.ECDSAPrivateKey) ([]byte, error) { return p.ECDH(peer) })
}

// Sign implements crypto.Signer.
func (k *cardKey) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return k.do(func(p *piv.ECDSAPrivateKey) ([]byte, error) { return p.Sign(rand, digest, opts) })
}

func (k *cardKey) do(f func(*piv.ECDSAPrivateKey) ([]byte, error)) ([]byte, error) {
	s := k.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.needUnlocked(); err != nil {
		return nil, err
	}
	// PINPolicy once, given: piv-go then checks that the PIN is still
	// verified and asks the card for nothing else before the operation.
	priv, err := s.yk.PrivateKey(k.slot, k.pub, piv.KeyAuth{PINPolicy: piv.PINPolicyOnce})
	if err != nil {
		return nil, err
	}
	out, err := f(priv.(*piv.ECDSAPrivateKey))
	if err != nil {
		if strings.Contains(err.Error(), "pin required but wasn't provided") {
			s.unlocked.Store(false) // the card forgot the PIN: it was reset
			return nil, ErrLocked
		}
		return nil, s.cardErr(fmt.Errorf("using the key in slot %s of YubiKey %d: %w", k.slot, s.info.Serial, err))
	}
	return out, nil
}
