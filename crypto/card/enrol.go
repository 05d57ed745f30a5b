package card

import (
	"crypto/ecdsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"

	"github.com/go-piv/piv-go/v2/piv"
	"github.com/valv-vault/valv/crypto/pivage"
)

// EnrolOptions are the choices of an enrolment. PIN and PUK are the
// card's current values (123456 and 12345678 on a new YubiKey); NewPIN
// and NewPUK replace them: 6 to 8 printable ASCII characters, not the
// factory values, and not equal to each other. NewPIN may equal PIN on a
// card that has a PIN of its own already.
type EnrolOptions struct {
	PIN, PUK       string
	NewPIN, NewPUK string

	Name  string // the key holder's name, for the certificate's CN
	Touch Touch  // touch policy of both keys
	Slot  byte   // retired slot 0x82–0x95 for the holder key; 0: the first free one
	Force bool   // overwrite a key in the chosen Slot or in 9C
}

// Enrolment is a key holder's YubiKey after enrolment.
type Enrolment struct {
	Serial     uint32
	Slot       byte              // retired slot of the holder key
	Name       string            // the certificate's CN
	Recipient  *pivage.Recipient // age1yubikey1…, what compartment keys are wrapped to
	Identity   string            // AGE-PLUGIN-YUBIKEY-1…, for age-plugin-yubikey
	SigningKey *ecdsa.PublicKey  // key in 9C for audit checkpoints; nil if 9C holds none
	Touch      Touch             // touch policy from the certificate

	key *ecdsa.PublicKey // the holder key, as Recipient
}

// Enrol makes the card a key holder's card, in this order:
//
//  1. checks the options and the current PIN, and that the target slots
//     are free (a key or a certificate in them: *SlotInUseError unless
//     Force);
//  2. sets the new PUK and PIN;
//  3. makes sure the management key is in the PIN-protected object 5FC109
//     (replacing the factory key by a random one; see managementKey) and
//     flagged so in 5FFF00 as ykman does;
//  4. generates a P-256 key on the card in the retired slot, PIN policy
//     once, the chosen touch policy, with age-plugin-yubikey's
//     certificate self-signed by that key;
//  5. generates the audit signing key in 9C the same way, with a
//     certificate "CN=Valv audit signing key".
//
// With a touch policy, the YubiKey waits for a touch at each certificate
// (4 and 5; with TouchCached one touch usually covers both): tell the user
// before calling. The session is unlocked with the new PIN afterwards.
//
// A failure after step 2 leaves the new PIN and PUK set; one in step 4 or
// 5 may leave a key without its certificate, which counts as occupied.
func (s *Session) Enrol(o EnrolOptions) (*Enrolment, error) {
	if err := checkOptions(o); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	yk, err := s.card()
	if err != nil {
		return nil, err
	}
	if err := yk.VerifyPIN(o.PIN); err != nil {
		return nil, s.pinErr(err)
	}
	slot, err := s.chooseSlot(o.Slot, o.Force)
	if err != nil {
		return nil, err
	}
	if !o.Force {
		if used, err := s.slotUsed(piv.SlotSignature); err != nil {
			return nil, err
		} else if used {
			return nil, &SlotInUseError{Slot: 0x9c}
		}
	}

	if err := yk.SetPUK(o.PUK, o.NewPUK); err != nil {
		return nil, s.pukErr(err)
	}
	if err := yk.SetPIN(o.PIN, o.NewPIN); err != nil {
		return nil, s.pinErr(err)
	}
	key, changed, err := managementKey(yk, o.NewPIN)
	if err != nil {
		return nil, s.cardErr(err)
	}
	defer clear(key)
	if err := s.flagStoredKey(key, changed); err != nil {
		return nil, err
	}
	yk = s.yk
	if err := yk.VerifyPIN(o.NewPIN); err != nil {
		return nil, s.pinErr(err)
	}
	s.unlocked.Store(true)

	holderPub, err := s.generate(key, slot, o.Touch, holderSubject(o.Name), 0)
	if err != nil {
		return nil, err
	}
	signPub, err := s.generate(key, piv.SlotSignature, o.Touch, signingSubject(), x509.KeyUsageDigitalSignature)
	if err != nil {
		return nil, err
	}
	e, err := newEnrolment(s.info.Serial, byte(slot.Key), holderName(o.Name), holderPub, signPub, o.Touch)
	if err != nil {
		return nil, err
	}
	s.holder = e
	return e, nil
}

func checkOptions(o EnrolOptions) error {
	if err := checkLength(o.PIN, "PIN"); err != nil {
		return err
	}
	if err := checkLength(o.PUK, "PUK"); err != nil {
		return err
	}
	if err := checkNewPUK(o.NewPUK); err != nil {
		return err
	}
	if err := checkNewPIN(o.NewPIN, o.NewPUK); err != nil {
		return err
	}
	if err := checkName(o.Name); err != nil {
		return err
	}
	if o.Touch < TouchCached || o.Touch > TouchAlways {
		return fmt.Errorf("unknown touch policy %v", o.Touch)
	}
	if o.Slot != 0 && (o.Slot < pivage.FirstRetiredSlot || o.Slot > pivage.LastRetiredSlot) {
		return fmt.Errorf("slot %02x is not a retired slot: choose one of 82–95", o.Slot)
	}
	return nil
}

// generate makes a P-256 key in slot (PIN policy once) and stores its
// certificate, signed on the card. s.mu must be held, the PIN verified.
func (s *Session) generate(mgmt []byte, slot piv.Slot, touch Touch, subject pkix.Name, usage x509.KeyUsage) (*ecdsa.PublicKey, error) {
	pub, err := s.yk.GenerateKey(mgmt, slot, piv.Key{
		Algorithm:   piv.AlgorithmEC256,
		PINPolicy:   piv.PINPolicyOnce,
		TouchPolicy: touch.piv(),
	})
	if err != nil {
		return nil, s.cardErr(fmt.Errorf("generating a key in slot %s: %w", slot, err))
	}
	ec, err := p256Key(pub)
	if err != nil {
		return nil, err
	}
	priv, err := s.yk.PrivateKey(slot, ec, piv.KeyAuth{PINPolicy: piv.PINPolicyOnce})
	if err != nil {
		return nil, err
	}
	cert, err := selfSign(priv.(*piv.ECDSAPrivateKey), ec, subject, touch, usage)
	if err != nil {
		return nil, s.cardErr(fmt.Errorf("signing the certificate of slot %s on the card: %w", slot, err))
	}
	if err := s.yk.SetCertificate(mgmt, slot, cert); err != nil {
		return nil, s.cardErr(fmt.Errorf("storing the certificate of slot %s: %w", slot, err))
	}
	return ec, nil
}

// newEnrolment assembles what Enrol and Holder return.
func newEnrolment(serial uint32, slot byte, name string, holder, signing *ecdsa.PublicKey, touch Touch) (*Enrolment, error) {
	r, err := pivage.NewRecipient(holder)
	if err != nil {
		return nil, err
	}
	id, err := pivage.EncodeIdentity(serial, slot, holder)
	if err != nil {
		return nil, err
	}
	return &Enrolment{
		Serial: serial, Slot: slot, Name: name,
		Recipient: r, Identity: id, SigningKey: signing, Touch: touch,
		key: holder,
	}, nil
}
