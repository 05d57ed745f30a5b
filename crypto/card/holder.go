package card

import (
	"crypto/ecdsa"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/go-piv/piv-go/v2/piv"
	"github.com/valv-vault/valv/crypto/pivage"
)

// ErrNotEnrolled means the card holds no Valv key holder key.
var ErrNotEnrolled = errors.New("this YubiKey holds no Valv key holder key: enrol it first")

// Holder reads the enrolment of the YubiKey with the serial number back
// from its certificates, without the PIN: for re-opening a vault with a
// card enrolled earlier. A card open in a session of this process is
// read through that session.
func Holder(serial uint32) (*Enrolment, error) {
	sessions.Lock()
	var held *Session
	for _, s := range sessions.byReader {
		if s.info.Serial == serial {
			held = s
		}
	}
	sessions.Unlock()
	if held != nil {
		return held.Holder()
	}
	s, err := Open(serial)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return s.Holder()
}

// Holder returns the card's enrolment, without the PIN: of the retired
// slots with a certificate Valv wrote (age-plugin-yubikey's O, a CN
// starting with HolderNamePrefix) that matches the key in the slot, the
// one enrolled last (a forced re-enrolment goes to the first free slot
// and leaves the older key in place; certificates count whole seconds, and
// of two from the same second the higher slot wins); and the key in 9C.
//
// The public keys come from the card's key metadata on firmware 5.3 and
// later (a certificate can be replaced with the management key, the key
// metadata cannot), from the certificates before.
func (s *Session) Holder() (*Enrolment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.card(); err != nil {
		return nil, err
	}
	return s.loadHolder()
}

// loadHolder finds and caches the enrolment. s.mu must be held.
func (s *Session) loadHolder() (*Enrolment, error) {
	if s.holder != nil {
		return s.holder, nil
	}
	var best *slotCert
	for k := pivage.FirstRetiredSlot; k <= pivage.LastRetiredSlot; k++ {
		slot, _ := piv.RetiredKeyManagementSlot(uint32(k))
		c, err := s.slotKey(slot, true)
		if err != nil {
			return nil, err
		}
		if c != nil && (best == nil || !c.created.Before(best.created)) {
			best = c
		}
	}
	if best == nil {
		return nil, ErrNotEnrolled
	}
	signing, err := s.slotKey(piv.SlotSignature, false)
	if err != nil {
		return nil, err
	}
	var signingKey *ecdsa.PublicKey
	if signing != nil {
		signingKey = signing.pub
	}
	e, err := newEnrolment(s.info.Serial, byte(best.slot.Key), best.name, best.pub, signingKey, best.touch)
	if err != nil {
		return nil, err
	}
	s.holder = e
	return e, nil
}

// slotCert is a P-256 key in a slot and what its certificate says.
type slotCert struct {
	slot    piv.Slot
	pub     *ecdsa.PublicKey
	name    string
	touch   Touch
	created time.Time
}

// slotKey returns the P-256 key in slot, or nil if the slot has none, or
// (with holderOnly) no Valv key holder certificate for it. s.mu must be
// held.
func (s *Session) slotKey(slot piv.Slot, holderOnly bool) (*slotCert, error) {
	var fromMeta *ecdsa.PublicKey
	if s.atLeast(5, 3) {
		ki, err := s.yk.KeyInfo(slot)
		if errors.Is(err, piv.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, s.cardErr(fmt.Errorf("reading the key metadata of slot %s: %w", slot, err))
		}
		if ki.Algorithm != piv.AlgorithmEC256 {
			return nil, nil
		}
		if fromMeta, err = p256Key(ki.PublicKey); err != nil {
			return nil, nil
		}
	}
	cert, err := s.yk.Certificate(slot)
	if err != nil {
		if isRemoved(err) {
			return nil, s.cardErr(err)
		}
		if holderOnly || fromMeta == nil {
			return nil, nil
		}
		return &slotCert{slot: slot, pub: fromMeta}, nil // 9C: a key without a certificate is still the key
	}
	if holderOnly && !isHolderCertificate(cert) {
		return nil, nil
	}
	fromCert, err := p256Key(cert.PublicKey)
	if err != nil || fromMeta != nil && !fromMeta.Equal(fromCert) {
		return nil, nil // a stale certificate: not ours to use
	}
	return &slotCert{slot: slot, pub: fromCert, name: cert.Subject.CommonName, touch: touchOf(cert), created: cert.NotBefore}, nil
}

// touchOf reads the touch policy from the policy extension.
func touchOf(c *x509.Certificate) Touch {
	for _, e := range c.Extensions {
		if e.Id.Equal(policyExtension) && len(e.Value) >= 2 {
			switch e.Value[1] {
			case 0x01:
				return TouchNever
			case 0x02:
				return TouchAlways
			}
		}
	}
	return TouchCached
}
