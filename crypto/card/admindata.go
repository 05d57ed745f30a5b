package card

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"

	"github.com/valv-vault/valv/crypto/card/pcsc"
)

// The admin data object of ykman ("PIVMAN data", object 5FFF00; ykman/piv.py
// PivmanData, also written by yubico-piv-tool and age-plugin-yubikey's
// yubikey crate). Readable without the PIN, written with the management
// key:
//
//	53 L { 80 L { 81 01 <flags>, 82 L <salt>, 83 04 <PIN timestamp> } }
//
// flags bit 0x01 is "PUK blocked on purpose", 0x02 "management key stored
// in the PIN-protected object 5FC109". The salt is for ykman's old
// PIN-derived management key, which a newly set key replaces. ykman piv
// info reports "Management key is stored on the YubiKey, protected by
// PIN." from the 0x02 flag, and ykman then fetches the key from 5FC109
// with the PIN instead of asking for it.
const (
	objAdminData      = 0x5fff00
	tagAdmin          = 0x80
	tagAdminFlags     = 0x81
	tagAdminSalt      = 0x82
	flagMgmtProtected = 0x02
)

// piv-go has no raw PUT DATA, and no way to send an APDU it does not know;
// setAdminFlag runs on a raw PC/SC connection of package pcsc instead
// (Session.raw), and authenticates with the management key itself.

// setAdminFlag marks the management key as stored in 5FC109, keeping the
// other fields of 5FFF00. clearSalt drops a PIN-derived key's salt, as
// ykman does when it sets a new key.
func setAdminFlag(t pcsc.Transmitter, mgmtKey []byte, clearSalt bool) error {
	if _, err := pcsc.Do(t, 0xa4, 0x04, 0x00, []byte{0xa0, 0x00, 0x00, 0x03, 0x08}); err != nil {
		return fmt.Errorf("selecting the PIV application: %w", err)
	}
	if err := authenticate(t, mgmtKey); err != nil {
		return err
	}
	old, err := getObject(t, objAdminData)
	if err != nil {
		return fmt.Errorf("reading the admin data object 5FFF00: %w", err)
	}
	next, err := adminDataWithStoredKey(old, clearSalt)
	if err != nil {
		return err
	}
	if slices.Equal(old, next) {
		return nil
	}
	if err := putObject(t, objAdminData, next); err != nil {
		return fmt.Errorf("writing the admin data object 5FFF00: %w", err)
	}
	return nil
}

// adminDataWithStoredKey returns the content of 5FFF00 (inside its 53)
// with the stored-key flag set. Fields it does not know are kept.
func adminDataWithStoredKey(old []byte, clearSalt bool) ([]byte, error) {
	var fields []tlv
	if len(old) > 0 {
		outer, err := parseTLVs(old)
		if err != nil || len(outer) != 1 || outer[0].tag != tagAdmin {
			return nil, errors.New("the admin data object 5FFF00 on this card is malformed: reset its PIV applet with `ykman piv reset`, or enrol another card")
		}
		if fields, err = parseTLVs(outer[0].value); err != nil {
			return nil, errors.New("the admin data object 5FFF00 on this card is malformed: reset its PIV applet with `ykman piv reset`, or enrol another card")
		}
	}
	flags := byte(0)
	var rest []byte
	for _, f := range fields {
		switch {
		case f.tag == tagAdminFlags && len(f.value) == 1:
			flags = f.value[0]
		case f.tag == tagAdminSalt && clearSalt:
		default:
			rest = append(rest, encodeTLV(f.tag, f.value)...)
		}
	}
	inner := append(encodeTLV(tagAdminFlags, []byte{flags | flagMgmtProtected}), rest...)
	return encodeTLV(tagAdmin, inner), nil
}

// authenticate proves knowledge of the management key to the card (PIV
// mutual authentication, GENERAL AUTHENTICATE on key 9B), with the
// algorithm the card reports in its metadata (YubiKey 5.3 and later), or
// 3DES on older cards, as piv-go does.
func authenticate(t pcsc.Transmitter, key []byte) error {
	alg := byte(0x03) // 3DES
	if md, err := pcsc.Do(t, 0xf7, 0x00, 0x9b, nil); err == nil {
		if fields, err := parseTLVs(md); err == nil {
			for _, f := range fields {
				if f.tag == 0x01 && len(f.value) == 1 {
					alg = f.value[0]
				}
			}
		}
	}
	var block cipher.Block
	var err error
	switch alg {
	case 0x03:
		block, err = des.NewTripleDESCipher(key)
	case 0x08, 0x0a, 0x0c:
		block, err = aes.NewCipher(key)
	default:
		return fmt.Errorf("the card's management key uses algorithm %02x, which Valv does not know", alg)
	}
	if err != nil {
		return fmt.Errorf("the management key does not fit the card's algorithm: %v", err)
	}
	n := block.BlockSize()

	resp, err := pcsc.Do(t, 0x87, alg, 0x9b, []byte{0x7c, 0x02, 0x80, 0x00})
	if err != nil {
		return fmt.Errorf("asking the card for a management key challenge: %w", err)
	}
	witness := dynamicAuth(resp, 0x80)
	if len(witness) != n {
		return errors.New("the card's management key challenge is malformed")
	}
	block.Decrypt(witness, witness)
	challenge := make([]byte, n)
	if _, err := rand.Read(challenge); err != nil {
		return err
	}
	req := encodeTLV(0x7c, append(encodeTLV(0x80, witness), encodeTLV(0x81, challenge)...))
	resp, err = pcsc.Do(t, 0x87, alg, 0x9b, req)
	if err != nil {
		return fmt.Errorf("the card refused the management key: %w", err)
	}
	want := make([]byte, n)
	block.Encrypt(want, challenge)
	if got := dynamicAuth(resp, 0x82); subtle.ConstantTimeCompare(got, want) != 1 {
		return errors.New("the card did not prove that it holds the management key")
	}
	return nil
}

// dynamicAuth returns the field tag of a 7C dynamic authentication
// template, or nil.
func dynamicAuth(b []byte, tag byte) []byte {
	outer, err := parseTLVs(b)
	if err != nil || len(outer) != 1 || outer[0].tag != 0x7c {
		return nil
	}
	inner, err := parseTLVs(outer[0].value)
	if err != nil {
		return nil
	}
	for _, f := range inner {
		if f.tag == tag {
			return f.value
		}
	}
	return nil
}

// getObject reads a data object and returns what is inside its 53 tag;
// nil if the card has no such object.
func getObject(t pcsc.Transmitter, id uint32) ([]byte, error) {
	resp, err := pcsc.Do(t, 0xcb, 0x3f, 0xff, objectTag(id))
	var se *pcsc.StatusError
	if errors.As(err, &se) && se.SW == 0x6a82 {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	f, err := parseTLVs(resp)
	if err != nil || len(f) != 1 || f[0].tag != 0x53 {
		return nil, fmt.Errorf("object %06X is malformed", id)
	}
	return f[0].value, nil
}

// putObject writes a data object (the management key must be
// authenticated).
func putObject(t pcsc.Transmitter, id uint32, value []byte) error {
	_, err := pcsc.Do(t, 0xdb, 0x3f, 0xff, append(objectTag(id), encodeTLV(0x53, value)...))
	return err
}

func objectTag(id uint32) []byte {
	return []byte{0x5c, 0x03, byte(id >> 16), byte(id >> 8), byte(id)}
}
