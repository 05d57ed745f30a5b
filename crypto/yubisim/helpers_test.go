package yubisim

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"encoding/hex"
	"strings"
	"testing"
)

func newSimCard(t testing.TB, version string) *Card {
	t.Helper()
	c, err := New(Config{Version: version})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// raw sends one APDU given in hex (spaces allowed) and splits the answer.
func raw(t testing.TB, c *Card, apduHex string) ([]byte, uint16) {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(apduHex, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return split(t, c.Transmit(b))
}

func split(t testing.TB, r []byte) ([]byte, uint16) {
	t.Helper()
	if len(r) < 2 {
		t.Fatalf("answer too short: %x", r)
	}
	n := len(r) - 2
	return r[:n], uint16(r[n])<<8 | uint16(r[n+1])
}

// send does what piv-go does: short APDUs without Le, data over 255 bytes
// chained with CLA 10, 61xx followed by GET RESPONSE.
func send(t testing.TB, c *Card, ins, p1, p2 byte, data []byte) ([]byte, uint16) {
	t.Helper()
	for len(data) > 255 {
		apdu := append([]byte{0x10, ins, p1, p2, 0xff}, data[:255]...)
		if _, sw := split(t, c.Transmit(apdu)); sw != swOK {
			return nil, sw
		}
		data = data[255:]
	}
	apdu := []byte{0x00, ins, p1, p2}
	if len(data) > 0 {
		apdu = append(append(apdu, byte(len(data))), data...)
	}
	out, sw := split(t, c.Transmit(apdu))
	resp := bytes.Clone(out)
	for sw>>8 == 0x61 {
		out, sw = split(t, c.Transmit([]byte{0x00, 0xc0, 0x00, 0x00, 0x00}))
		resp = append(resp, out...)
	}
	if sw != swOK {
		return nil, sw
	}
	return resp, sw
}

func mustSend(t testing.TB, c *Card, ins, p1, p2 byte, data []byte) []byte {
	t.Helper()
	out, sw := send(t, c, ins, p1, p2, data)
	if sw != swOK {
		t.Fatalf("INS %02x P1 %02x P2 %02x: SW %04x", ins, p1, p2, sw)
	}
	return out
}

func wantSW(t testing.TB, got, want uint16) {
	t.Helper()
	if got != want {
		t.Fatalf("SW %04x, want %04x", got, want)
	}
}

func padPIN(pin string) []byte {
	b := []byte(pin)
	for len(b) < 8 {
		b = append(b, 0xff)
	}
	return b
}

func presentPIN(t testing.TB, c *Card, pin string) uint16 {
	t.Helper()
	_, sw := send(t, c, insVerify, 0, refPIN, padPIN(pin))
	return sw
}

func mgmtBlock(t testing.TB, alg byte, key []byte) cipher.Block {
	t.Helper()
	var b cipher.Block
	var err error
	if alg == alg3DES {
		b, err = des.NewTripleDESCipher(key)
	} else {
		b, err = aes.NewCipher(key)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// authMgmt runs the mutual authentication as piv-go does, with the
// algorithm read from the metadata, and returns the final status word.
func authMgmt(t testing.TB, c *Card, key []byte) uint16 {
	t.Helper()
	md := mustSend(t, c, insGetMetadata, 0, slotCardManagement, nil)
	alg := md[2]
	block := mgmtBlock(t, alg, key)
	n := block.BlockSize()
	resp := mustSend(t, c, insAuthenticate, alg, slotCardManagement, []byte{0x7c, 0x02, 0x80, 0x00})
	if len(resp) != 4+n || !bytes.Equal(resp[:4], []byte{0x7c, byte(n + 2), 0x80, byte(n)}) {
		t.Fatalf("witness answer %x", resp)
	}
	witness := make([]byte, n)
	block.Decrypt(witness, resp[4:])
	challenge := bytes.Repeat([]byte{0x42}, n)
	data := concat([]byte{0x7c, byte(2*n + 4), 0x80, byte(n)}, witness, []byte{0x81, byte(n)}, challenge)
	resp, sw := send(t, c, insAuthenticate, alg, slotCardManagement, data)
	if sw != swOK {
		return sw
	}
	want := make([]byte, n)
	block.Encrypt(want, challenge)
	if !bytes.Equal(resp, concat([]byte{0x7c, byte(n + 2), 0x82, byte(n)}, want)) {
		t.Fatalf("card's response %x, want %x", resp, want)
	}
	return sw
}

func mustAuthMgmt(t testing.TB, c *Card) {
	t.Helper()
	wantSW(t, authMgmt(t, c, defaultMgmtKey), swOK)
}
