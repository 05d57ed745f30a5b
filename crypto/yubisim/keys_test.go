package yubisim

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"math/big"
	"testing"
)

func generate(t *testing.T, c *Card, slot, alg, pin, touch byte) []byte {
	t.Helper()
	return mustSend(t, c, insGenerate, 0, slot, []byte{0xac, 0x09, 0x80, 0x01, alg, 0xaa, 0x01, pin, 0xab, 0x01, touch})
}

// dynAuth sends GENERAL AUTHENTICATE 7C {82 00, tag data} and unwraps 82.
func dynAuth(t *testing.T, c *Card, alg, slot, tag byte, data []byte) ([]byte, uint16) {
	t.Helper()
	resp, sw := send(t, c, insAuthenticate, alg, slot, encodeTLV(0x7c, concat([]byte{0x82, 0x00}, encodeTLV(uint32(tag), data))))
	if sw != swOK {
		return nil, sw
	}
	inner, ok := parseSingleTLV(resp, 0x7c)
	if !ok {
		t.Fatalf("answer %x", resp)
	}
	out, ok := parseSingleTLV(inner, 0x82)
	if !ok {
		t.Fatalf("answer %x", resp)
	}
	return out, sw
}

func TestP256GenerateECDHAndSign(t *testing.T) {
	c := newSimCard(t, "")
	_, sw := send(t, c, insGenerate, 0, 0x82, []byte{0xac, 0x03, 0x80, 0x01, algP256})
	wantSW(t, sw, swSecurityStatus)
	mustAuthMgmt(t, c)
	resp := generate(t, c, 0x82, algP256, pinOnce, touchAlways)
	if len(resp) != 70 || !bytes.Equal(resp[:5], []byte{0x7f, 0x49, 0x43, 0x86, 0x41}) {
		t.Fatalf("GENERATE answer %x", resp)
	}
	pub, err := ecdh.P256().NewPublicKey(resp[5:])
	if err != nil {
		t.Fatal(err)
	}
	priv := c.SoftwareKey(0x82).(*ecdsa.PrivateKey)
	if privECDH, _ := priv.ECDH(); !privECDH.PublicKey().Equal(pub) {
		t.Fatal("GENERATE answered another public key than the slot's")
	}

	peer, _ := ecdh.P256().GenerateKey(rand.Reader)
	_, sw = dynAuth(t, c, algP256, 0x82, 0x85, peer.PublicKey().Bytes())
	wantSW(t, sw, swSecurityStatus) // PIN policy once
	wantSW(t, presentPIN(t, c, "123456"), swOK)
	for range 2 {
		secret, sw := dynAuth(t, c, algP256, 0x82, 0x85, peer.PublicKey().Bytes())
		wantSW(t, sw, swOK)
		want, _ := peer.ECDH(pub)
		if !bytes.Equal(secret, want) {
			t.Fatal("shared secret differs")
		}
	}

	digest := sha256.Sum256([]byte("hello"))
	sig, sw := dynAuth(t, c, algP256, 0x82, 0x81, digest[:])
	wantSW(t, sw, swOK)
	if !ecdsa.VerifyASN1(&priv.PublicKey, digest[:], sig) {
		t.Fatal("signature does not verify")
	}
	short := []byte("Test data to sign") // piv-go's test signs 17 bytes as is
	sig, _ = dynAuth(t, c, algP256, 0x82, 0x81, short)
	if !ecdsa.VerifyASN1(&priv.PublicKey, short, sig) {
		t.Fatal("signature of a short digest does not verify")
	}

	// Errors: wrong algorithm, bad point, too long digest, empty slot.
	_, sw = dynAuth(t, c, algP384, 0x82, 0x81, digest[:])
	wantSW(t, sw, swWrongP1P2)
	_, sw = dynAuth(t, c, algP256, 0x82, 0x85, make([]byte, 65))
	wantSW(t, sw, swWrongData)
	_, sw = dynAuth(t, c, algP256, 0x82, 0x81, make([]byte, 33))
	wantSW(t, sw, swWrongData)
	_, sw = dynAuth(t, c, algP256, 0x83, 0x81, digest[:])
	wantSW(t, sw, swFileNotFound)
	_, sw = dynAuth(t, c, algP256, slotAttestation, 0x81, digest[:])
	wantSW(t, sw, swWrongP1P2)
}

func TestPINPolicies(t *testing.T) {
	c := newSimCard(t, "")
	mustAuthMgmt(t, c)
	digest := sha256.Sum256([]byte("x"))
	for _, tc := range []struct {
		slot, pin byte
	}{
		{0x9c, 0x00}, // default for 9C: always
		{0x9a, pinAlways},
	} {
		generate(t, c, tc.slot, algP256, tc.pin, 0)
		_, sw := dynAuth(t, c, algP256, tc.slot, 0x81, digest[:])
		wantSW(t, sw, swSecurityStatus)
		wantSW(t, presentPIN(t, c, "123456"), swOK)
		_, sw = dynAuth(t, c, algP256, tc.slot, 0x81, digest[:])
		wantSW(t, sw, swOK)
		_, sw = dynAuth(t, c, algP256, tc.slot, 0x81, digest[:])
		wantSW(t, sw, swSecurityStatus)
		c.PowerOff()
		mustAuthMgmt(t, c)
	}

	generate(t, c, 0x9e, algP256, 0x00, 0) // default for 9E: never
	_, sw := dynAuth(t, c, algP256, 0x9e, 0x81, digest[:])
	wantSW(t, sw, swOK)
	generate(t, c, 0x9d, algP256, 0x00, 0) // default elsewhere: once
	_, sw = dynAuth(t, c, algP256, 0x9d, 0x81, digest[:])
	wantSW(t, sw, swSecurityStatus)

	md := mustSend(t, c, insGetMetadata, 0, 0x9c, nil)
	if !bytes.Equal(md[:10], []byte{0x01, 0x01, algP256, 0x02, 0x02, pinAlways, touchNever, 0x03, 0x01, originGenerated}) {
		t.Errorf("9C metadata %x", md)
	}
	_, sw = send(t, c, insGenerate, 0, 0x9a, []byte{0xac, 0x06, 0x80, 0x01, algP256, 0xaa, 0x01, 0x04})
	wantSW(t, sw, swWrongData) // Bio "match" policies
}

func TestAlgorithms(t *testing.T) {
	c := newSimCard(t, "5.7.1")
	mustAuthMgmt(t, c)
	wantSW(t, presentPIN(t, c, "123456"), swOK)
	digest := sha256.Sum256([]byte("hello"))

	resp := generate(t, c, 0x9a, algP384, pinNever, touchNever)
	if len(resp) != 5+97 {
		t.Fatalf("P-384 GENERATE %x", resp)
	}
	sig, _ := dynAuth(t, c, algP384, 0x9a, 0x81, digest[:])
	if !ecdsa.VerifyASN1(&c.SoftwareKey(0x9a).(*ecdsa.PrivateKey).PublicKey, digest[:], sig) {
		t.Error("P-384 signature")
	}

	resp = generate(t, c, 0x9a, algEd25519, pinNever, touchNever)
	if !bytes.Equal(resp[:5], []byte{0x7f, 0x49, 0x22, 0x86, 0x20}) {
		t.Fatalf("Ed25519 GENERATE %x", resp)
	}
	msg := bytes.Repeat([]byte("long message "), 40) // chained
	sig, _ = dynAuth(t, c, algEd25519, 0x9a, 0x81, msg)
	if !ed25519.Verify(resp[5:], msg, sig) {
		t.Error("Ed25519 signature")
	}
	_, sw := dynAuth(t, c, algEd25519, 0x9a, 0x85, resp[5:])
	wantSW(t, sw, swWrongData)

	resp = generate(t, c, 0x9a, algX25519, pinNever, touchNever)
	pub, err := ecdh.X25519().NewPublicKey(resp[5:])
	if err != nil {
		t.Fatal(err)
	}
	peer, _ := ecdh.X25519().GenerateKey(rand.Reader)
	secret, _ := dynAuth(t, c, algX25519, 0x9a, 0x85, peer.PublicKey().Bytes())
	if want, _ := peer.ECDH(pub); !bytes.Equal(secret, want) {
		t.Error("X25519 shared secret")
	}
	_, sw = dynAuth(t, c, algX25519, 0x9a, 0x85, make([]byte, 32)) // low order point
	wantSW(t, sw, swWrongData)
	_, sw = dynAuth(t, c, algX25519, 0x9a, 0x81, digest[:])
	wantSW(t, sw, swWrongData)

	// Before 5.7 there is no Ed25519, X25519, RSA 3072 or 4096.
	old := newSimCard(t, "5.4.3")
	mustAuthMgmt(t, old)
	for _, alg := range []byte{algEd25519, algX25519, algRSA3072, algRSA4096, 0x99} {
		_, sw := send(t, old, insGenerate, 0, 0x9a, []byte{0xac, 0x03, 0x80, 0x01, alg})
		wantSW(t, sw, swWrongData)
	}
	_, sw = send(t, old, insGenerate, 0, 0x9b, []byte{0xac, 0x03, 0x80, 0x01, algP256})
	wantSW(t, sw, swWrongP1P2)
	_, sw = send(t, old, insGenerate, 0, slotAttestation, []byte{0xac, 0x03, 0x80, 0x01, algP256})
	wantSW(t, sw, swWrongP1P2)
}

func TestRSA(t *testing.T) {
	c := newSimCard(t, "")
	mustAuthMgmt(t, c)
	resp := generate(t, c, 0x9d, algRSA1024, pinNever, touchNever)
	pub, err := decodeRSAPublic(resp)
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(c.SoftwareKey(0x9d).(*rsa.PrivateKey).Public()) {
		t.Fatal("GENERATE answered another public key than the slot's")
	}

	// Signing: the client pads, the card applies the key.
	digest := sha256.Sum256([]byte("hello"))
	prefix := []byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}
	block := concat([]byte{0x00, 0x01}, bytes.Repeat([]byte{0xff}, pub.Size()-3-len(prefix)-32), []byte{0x00}, prefix, digest[:])
	sig, sw := dynAuth(t, c, algRSA1024, 0x9d, 0x81, block)
	wantSW(t, sw, swOK)
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
		t.Fatal(err)
	}

	// Decryption: the card returns the padded block.
	// (PKCS #1 v1.5 type 2 by hand: crypto/rsa deprecates that encryption.)
	em := concat([]byte{0x00, 0x02}, bytes.Repeat([]byte{0x5a}, pub.Size()-9), []byte("\x00secret"))
	ct := new(big.Int).Exp(new(big.Int).SetBytes(em), big.NewInt(int64(pub.E)), pub.N).FillBytes(make([]byte, pub.Size()))
	pt, sw := dynAuth(t, c, algRSA1024, 0x9d, 0x81, ct)
	wantSW(t, sw, swOK)
	if !bytes.Equal(pt, em) {
		t.Fatalf("decrypted block %x", pt)
	}
	_, sw = dynAuth(t, c, algRSA1024, 0x9d, 0x81, ct[1:])
	wantSW(t, sw, swWrongData)
	_, sw = dynAuth(t, c, algRSA1024, 0x9d, 0x81, bytes.Repeat([]byte{0xff}, pub.Size()))
	wantSW(t, sw, swWrongData)
}

func decodeRSAPublic(resp []byte) (*rsa.PublicKey, error) {
	inner, ok := parseSingleTLV(resp, 0x7f49)
	if !ok {
		return nil, errTLV
	}
	ts, err := parseTLVs(inner)
	if err != nil || len(ts) != 2 || ts[0].tag != 0x81 || ts[1].tag != 0x82 {
		return nil, errTLV
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(ts[0].value), E: int(new(big.Int).SetBytes(ts[1].value).Int64())}, nil
}

// importTLVs encodes a key as piv-go's SetPrivateKeyInsecure does.
func importTLVs(t *testing.T, priv crypto.PrivateKey) (byte, []byte) {
	t.Helper()
	params := func(tag byte, n int, vals ...[]byte) []byte {
		var out []byte
		for i, v := range vals {
			out = append(out, encodeTLV(uint32(tag)+uint32(i), fixedLen(v, n))...)
		}
		return out
	}
	switch k := priv.(type) {
	case *ecdsa.PrivateKey:
		d, _ := k.Bytes()
		return keyAlg(k), params(0x06, len(d), d)
	case ed25519.PrivateKey:
		return algEd25519, params(0x07, 32, k.Seed())
	case *ecdh.PrivateKey:
		return algX25519, params(0x08, 32, k.Bytes())
	case *rsa.PrivateKey:
		// dP, dQ and qInv, computed rather than read from the deprecated
		// Precomputed fields.
		p, q := k.Primes[0], k.Primes[1]
		one := big.NewInt(1)
		dp := new(big.Int).Mod(k.D, new(big.Int).Sub(p, one))
		dq := new(big.Int).Mod(k.D, new(big.Int).Sub(q, one))
		qinv := new(big.Int).ModInverse(q, p)
		return keyAlg(k), params(0x01, k.Size()/2, p.Bytes(), q.Bytes(), dp.Bytes(), dq.Bytes(), qinv.Bytes())
	}
	t.Fatalf("unsupported key %T", priv)
	return 0, nil
}

func TestImport(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	x, _ := ecdh.X25519().GenerateKey(rand.Reader)
	r, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	c := newSimCard(t, "")
	for _, priv := range []crypto.PrivateKey{ec, ec384, ed, x, r} {
		alg, tlvs := importTLVs(t, priv)
		data := concat(tlvs, []byte{0xaa, 0x01, pinNever, 0xab, 0x01, touchCached})
		_, sw := send(t, c, insImportKey, alg, 0x9a, data)
		wantSW(t, sw, swSecurityStatus)
		mustAuthMgmt(t, c)
		mustSend(t, c, insImportKey, alg, 0x9a, data)

		got := c.SoftwareKey(0x9a).(interface{ Equal(crypto.PrivateKey) bool })
		if !got.Equal(priv) {
			t.Errorf("alg %02x: imported key differs", alg)
		}
		md := mustSend(t, c, insGetMetadata, 0, 0x9a, nil)
		want := concat([]byte{0x01, 0x01, alg, 0x02, 0x02, pinNever, touchCached, 0x03, 0x01, originImported}, encodeTLV(0x04, publicKeyTLVs(priv)))
		if !bytes.Equal(md, want) {
			t.Errorf("alg %02x: metadata %x, want %x", alg, md, want)
		}
		_, sw = send(t, c, insAttest, 0x9a, 0, nil)
		wantSW(t, sw, swWrongData) // imported keys are not attested
		c.PowerOff()
	}
	mustAuthMgmt(t, c)

	// Broken keys are refused.
	alg, tlvs := importTLVs(t, r)
	tlvs[len(tlvs)-1] ^= 1 // qInv
	_, sw := send(t, c, insImportKey, alg, 0x9a, tlvs)
	wantSW(t, sw, swWrongData)
	_, sw = send(t, c, insImportKey, algP256, 0x9a, encodeTLV(0x06, bytes.Repeat([]byte{0xff}, 32)))
	wantSW(t, sw, swWrongData)
	_, sw = send(t, c, insImportKey, algP256, 0x9a, encodeTLV(0x06, make([]byte, 33)))
	wantSW(t, sw, swWrongData)
	_, sw = send(t, c, insImportKey, algEd25519, 0x9a, encodeTLV(0x07, make([]byte, 31)))
	wantSW(t, sw, swWrongData)

	// The attestation slot accepts an import.
	alg, tlvs = importTLVs(t, ec)
	mustSend(t, c, insImportKey, alg, slotAttestation, tlvs)
	if !c.SoftwareKey(slotAttestation).(*ecdsa.PrivateKey).Equal(ec) {
		t.Error("attestation key not replaced")
	}
}
