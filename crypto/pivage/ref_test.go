package pivage

// An independent implementation of the piv-p256 stanza, written from
// SPEC.md and age-plugin-yubikey's src/format.rs, not from pivage.go. It
// uses other code paths on purpose: x/crypto/hkdf (the package uses
// crypto/hkdf), crypto/elliptic's MarshalCompressed (the package compresses
// by hand) and a big.Int square root (the package uses
// elliptic.UnmarshalCompressed).

import (
	"crypto/ecdh"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"math/big"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/hkdf"
)

// refCompress returns the SEC 1 compressed form of an uncompressed point.
func refCompress(uncompressed []byte) []byte {
	x := new(big.Int).SetBytes(uncompressed[1:33])
	y := new(big.Int).SetBytes(uncompressed[33:65])
	return elliptic.MarshalCompressed(elliptic.P256(), x, y)
}

// refDecompress solves y² = x³ − 3x + b for y, with p ≡ 3 (mod 4).
func refDecompress(c []byte) ([]byte, error) {
	if len(c) != 33 || (c[0] != 2 && c[0] != 3) {
		return nil, errors.New("not a compressed point")
	}
	params := elliptic.P256().Params()
	p := params.P
	x := new(big.Int).SetBytes(c[1:])
	if x.Cmp(p) >= 0 {
		return nil, errors.New("x out of range")
	}
	rhs := new(big.Int).Exp(x, big.NewInt(3), p)
	rhs.Sub(rhs, new(big.Int).Mul(x, big.NewInt(3)))
	rhs.Add(rhs, params.B)
	rhs.Mod(rhs, p)
	exp := new(big.Int).Add(p, big.NewInt(1))
	exp.Rsh(exp, 2)
	y := new(big.Int).Exp(rhs, exp, p)
	if new(big.Int).Exp(y, big.NewInt(2), p).Cmp(rhs) != 0 {
		return nil, errors.New("not on curve")
	}
	if y.Bit(0) != uint(c[0]&1) {
		y.Sub(p, y)
	}
	u := make([]byte, 65)
	u[0] = 4
	x.FillBytes(u[1:33])
	y.FillBytes(u[33:])
	return u, nil
}

func refKey(shared, epkCompressed, recipientCompressed []byte) []byte {
	salt := append(append([]byte{}, epkCompressed...), recipientCompressed...)
	key := make([]byte, 32)
	if _, err := io.ReadFull(hkdf.New(sha256.New, shared, salt, []byte("piv-p256")), key); err != nil {
		panic(err)
	}
	return key
}

// refWrap wraps fileKey to the recipient with the given uncompressed public
// key, using the ephemeral private key esk.
func refWrap(recipientUncompressed []byte, esk *ecdh.PrivateKey, fileKey []byte) (args []string, body []byte) {
	pub, err := ecdh.P256().NewPublicKey(recipientUncompressed)
	if err != nil {
		panic(err)
	}
	shared, err := esk.ECDH(pub)
	if err != nil {
		panic(err)
	}
	rc := refCompress(recipientUncompressed)
	ec := refCompress(esk.PublicKey().Bytes())
	tag := sha256.Sum256(rc)
	aead, err := chacha20poly1305.New(refKey(shared, ec, rc))
	if err != nil {
		panic(err)
	}
	body = aead.Seal(nil, make([]byte, 12), fileKey, nil)
	enc := base64.RawStdEncoding
	return []string{enc.EncodeToString(tag[:4]), enc.EncodeToString(ec)}, body
}

// refUnwrap unwraps one piv-p256 stanza with the private key sk.
func refUnwrap(sk *ecdh.PrivateKey, args []string, body []byte) ([]byte, error) {
	if len(args) != 2 {
		return nil, errors.New("want 2 args")
	}
	enc := base64.RawStdEncoding.Strict()
	tag, err := enc.DecodeString(args[0])
	if err != nil || len(tag) != 4 {
		return nil, errors.New("bad tag")
	}
	ec, err := enc.DecodeString(args[1])
	if err != nil {
		return nil, errors.New("bad epk")
	}
	rc := refCompress(sk.PublicKey().Bytes())
	want := sha256.Sum256(rc)
	if string(want[:4]) != string(tag) {
		return nil, errors.New("tag mismatch")
	}
	eu, err := refDecompress(ec)
	if err != nil {
		return nil, err
	}
	epk, err := ecdh.P256().NewPublicKey(eu)
	if err != nil {
		return nil, err
	}
	shared, err := sk.ECDH(epk)
	if err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.New(refKey(shared, ec, rc))
	if err != nil {
		return nil, err
	}
	if len(body) != 32 {
		return nil, errors.New("bad body length")
	}
	return aead.Open(nil, make([]byte, 12), body, nil)
}
