package yubisim

import (
	"bytes"
	"testing"
)

func TestMgmtAuthDefaults(t *testing.T) {
	for _, tc := range []struct {
		version string
		alg     byte
	}{
		{"5.4.3", alg3DES},
		{"5.7.1", algAES192},
	} {
		t.Run(tc.version, func(t *testing.T) {
			c := newSimCard(t, tc.version)
			md := mustSend(t, c, insGetMetadata, 0, slotCardManagement, nil)
			if want := []byte{0x01, 0x01, tc.alg, 0x02, 0x02, 0x00, 0x01, 0x05, 0x01, 0x01}; !bytes.Equal(md, want) {
				t.Fatalf("metadata %x, want %x", md, want)
			}
			wrong := bytes.Repeat([]byte{9}, 24)
			wantSW(t, authMgmt(t, c, wrong), swSecurityStatus)
			wantSW(t, authMgmt(t, c, defaultMgmtKey), swOK)

			// The other algorithm is refused.
			other := byte(alg3DES)
			if tc.alg == alg3DES {
				other = algAES192
			}
			_, sw := send(t, c, insAuthenticate, other, slotCardManagement, []byte{0x7c, 0x02, 0x80, 0x00})
			wantSW(t, sw, swWrongP1P2)
			// A second step without a first one is refused.
			_, sw = send(t, c, insAuthenticate, tc.alg, slotCardManagement, concat([]byte{0x7c, 0x14, 0x80, 0x08}, make([]byte, 8), []byte{0x81, 0x08}, make([]byte, 8)))
			wantSW(t, sw, swWrongData)
		})
	}
}

func TestMgmtAuthOneWay(t *testing.T) {
	c := newSimCard(t, "")
	block := mgmtBlock(t, algAES192, defaultMgmtKey)
	resp := mustSend(t, c, insAuthenticate, algAES192, slotCardManagement, []byte{0x7c, 0x02, 0x81, 0x00})
	if len(resp) != 20 || !bytes.Equal(resp[:4], []byte{0x7c, 0x12, 0x81, 0x10}) {
		t.Fatalf("challenge %x", resp)
	}
	answer := make([]byte, 16)
	block.Encrypt(answer, resp[4:])
	mustSend(t, c, insAuthenticate, algAES192, slotCardManagement, concat([]byte{0x7c, 0x12, 0x82, 0x10}, answer))
	mustSend(t, c, insPutData, 0x3f, 0xff, []byte{0x5c, 0x03, 0x5f, 0xff, 0x00, 0x53, 0x00})

	resp = mustSend(t, c, insAuthenticate, algAES192, slotCardManagement, []byte{0x7c, 0x02, 0x81, 0x00})
	_, sw := send(t, c, insAuthenticate, algAES192, slotCardManagement, concat([]byte{0x7c, 0x12, 0x82, 0x10}, resp[4:]))
	wantSW(t, sw, swSecurityStatus)
	_, sw = send(t, c, insPutData, 0x3f, 0xff, []byte{0x5c, 0x03, 0x5f, 0xff, 0x00, 0x53, 0x00})
	wantSW(t, sw, swSecurityStatus)
}

func TestSetMgmtKey(t *testing.T) {
	c := newSimCard(t, "5.7.1")
	setKey := func(p2, alg byte, key []byte) uint16 {
		_, sw := send(t, c, insSetMgmtKey, 0xff, p2, concat([]byte{alg, slotCardManagement, byte(len(key))}, key))
		return sw
	}
	aes128 := bytes.Repeat([]byte{0x11}, 16)
	wantSW(t, setKey(0xff, algAES128, aes128), swSecurityStatus)
	mustAuthMgmt(t, c)
	wantSW(t, setKey(0xff, algAES128, bytes.Repeat([]byte{1}, 24)), swWrongData)
	wantSW(t, setKey(0xff, 0x07, bytes.Repeat([]byte{1}, 24)), swWrongData)
	wantSW(t, setKey(0xfd, algAES128, aes128), swWrongP1P2)
	wantSW(t, setKey(0xff, algAES128, aes128), swOK)
	md := mustSend(t, c, insGetMetadata, 0, slotCardManagement, nil)
	if want := []byte{0x01, 0x01, algAES128, 0x02, 0x02, 0x00, 0x01, 0x05, 0x01, 0x00}; !bytes.Equal(md, want) {
		t.Fatalf("metadata %x, want %x", md, want)
	}
	wantSW(t, authMgmt(t, c, defaultMgmtKey[:16]), swSecurityStatus)
	wantSW(t, authMgmt(t, c, aes128), swOK)

	aes256 := bytes.Repeat([]byte{0x22}, 32)
	wantSW(t, setKey(0xfe, algAES256, aes256), swOK)
	md = mustSend(t, c, insGetMetadata, 0, slotCardManagement, nil)
	if want := []byte{0x01, 0x01, algAES256, 0x02, 0x02, 0x00, 0x02, 0x05, 0x01, 0x00}; !bytes.Equal(md, want) {
		t.Fatalf("metadata %x, want %x", md, want)
	}
	wantSW(t, authMgmt(t, c, aes256), swOK)

	// Back to a 3DES key, then the default.
	tdes := bytes.Repeat([]byte{0x33}, 24)
	wantSW(t, setKey(0xff, alg3DES, tdes), swOK)
	wantSW(t, authMgmt(t, c, tdes), swOK)
	wantSW(t, setKey(0xff, algAES192, defaultMgmtKey), swOK)
	md = mustSend(t, c, insGetMetadata, 0, slotCardManagement, nil)
	if md[len(md)-1] != 1 {
		t.Errorf("default key not reported as default: %x", md)
	}
}

func TestSetMgmtKeyAESNeeds54(t *testing.T) {
	c := newSimCard(t, "5.3.0")
	mustAuthMgmt(t, c)
	_, sw := send(t, c, insSetMgmtKey, 0xff, 0xff, concat([]byte{algAES128, slotCardManagement, 16}, make([]byte, 16)))
	wantSW(t, sw, swWrongData)
	key := bytes.Repeat([]byte{0x44}, 24)
	mustSend(t, c, insSetMgmtKey, 0xff, 0xff, concat([]byte{alg3DES, slotCardManagement, 24}, key))
	wantSW(t, authMgmt(t, c, key), swOK)
}
