package yubisim

import (
	"bytes"
	"testing"
)

func TestMetadata(t *testing.T) {
	c := newSimCard(t, "")
	for _, tc := range []struct {
		p2   byte
		want []byte
	}{
		{refPIN, []byte{0x01, 0x01, 0xff, 0x05, 0x01, 0x01, 0x06, 0x02, 0x03, 0x03}},
		{refPUK, []byte{0x01, 0x01, 0xff, 0x05, 0x01, 0x01, 0x06, 0x02, 0x03, 0x03}},
		{slotCardManagement, []byte{0x01, 0x01, algAES192, 0x02, 0x02, 0x00, 0x01, 0x05, 0x01, 0x01}},
	} {
		if got := mustSend(t, c, insGetMetadata, 0, tc.p2, nil); !bytes.Equal(got, tc.want) {
			t.Errorf("%02x: %x, want %x", tc.p2, got, tc.want)
		}
	}
	wantSW(t, presentPIN(t, c, "000000"), 0x63c2)
	if got := mustSend(t, c, insGetMetadata, 0, refPIN, nil); got[len(got)-1] != 2 {
		t.Errorf("retries not counted: %x", got)
	}

	for _, p2 := range []byte{0x9a, 0x82, 0x95, 0x96, 0x00, 0x9b + 1} {
		_, sw := send(t, c, insGetMetadata, 0, p2, nil)
		if sw != swReferenceNotFound {
			t.Errorf("%02x: SW %04x", p2, sw)
		}
	}
	_, sw := send(t, c, insGetMetadata, 1, 0x9a, nil)
	wantSW(t, sw, swWrongP1P2)

	mustAuthMgmt(t, c)
	gen := generate(t, c, 0x9a, algP256, pinOnce, touchCached)
	md := mustSend(t, c, insGetMetadata, 0, 0x9a, nil)
	want := concat([]byte{0x01, 0x01, algP256, 0x02, 0x02, pinOnce, touchCached, 0x03, 0x01, originGenerated, 0x04, 0x43}, gen[3:])
	if !bytes.Equal(md, want) {
		t.Errorf("9A: %x, want %x", md, want)
	}

	md = mustSend(t, c, insGetMetadata, 0, slotAttestation, nil)
	if !bytes.HasPrefix(md, []byte{0x01, 0x01, algP256, 0x02, 0x02, pinNever, touchNever, 0x03, 0x01, originGenerated, 0x04, 0x43, 0x86, 0x41, 0x04}) {
		t.Errorf("F9: %x", md)
	}

	old := newSimCard(t, "5.2.7")
	_, sw = send(t, old, insGetMetadata, 0, refPIN, nil)
	wantSW(t, sw, swInsNotSupported)
}
