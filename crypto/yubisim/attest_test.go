package yubisim

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/asn1"
	"testing"
)

// attestationCert reads the certificate in object 5FFF01.
func attestationCert(t *testing.T, c *Card) *x509.Certificate {
	t.Helper()
	obj := mustSend(t, c, insGetData, 0x3f, 0xff, []byte{0x5c, 0x03, 0x5f, 0xff, 0x01})
	inner, ok := parseSingleTLV(obj, 0x53)
	if !ok {
		t.Fatalf("object %x", obj)
	}
	ts, err := parseTLVs(inner)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(tlvMap(ts)[0x70])
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestAttestation(t *testing.T) {
	c, err := New(Config{Serial: 23456789})
	if err != nil {
		t.Fatal(err)
	}
	att := attestationCert(t, c)
	if len(att.Subject.Organization) != 1 || att.Subject.Organization[0] != AttestationOrganization ||
		att.Subject.CommonName != "SIMULATED YubiKey - software keys, not secure" {
		t.Errorf("attestation subject %v", att.Subject)
	}
	if err := att.CheckSignatureFrom(att); err != nil {
		t.Errorf("not self-signed: %v", err)
	}

	_, sw := send(t, c, insAttest, 0x9a, 0, nil)
	wantSW(t, sw, swWrongData) // empty slot
	_, sw = send(t, c, insAttest, 0x9b, 0, nil)
	wantSW(t, sw, swWrongP1P2)

	mustAuthMgmt(t, c)
	roots := x509.NewCertPool()
	roots.AddCert(att)
	for _, tc := range []struct {
		slot, alg, pin, touch byte
	}{
		{0x9a, algP256, pinNever, touchNever},
		{0x9c, algP384, pinAlways, touchCached},
		{0x95, algEd25519, pinOnce, touchAlways},
		{0x82, algX25519, pinOnce, touchNever},
	} {
		generate(t, c, tc.slot, tc.alg, tc.pin, tc.touch)
		der := mustSend(t, c, insAttest, tc.slot, 0, nil)
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatalf("slot %02x: %v", tc.slot, err)
		}
		if err := cert.CheckSignatureFrom(att); err != nil {
			t.Errorf("slot %02x: %v", tc.slot, err)
		}
		if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			t.Errorf("slot %02x: %v", tc.slot, err)
		}
		if want := "YubiKey PIV Attestation " + hexByte(tc.slot); cert.Subject.CommonName != want {
			t.Errorf("subject %q, want %q", cert.Subject.CommonName, want)
		}
		// crypto/x509 leaves PublicKey nil for X25519: parse the SPKI.
		certPub, err := x509.ParsePKIXPublicKey(cert.RawSubjectPublicKeyInfo)
		if err != nil {
			t.Fatal(err)
		}
		pub := c.SoftwareKey(tc.slot).(interface{ Public() crypto.PublicKey }).Public()
		if !pub.(interface{ Equal(crypto.PublicKey) bool }).Equal(certPub) {
			t.Errorf("slot %02x: certified another key", tc.slot)
		}
		ext := map[string][]byte{}
		for _, e := range cert.Extensions {
			ext[e.Id.String()] = e.Value
		}
		const yk = "1.3.6.1.4.1.41482.3."
		var serial int64
		if _, err := asn1.Unmarshal(ext[yk+"7"], &serial); err != nil || serial != 23456789 {
			t.Errorf("serial extension %x", ext[yk+"7"])
		}
		if !bytes.Equal(ext[yk+"3"], []byte{5, 7, 1}) || !bytes.Equal(ext[yk+"8"], []byte{tc.pin, tc.touch}) || !bytes.Equal(ext[yk+"9"], []byte{1}) {
			t.Errorf("extensions %x", ext)
		}
	}
	if _, ok := c.SoftwareKey(0x82).(*ecdh.PrivateKey); !ok {
		t.Error("82 is not X25519")
	}
	if _, ok := c.SoftwareKey(0x95).(ed25519.PrivateKey); !ok {
		t.Error("95 is not Ed25519")
	}
}

func hexByte(b byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[b>>4], digits[b&15]})
}
