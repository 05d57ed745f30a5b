package yubisim

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/rand"
	"crypto/subtle"
)

// slotCardManagement is the management key reference (9B).
const slotCardManagement = 0x9b

// Management key algorithms (SP 800-78-4).
const (
	alg3DES   = 0x03
	algAES128 = 0x08
	algAES192 = 0x0a
	algAES256 = 0x0c
)

// Dynamic authentication template (7C) elements.
const (
	tagDynAuth     = 0x7c
	tagWitness     = 0x80
	tagChallenge   = 0x81
	tagResponse    = 0x82
	tagExponential = 0x85
)

var defaultMgmtKey = []byte{
	1, 2, 3, 4, 5, 6, 7, 8,
	1, 2, 3, 4, 5, 6, 7, 8,
	1, 2, 3, 4, 5, 6, 7, 8,
}

// defaultMgmtAlg is 3DES before firmware 5.7 and AES-192 from 5.7 on.
func defaultMgmtAlg(v [3]byte) byte {
	if v[0] > 5 || v[0] == 5 && v[1] >= 7 {
		return algAES192
	}
	return alg3DES
}

// mgmtKeyLen is the key length of a management key algorithm, 0 if unknown.
func mgmtKeyLen(alg byte) int {
	switch alg {
	case alg3DES, algAES192:
		return 24
	case algAES128:
		return 16
	case algAES256:
		return 32
	}
	return 0
}

func mgmtCipher(alg byte, key []byte) (cipher.Block, error) {
	if alg == alg3DES {
		return des.NewTripleDESCipher(key)
	}
	return aes.NewCipher(key)
}

// authenticateMgmt is GENERAL AUTHENTICATE (INS 87) with the management key
// (P2 9B), single-block ECB as SP 800-73-4 describes:
//
//   - mutual: 80 00 → card sends 80 E(witness); then 80 witness, 81
//     challenge → card checks the witness and sends 82 E(challenge);
//   - one way: 81 00 → card sends 81 challenge; then 82 E(challenge).
//
// A wrong witness or response answers 6982 and drops the authentication.
func (c *Card) authenticateMgmt(cmd command) ([]byte, uint16) {
	witness, challenge := c.sess.witness, c.sess.challenge
	c.sess.witness, c.sess.challenge = nil, nil
	if cmd.p1 != c.st.mgmtAlg {
		return nil, swWrongP1P2
	}
	inner, ok := parseSingleTLV(cmd.data, tagDynAuth)
	if !ok {
		return nil, swWrongData
	}
	elems, err := parseTLVs(inner)
	if err != nil {
		return nil, swWrongData
	}
	m := tlvMap(elems)
	block, err := mgmtCipher(c.st.mgmtAlg, c.st.mgmtKey)
	if err != nil {
		return nil, swWrongData
	}
	bs := block.BlockSize()
	w, hasW := m[tagWitness]
	ch, hasCh := m[tagChallenge]
	r, hasR := m[tagResponse]

	switch {
	case hasW && len(w) == 0 && !hasCh: // mutual, step 1
		c.sess.mgmtAuthed = false
		c.sess.witness = randomBytes(bs)
		out := make([]byte, bs)
		block.Encrypt(out, c.sess.witness)
		return encodeTLV(tagDynAuth, encodeTLV(tagWitness, out)), swOK

	case hasW && len(w) > 0 && hasCh: // mutual, step 2
		if witness == nil || len(ch) != bs {
			return nil, swWrongData
		}
		if subtle.ConstantTimeCompare(w, witness) != 1 {
			c.sess.mgmtAuthed = false
			return nil, swSecurityStatus
		}
		out := make([]byte, bs)
		block.Encrypt(out, ch)
		c.sess.mgmtAuthed = true
		return encodeTLV(tagDynAuth, encodeTLV(tagResponse, out)), swOK

	case hasCh && len(ch) == 0 && !hasW: // one way, step 1
		c.sess.mgmtAuthed = false
		c.sess.challenge = randomBytes(bs)
		return encodeTLV(tagDynAuth, encodeTLV(tagChallenge, c.sess.challenge)), swOK

	case hasR && len(r) > 0 && !hasW && !hasCh: // one way, step 2
		if challenge == nil {
			return nil, swWrongData
		}
		want := make([]byte, bs)
		block.Encrypt(want, challenge)
		if subtle.ConstantTimeCompare(r, want) != 1 {
			c.sess.mgmtAuthed = false
			return nil, swSecurityStatus
		}
		c.sess.mgmtAuthed = true
		return nil, swOK
	}
	return nil, swWrongData
}

// setMgmtKey is Yubico's SET MANAGEMENT KEY (INS FF, P1 FF, P2 FF or FE
// for touch required): alg ‖ 9B ‖ length ‖ key. AES keys need 5.4.
func (c *Card) setMgmtKey(cmd command) uint16 {
	if cmd.p1 != 0xff || cmd.p2 != 0xff && cmd.p2 != 0xfe {
		return swWrongP1P2
	}
	if !c.sess.mgmtAuthed {
		return swSecurityStatus
	}
	d := cmd.data
	if len(d) < 3 || d[1] != slotCardManagement || int(d[2]) != len(d)-3 {
		return swWrongData
	}
	alg, key := d[0], d[3:]
	if mgmtKeyLen(alg) == 0 || mgmtKeyLen(alg) != len(key) || alg != alg3DES && !c.atLeast(5, 4, 0) {
		return swWrongData
	}
	c.st.mgmtAlg, c.st.mgmtKey = alg, bytes.Clone(key)
	c.st.mgmtTouch = touchNever
	if cmd.p2 == 0xfe {
		c.st.mgmtTouch = touchAlways
	}
	c.changed()
	return swOK
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand.Read does not fail on supported platforms
	}
	return b
}
