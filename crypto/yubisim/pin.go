package yubisim

import (
	"bytes"
	"crypto/subtle"
)

// PIN and PUK references (P2 of VERIFY, CHANGE REFERENCE, GET METADATA).
const (
	refPIN = 0x80
	refPUK = 0x81
)

const defaultRetries = 3

var (
	defaultPIN = []byte{'1', '2', '3', '4', '5', '6', 0xff, 0xff}
	defaultPUK = []byte("12345678")
)

// verify is VERIFY (INS 20) for the PIN. Empty data asks for the status:
// 9000 if verified in this session, 63Cx otherwise. P1 FF (a Yubico
// extension ykman uses) forgets the verification.
func (c *Card) verify(cmd command) uint16 {
	if cmd.p2 != refPIN {
		return swReferenceNotFound // also the Bio "verify UV" reference 96
	}
	switch {
	case cmd.p1 == 0xff && len(cmd.data) == 0:
		c.sess.pinVerified, c.sess.pinFresh = false, false
		return swOK
	case cmd.p1 != 0x00:
		return swWrongP1P2
	}
	if len(cmd.data) == 0 {
		switch {
		case c.st.pinLeft == 0:
			return swAuthBlocked
		case c.sess.pinVerified:
			return swOK
		}
		return retriesSW(c.st.pinLeft)
	}
	if len(cmd.data) != 8 && c.st.pinLeft > 0 {
		return swWrongData
	}
	sw := c.checkSecret(c.st.pin, &c.st.pinLeft, c.st.pinTotal, cmd.data)
	c.sess.pinVerified = sw == swOK
	c.sess.pinFresh = sw == swOK
	return sw
}

// checkSecret compares a presented PIN or PUK with the stored one in
// constant time and keeps the retry counter. A wrong value of any length
// costs a try; the try that blocks answers 6983, as do all after it.
func (c *Card) checkSecret(stored []byte, left *int, total int, presented []byte) uint16 {
	if *left == 0 {
		return swAuthBlocked
	}
	if subtle.ConstantTimeCompare(stored, presented) == 1 {
		if *left != total {
			*left = total
			c.changed()
		}
		return swOK
	}
	*left--
	c.changed()
	if *left == 0 {
		return swAuthBlocked
	}
	return retriesSW(*left)
}

// retriesSW is 63Cx; x has four bits, so more than 15 tries show as 15.
func retriesSW(left int) uint16 { return swVerifyFail | uint16(min(left, 15)) }

// validNewPIN accepts 6 to 8 bytes padded with FF to 8, as a YubiKey does
// for a new PIN or PUK.
func validNewPIN(b []byte) bool {
	if len(b) != 8 {
		return false
	}
	n := bytes.IndexByte(b, 0xff)
	if n < 0 {
		return true
	}
	for _, x := range b[n:] {
		if x != 0xff {
			return false
		}
	}
	return n >= 6
}

// changeReference is CHANGE REFERENCE DATA (INS 24): old ‖ new, 8 bytes
// each, for the PIN (80) or PUK (81). The old value is checked first, so a
// wrong one costs a try whatever the new one is.
func (c *Card) changeReference(cmd command) uint16 {
	if cmd.p1 != 0 || cmd.p2 != refPIN && cmd.p2 != refPUK {
		return swWrongP1P2
	}
	if len(cmd.data) != 16 {
		return swWrongData
	}
	secret, left, total := &c.st.pin, &c.st.pinLeft, c.st.pinTotal
	if cmd.p2 == refPUK {
		secret, left, total = &c.st.puk, &c.st.pukLeft, c.st.pukTotal
	}
	if sw := c.checkSecret(*secret, left, total, cmd.data[:8]); sw != swOK {
		return sw
	}
	if !validNewPIN(cmd.data[8:]) {
		return swWrongData
	}
	*secret = bytes.Clone(cmd.data[8:])
	c.changed()
	return swOK
}

// resetRetry is RESET RETRY COUNTER (INS 2C): PUK ‖ new PIN unblocks the PIN.
func (c *Card) resetRetry(cmd command) uint16 {
	if cmd.p1 != 0 || cmd.p2 != refPIN {
		return swWrongP1P2
	}
	if len(cmd.data) != 16 {
		return swWrongData
	}
	if sw := c.checkSecret(c.st.puk, &c.st.pukLeft, c.st.pukTotal, cmd.data[:8]); sw != swOK {
		return sw
	}
	if !validNewPIN(cmd.data[8:]) {
		return swWrongData
	}
	c.st.pin = bytes.Clone(cmd.data[8:])
	c.st.pinLeft = c.st.pinTotal
	c.changed()
	return swOK
}

// setPINRetries is Yubico's SET PIN RETRIES (INS FA, P1 PIN tries, P2 PUK
// tries). It needs the management key and the PIN in this session, and sets
// PIN and PUK back to their defaults, as on a real YubiKey.
func (c *Card) setPINRetries(cmd command) uint16 {
	if !c.sess.mgmtAuthed || !c.sess.pinVerified {
		return swSecurityStatus
	}
	if cmd.p1 == 0 || cmd.p2 == 0 {
		return swWrongP1P2
	}
	c.st.pinTotal, c.st.pinLeft = int(cmd.p1), int(cmd.p1)
	c.st.pukTotal, c.st.pukLeft = int(cmd.p2), int(cmd.p2)
	c.st.pin, c.st.puk = bytes.Clone(defaultPIN), bytes.Clone(defaultPUK)
	c.sess.pinVerified, c.sess.pinFresh = false, false
	c.changed()
	return swOK
}

// resetApplet is Yubico's RESET (INS FB): only with PIN and PUK both
// blocked. It deletes every key and object except the attestation key and
// certificate, and restores the default PIN, PUK, retries, management key
// and data objects.
func (c *Card) resetApplet(cmd command) uint16 {
	if c.st.pinLeft != 0 || c.st.pukLeft != 0 {
		return swConditionsNotMet
	}
	c.st.wipe(c.st.keys[slotAttestation], c.st.objects[objAttestation])
	c.sess = session{}
	c.changed()
	return swOK
}
