package yubisim

import (
	"bytes"
	"testing"
)

func TestPINRetriesBlockAndUnblock(t *testing.T) {
	c := newSimCard(t, "")
	_, sw := raw(t, c, "0020008000")
	wantSW(t, sw, 0x63c3)
	wantSW(t, presentPIN(t, c, "000000"), 0x63c2)
	wantSW(t, presentPIN(t, c, "0"), 0x63c1) // any length costs a try
	wantSW(t, presentPIN(t, c, "11111111"), swAuthBlocked)
	wantSW(t, presentPIN(t, c, "123456"), swAuthBlocked)
	_, sw = raw(t, c, "0020008000")
	wantSW(t, sw, swAuthBlocked)
	_, sw = send(t, c, insVerify, 0, refPIN, []byte("1234567")) // not padded to 8
	wantSW(t, sw, swAuthBlocked)

	// Unblock with the PUK: a wrong PUK costs a PUK try.
	_, sw = send(t, c, insResetRetry, 0, refPIN, concat(padPIN("87654321"), padPIN("654321")))
	wantSW(t, sw, 0x63c2)
	_, sw = send(t, c, insResetRetry, 0, refPIN, concat(padPIN("12345678"), padPIN("12345")))
	wantSW(t, sw, swWrongData)
	mustSend(t, c, insResetRetry, 0, refPIN, concat(padPIN("12345678"), padPIN("654321")))
	wantSW(t, presentPIN(t, c, "654321"), swOK)
	_, sw = raw(t, c, "0020008000")
	wantSW(t, sw, swOK)

	// A wrong PIN drops the verification; P1 FF drops it too.
	wantSW(t, presentPIN(t, c, "000000"), 0x63c2)
	_, sw = raw(t, c, "0020008000")
	wantSW(t, sw, 0x63c2)
	wantSW(t, presentPIN(t, c, "654321"), swOK)
	_, sw = raw(t, c, "0020ff8000")
	wantSW(t, sw, swOK)
	_, sw = raw(t, c, "0020008000")
	wantSW(t, sw, 0x63c3)

	_, sw = raw(t, c, "0020009602030000")
	wantSW(t, sw, swReferenceNotFound)
}

func TestChangePINAndPUK(t *testing.T) {
	c := newSimCard(t, "")
	_, sw := send(t, c, insChangeRef, 0, refPIN, concat(padPIN("654321"), padPIN("654321")))
	wantSW(t, sw, 0x63c2)
	for _, bad := range [][]byte{padPIN("12345"), {'1', '2', '3', '4', '5', '6', 0xff, '7'}} {
		_, sw = send(t, c, insChangeRef, 0, refPIN, concat(padPIN("123456"), bad))
		wantSW(t, sw, swWrongData)
	}
	mustSend(t, c, insChangeRef, 0, refPIN, concat(padPIN("123456"), padPIN("87654321")))
	wantSW(t, presentPIN(t, c, "123456"), 0x63c2)
	wantSW(t, presentPIN(t, c, "87654321"), swOK)
	md := mustSend(t, c, insGetMetadata, 0, refPIN, nil)
	if want := []byte{0x01, 0x01, 0xff, 0x05, 0x01, 0x00, 0x06, 0x02, 0x03, 0x03}; !bytes.Equal(md, want) {
		t.Errorf("PIN metadata %x, want %x", md, want)
	}

	_, sw = send(t, c, insChangeRef, 0, refPUK, concat(padPIN("00000000"), padPIN("11223344")))
	wantSW(t, sw, 0x63c2)
	mustSend(t, c, insChangeRef, 0, refPUK, concat(padPIN("12345678"), padPIN("11223344")))
	md = mustSend(t, c, insGetMetadata, 0, refPUK, nil)
	if want := []byte{0x01, 0x01, 0xff, 0x05, 0x01, 0x00, 0x06, 0x02, 0x03, 0x03}; !bytes.Equal(md, want) {
		t.Errorf("PUK metadata %x, want %x", md, want)
	}
	_, sw = send(t, c, insChangeRef, 0, 0x82, concat(padPIN("11223344"), padPIN("11223344")))
	wantSW(t, sw, swWrongP1P2)
	_, sw = send(t, c, insChangeRef, 0, refPIN, padPIN("87654321"))
	wantSW(t, sw, swWrongData)
}

func TestResetOnlyWhenBlocked(t *testing.T) {
	c := newSimCard(t, "")
	mustAuthMgmt(t, c)
	mustSend(t, c, insGenerate, 0, 0x9a, []byte{0xac, 0x03, 0x80, 0x01, algP256})
	mustSend(t, c, insPutData, 0x3f, 0xff, []byte{0x5c, 0x03, 0x5f, 0xff, 0x00, 0x53, 0x03, 0x80, 0x01, 0x02})
	attCert := mustSend(t, c, insGetData, 0x3f, 0xff, []byte{0x5c, 0x03, 0x5f, 0xff, 0x01})
	chuid := mustSend(t, c, insGetData, 0x3f, 0xff, []byte{0x5c, 0x03, 0x5f, 0xc1, 0x02})
	att := c.SoftwareKey(slotAttestation)

	_, sw := raw(t, c, "00fb000000")
	wantSW(t, sw, swConditionsNotMet)
	for presentPIN(t, c, "000000") != swAuthBlocked {
	}
	_, sw = raw(t, c, "00fb000000")
	wantSW(t, sw, swConditionsNotMet)
	for {
		_, sw := send(t, c, insChangeRef, 0, refPUK, concat(padPIN("00000000"), padPIN("00000000")))
		if sw == swAuthBlocked {
			break
		}
	}
	_, sw = raw(t, c, "00fb000000")
	wantSW(t, sw, swOK)

	if c.SoftwareKey(0x9a) != nil {
		t.Error("key survived reset")
	}
	if c.SoftwareKey(slotAttestation) != att {
		t.Error("attestation key changed")
	}
	_, sw = send(t, c, insGetData, 0x3f, 0xff, []byte{0x5c, 0x03, 0x5f, 0xff, 0x00})
	wantSW(t, sw, swFileNotFound)
	if got := mustSend(t, c, insGetData, 0x3f, 0xff, []byte{0x5c, 0x03, 0x5f, 0xff, 0x01}); !bytes.Equal(got, attCert) {
		t.Error("attestation certificate changed")
	}
	if got := mustSend(t, c, insGetData, 0x3f, 0xff, []byte{0x5c, 0x03, 0x5f, 0xc1, 0x02}); bytes.Equal(got, chuid) {
		t.Error("CHUID not renewed")
	}
	_, sw = send(t, c, insPutData, 0x3f, 0xff, []byte{0x5c, 0x03, 0x5f, 0xff, 0x00, 0x53, 0x00})
	wantSW(t, sw, swSecurityStatus) // the session is gone
	wantSW(t, presentPIN(t, c, "123456"), swOK)
	mustAuthMgmt(t, c)
}

func TestSetPINRetries(t *testing.T) {
	c := newSimCard(t, "")
	_, sw := raw(t, c, "00fa0503")
	wantSW(t, sw, swSecurityStatus)
	mustAuthMgmt(t, c)
	_, sw = raw(t, c, "00fa0503")
	wantSW(t, sw, swSecurityStatus) // needs the PIN as well
	mustSend(t, c, insChangeRef, 0, refPIN, concat(padPIN("123456"), padPIN("999999")))
	wantSW(t, presentPIN(t, c, "999999"), swOK)
	_, sw = raw(t, c, "00fa0003")
	wantSW(t, sw, swWrongP1P2)
	_, sw = raw(t, c, "00fa1403")
	wantSW(t, sw, swOK)

	// PIN back to the default, 20 tries (shown as 15 in 63Cx).
	md := mustSend(t, c, insGetMetadata, 0, refPIN, nil)
	if want := []byte{0x01, 0x01, 0xff, 0x05, 0x01, 0x01, 0x06, 0x02, 20, 20}; !bytes.Equal(md, want) {
		t.Errorf("PIN metadata %x, want %x", md, want)
	}
	_, sw = raw(t, c, "0020008000")
	wantSW(t, sw, 0x63cf)
	wantSW(t, presentPIN(t, c, "999999"), 0x63cf)
	wantSW(t, presentPIN(t, c, "123456"), swOK)
	md = mustSend(t, c, insGetMetadata, 0, refPUK, nil)
	if want := []byte{0x01, 0x01, 0xff, 0x05, 0x01, 0x01, 0x06, 0x02, 3, 3}; !bytes.Equal(md, want) {
		t.Errorf("PUK metadata %x, want %x", md, want)
	}
}
