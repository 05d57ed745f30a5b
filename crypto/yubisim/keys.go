package yubisim

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"math/big"
)

// Asymmetric algorithms (SP 800-78-4 and Yubico's 5.7 additions).
const (
	algRSA1024 = 0x06
	algRSA2048 = 0x07
	algRSA3072 = 0x05
	algRSA4096 = 0x16
	algP256    = 0x11
	algP384    = 0x14
	algEd25519 = 0xe0
	algX25519  = 0xe1
)

// Key slots with a fixed meaning; the retired slots are 82 to 95.
const (
	slotAuthentication = 0x9a
	slotSignature      = 0x9c
	slotKeyManagement  = 0x9d
	slotCardAuth       = 0x9e
	slotAttestation    = 0xf9
)

// PIN and touch policies (tags AA and AB), and key origins.
const (
	tagPINPolicy   = 0xaa
	tagTouchPolicy = 0xab

	pinNever  = 0x01
	pinOnce   = 0x02
	pinAlways = 0x03

	touchNever  = 0x01
	touchAlways = 0x02
	touchCached = 0x03

	originGenerated = 0x01
	originImported  = 0x02
)

// isKeySlot reports whether a slot holds a key usable with AUTHENTICATE.
func isKeySlot(s byte) bool {
	switch s {
	case slotAuthentication, slotSignature, slotKeyManagement, slotCardAuth:
		return true
	}
	return s >= 0x82 && s <= 0x95
}

// algSupported reports whether the firmware knows an algorithm: RSA
// 3072/4096, Ed25519 and X25519 came with 5.7.
func (c *Card) algSupported(alg byte) bool {
	switch alg {
	case algRSA1024, algRSA2048, algP256, algP384:
		return true
	case algRSA3072, algRSA4096, algEd25519, algX25519:
		return c.atLeast(5, 7, 0)
	}
	return false
}

func rsaBits(alg byte) int {
	switch alg {
	case algRSA1024:
		return 1024
	case algRSA2048:
		return 2048
	case algRSA3072:
		return 3072
	case algRSA4096:
		return 4096
	}
	return 0
}

// policies reads the AA and AB elements. Absent or 00 means the slot's
// default: PIN always for 9C, never for 9E, once elsewhere; touch never.
// The Bio-only "match" PIN policies are refused.
func policies(m map[uint32][]byte, slot byte) (pin, touch byte, ok bool) {
	pin, touch = pinOnce, touchNever
	switch slot {
	case slotSignature:
		pin = pinAlways
	case slotCardAuth, slotAttestation:
		pin = pinNever
	}
	if v, has := m[tagPINPolicy]; has {
		if len(v) != 1 || v[0] > pinAlways {
			return 0, 0, false
		}
		if v[0] != 0 {
			pin = v[0]
		}
	}
	if v, has := m[tagTouchPolicy]; has {
		if len(v) != 1 || v[0] > touchCached {
			return 0, 0, false
		}
		if v[0] != 0 {
			touch = v[0]
		}
	}
	return pin, touch, true
}

// generate is GENERATE ASYMMETRIC KEY PAIR (INS 47, P2 slot) with the
// template AC {80 alg, AA pin policy, AB touch policy}. It answers 7F49 with
// the public key. The simulator uses Go's crypto/rand and crypto packages.
func (c *Card) generate(cmd command) ([]byte, uint16) {
	if !c.sess.mgmtAuthed {
		return nil, swSecurityStatus
	}
	if cmd.p1 != 0 || !isKeySlot(cmd.p2) {
		return nil, swWrongP1P2
	}
	inner, ok := parseSingleTLV(cmd.data, 0xac)
	if !ok {
		return nil, swWrongData
	}
	elems, err := parseTLVs(inner)
	if err != nil {
		return nil, swWrongData
	}
	m := tlvMap(elems)
	a := m[0x80]
	if len(a) != 1 || !c.algSupported(a[0]) {
		return nil, swWrongData
	}
	pin, touch, ok := policies(m, cmd.p2)
	if !ok {
		return nil, swWrongData
	}
	priv, err := generateKey(a[0])
	if err != nil {
		return nil, swMemoryFailure
	}
	c.st.keys[cmd.p2] = &slotKey{a[0], pin, touch, originGenerated, priv}
	c.changed()
	return encodeTLV(0x7f49, publicKeyTLVs(priv)), swOK
}

func generateKey(alg byte) (crypto.PrivateKey, error) {
	switch alg {
	case algP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case algP384:
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case algEd25519:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	case algX25519:
		return ecdh.X25519().GenerateKey(rand.Reader)
	}
	return rsa.GenerateKey(rand.Reader, rsaBits(alg))
}

// publicKeyTLVs encodes a public key as in 7F49 and metadata tag 04: 86
// point for EC, Ed25519 and X25519; 81 modulus, 82 exponent for RSA.
func publicKeyTLVs(priv crypto.PrivateKey) []byte {
	switch k := priv.(type) {
	case *ecdsa.PrivateKey:
		pub, err := k.PublicKey.ECDH()
		if err != nil {
			return nil
		}
		return encodeTLV(0x86, pub.Bytes())
	case ed25519.PrivateKey:
		return encodeTLV(0x86, k.Public().(ed25519.PublicKey))
	case *ecdh.PrivateKey:
		return encodeTLV(0x86, k.PublicKey().Bytes())
	case *rsa.PrivateKey:
		return concat(encodeTLV(0x81, k.N.Bytes()), encodeTLV(0x82, big.NewInt(int64(k.E)).Bytes()))
	}
	return nil
}

// importKey is Yubico's IMPORT ASYMMETRIC KEY (INS FE, P1 alg, P2 slot):
// RSA as 01 P, 02 Q, 03 dP, 04 dQ, 05 qInv; EC as 06 private scalar;
// Ed25519 as 07 seed; X25519 as 08 scalar; then AA and AB policies. The
// attestation slot F9 accepts imports too.
func (c *Card) importKey(cmd command) uint16 {
	if !c.sess.mgmtAuthed {
		return swSecurityStatus
	}
	slot, alg := cmd.p2, cmd.p1
	if !isKeySlot(slot) && slot != slotAttestation {
		return swWrongP1P2
	}
	if !c.algSupported(alg) {
		return swWrongP1P2
	}
	elems, err := parseTLVs(cmd.data)
	if err != nil {
		return swWrongData
	}
	m := tlvMap(elems)
	priv, err := importedKey(alg, m)
	if err != nil {
		return swWrongData
	}
	pin, touch, ok := policies(m, slot)
	if !ok {
		return swWrongData
	}
	c.st.keys[slot] = &slotKey{alg, pin, touch, originImported, priv}
	c.changed()
	return swOK
}

var errBadKey = errors.New("yubisim: invalid key")

func importedKey(alg byte, m map[uint32][]byte) (crypto.PrivateKey, error) {
	switch alg {
	case algP256:
		return ecdsa.ParseRawPrivateKey(elliptic.P256(), fixedLen(m[0x06], 32))
	case algP384:
		return ecdsa.ParseRawPrivateKey(elliptic.P384(), fixedLen(m[0x06], 48))
	case algEd25519:
		if len(m[0x07]) != ed25519.SeedSize {
			return nil, errBadKey
		}
		return ed25519.NewKeyFromSeed(m[0x07]), nil
	case algX25519:
		return ecdh.X25519().NewPrivateKey(m[0x08])
	}
	return rsaFromCRT(rsaBits(alg), m[0x01], m[0x02], m[0x03], m[0x04], m[0x05])
}

// fixedLen left-pads a big-endian integer to n bytes (nil if too long).
func fixedLen(b []byte, n int) []byte {
	if len(b) > n {
		return nil
	}
	return append(make([]byte, n-len(b)), b...)
}

// rsaFromCRT rebuilds an RSA key from its CRT form. Like a YubiKey it
// assumes the public exponent 65537; the given dP, dQ and qInv must match.
func rsaFromCRT(bits int, p, q, dp, dq, qinv []byte) (*rsa.PrivateKey, error) {
	n := bits / 16
	for _, b := range [][]byte{p, q, dp, dq, qinv} {
		if len(b) == 0 || len(b) > n {
			return nil, errBadKey
		}
	}
	one := big.NewInt(1)
	P, Q := new(big.Int).SetBytes(p), new(big.Int).SetBytes(q)
	if P.Cmp(one) <= 0 || Q.Cmp(one) <= 0 {
		return nil, errBadKey
	}
	N := new(big.Int).Mul(P, Q)
	if N.BitLen() != bits {
		return nil, errBadKey
	}
	const e = 65537
	p1, q1 := new(big.Int).Sub(P, one), new(big.Int).Sub(Q, one)
	// d = e⁻¹ mod λ(N), λ(N) = lcm(p-1, q-1), as crypto/rsa makes it.
	lambda := new(big.Int).Mul(p1, q1)
	lambda.Div(lambda, new(big.Int).GCD(nil, nil, p1, q1))
	D := new(big.Int).ModInverse(big.NewInt(e), lambda)
	if D == nil {
		return nil, errBadKey
	}
	if new(big.Int).Mod(D, p1).Cmp(new(big.Int).SetBytes(dp)) != 0 ||
		new(big.Int).Mod(D, q1).Cmp(new(big.Int).SetBytes(dq)) != 0 {
		return nil, errBadKey
	}
	qInv := new(big.Int).ModInverse(Q, P)
	if qInv == nil || qInv.Cmp(new(big.Int).SetBytes(qinv)) != 0 {
		return nil, errBadKey
	}
	k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: N, E: e}, D: D, Primes: []*big.Int{P, Q}}
	if err := k.Validate(); err != nil {
		return nil, err
	}
	k.Precompute()
	return k, nil
}

// keyAlg names the algorithm of a private key, 0 if unsupported.
func keyAlg(priv crypto.PrivateKey) byte {
	switch k := priv.(type) {
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256():
			return algP256
		case elliptic.P384():
			return algP384
		}
	case ed25519.PrivateKey:
		return algEd25519
	case *ecdh.PrivateKey:
		if k.Curve() == ecdh.X25519() {
			return algX25519
		}
	case *rsa.PrivateKey:
		switch k.N.BitLen() {
		case 1024:
			return algRSA1024
		case 2048:
			return algRSA2048
		case 3072:
			return algRSA3072
		case 4096:
			return algRSA4096
		}
	}
	return 0
}

func marshalPrivateKey(priv crypto.PrivateKey) ([]byte, error) {
	return x509.MarshalPKCS8PrivateKey(priv)
}

func parsePrivateKey(der []byte, alg byte) (crypto.PrivateKey, error) {
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	if keyAlg(priv) != alg {
		return nil, errBadKey
	}
	return priv, nil
}
