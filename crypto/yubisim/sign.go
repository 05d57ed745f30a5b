package yubisim

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"math/big"
)

// authenticateKey is GENERAL AUTHENTICATE (INS 87, P1 alg, P2 slot) with an
// asymmetric key, template 7C {82 00, 81 data} to sign or decrypt, or
// 7C {82 00, 85 point} for ECDH. The answer is 7C {82 result}:
//
//   - ECDSA: a DER signature of the digest (at most the curve size);
//   - Ed25519: the signature of the message;
//   - RSA: the raw private operation on one modulus-sized block, which
//     serves both PKCS#1 signing and decryption (the client pads);
//   - ECDH (P-256, P-384, X25519): the shared secret, x coordinate only.
//
// The PIN policy is enforced; the touch policy is recorded but the
// simulator never waits for a touch.
func (c *Card) authenticateKey(cmd command) ([]byte, uint16) {
	if !isKeySlot(cmd.p2) {
		return nil, swWrongP1P2
	}
	k := c.st.keys[cmd.p2]
	if k == nil {
		return nil, swFileNotFound
	}
	if cmd.p1 != k.alg {
		return nil, swWrongP1P2
	}
	switch k.pinPolicy {
	case pinOnce:
		if !c.sess.pinVerified {
			return nil, swSecurityStatus
		}
	case pinAlways:
		if !c.sess.pinFresh {
			return nil, swSecurityStatus
		}
		c.sess.pinFresh = false // each use needs its own VERIFY
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
	if r, ok := m[tagResponse]; !ok || len(r) != 0 {
		return nil, swWrongData
	}
	ch, hasCh := m[tagChallenge]
	pt, hasPt := m[tagExponential]
	var out []byte
	switch {
	case hasCh && !hasPt:
		out, ok = privateOp(k, ch)
	case hasPt && !hasCh:
		out, ok = sharedSecret(k, pt)
	}
	if !ok {
		return nil, swWrongData
	}
	return encodeTLV(tagDynAuth, encodeTLV(tagResponse, out)), swOK
}

// privateOp signs (EC, Ed25519) or applies the raw RSA private key.
func privateOp(k *slotKey, in []byte) ([]byte, bool) {
	switch priv := k.priv.(type) {
	case *ecdsa.PrivateKey:
		if len(in) > (priv.Curve.Params().BitSize+7)/8 {
			return nil, false
		}
		sig, err := ecdsa.SignASN1(rand.Reader, priv, in)
		return sig, err == nil
	case ed25519.PrivateKey:
		return ed25519.Sign(priv, in), true
	case *rsa.PrivateKey:
		return rsaRaw(priv, in)
	}
	return nil, false
}

// rsaRaw computes in^d mod n for exactly one modulus-sized block. It uses
// math/big, which is not constant time: acceptable for a simulator only.
func rsaRaw(priv *rsa.PrivateKey, in []byte) ([]byte, bool) {
	size := priv.Size()
	if len(in) != size {
		return nil, false
	}
	x := new(big.Int).SetBytes(in)
	if x.Cmp(priv.N) >= 0 {
		return nil, false
	}
	y := new(big.Int).Exp(x, priv.D, priv.N)
	return y.FillBytes(make([]byte, size)), true
}

// sharedSecret does ECDH with the peer's public point (uncompressed for
// NIST curves, 32 bytes for X25519).
func sharedSecret(k *slotKey, point []byte) ([]byte, bool) {
	var priv *ecdh.PrivateKey
	switch p := k.priv.(type) {
	case *ecdsa.PrivateKey:
		var err error
		if priv, err = p.ECDH(); err != nil {
			return nil, false
		}
	case *ecdh.PrivateKey:
		priv = p
	default:
		return nil, false
	}
	peer, err := priv.Curve().NewPublicKey(point)
	if err != nil {
		return nil, false
	}
	secret, err := priv.ECDH(peer)
	return secret, err == nil
}
