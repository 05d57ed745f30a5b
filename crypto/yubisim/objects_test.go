package yubisim

import (
	"bytes"
	"testing"
)

func getObject(t *testing.T, c *Card, id ...byte) ([]byte, uint16) {
	t.Helper()
	return send(t, c, insGetData, 0x3f, 0xff, concat([]byte{0x5c, byte(len(id))}, id))
}

func TestDefaultObjects(t *testing.T) {
	c := newSimCard(t, "")
	d, sw := getObject(t, c, 0x7e)
	wantSW(t, sw, swOK)
	if want := []byte{0x7e, 0x12, 0x4f, 0x0b, 0xa0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00, 0x5f, 0x2f, 0x02, 0x40, 0x00}; !bytes.Equal(d, want) {
		t.Errorf("discovery %x", d)
	}

	chuid, sw := getObject(t, c, 0x5f, 0xc1, 0x02)
	wantSW(t, sw, swOK)
	v, ok := parseSingleTLV(chuid, 0x53)
	ts, err := parseTLVs(v)
	if !ok || err != nil {
		t.Fatalf("CHUID %x", chuid)
	}
	m := tlvMap(ts)
	if len(m[0x30]) != 25 || len(m[0x34]) != 16 || string(m[0x35]) != "20300101" {
		t.Errorf("CHUID %x", chuid)
	}

	ccc, sw := getObject(t, c, 0x5f, 0xc1, 0x07)
	wantSW(t, sw, swOK)
	if !bytes.HasPrefix(ccc, []byte{0x53, 0x33, 0xf0, 0x15, 0xa0, 0x00, 0x00, 0x01, 0x16, 0xff, 0x02}) {
		t.Errorf("CCC %x", ccc)
	}
	kh, sw := getObject(t, c, 0x5f, 0xc1, 0x0c)
	wantSW(t, sw, swOK)
	if want := []byte{0x53, 0x0a, 0xc1, 0x01, 0x00, 0xc2, 0x01, 0x00, 0xf3, 0x00, 0xfe, 0x00}; !bytes.Equal(kh, want) {
		t.Errorf("key history %x", kh)
	}

	for _, id := range [][]byte{{0x5f, 0xc1, 0x05}, {0x5f, 0xff, 0x00}, {0x7f, 0x61}, {0x5f, 0xc1, 0x09}} {
		_, sw := getObject(t, c, id...)
		want := uint16(swFileNotFound)
		if id[2%len(id)] == 0x09 {
			want = swSecurityStatus // printed information needs the PIN
		}
		if sw != want {
			t.Errorf("%x: SW %04x, want %04x", id, sw, want)
		}
	}
	_, sw = send(t, c, insGetData, 0x3f, 0xff, []byte{0x5c, 0x04, 1, 2, 3, 4})
	wantSW(t, sw, swWrongData)
	_, sw = send(t, c, insGetData, 0x3f, 0xfe, []byte{0x5c, 0x01, 0x7e})
	wantSW(t, sw, swWrongP1P2)
}

func TestPutData(t *testing.T) {
	c := newSimCard(t, "")
	printed := []byte{0x5c, 0x03, 0x5f, 0xc1, 0x09, 0x53, 0x1c, 0x88, 0x1a, 0x89, 0x18}
	printed = append(printed, bytes.Repeat([]byte{7}, 24)...)
	_, sw := send(t, c, insPutData, 0x3f, 0xff, printed)
	wantSW(t, sw, swSecurityStatus)
	mustAuthMgmt(t, c)
	mustSend(t, c, insPutData, 0x3f, 0xff, printed)
	_, sw = getObject(t, c, 0x5f, 0xc1, 0x09)
	wantSW(t, sw, swSecurityStatus)
	wantSW(t, presentPIN(t, c, "123456"), swOK)
	got, sw := getObject(t, c, 0x5f, 0xc1, 0x09)
	wantSW(t, sw, swOK)
	if !bytes.Equal(got, printed[5:]) {
		t.Errorf("printed information %x", got)
	}

	// Any 5Fxxxx object; an empty value deletes it.
	mustSend(t, c, insPutData, 0x3f, 0xff, []byte{0x5c, 0x03, 0x5f, 0xff, 0x10, 0x53, 0x01, 0x2a})
	got, _ = getObject(t, c, 0x5f, 0xff, 0x10)
	if !bytes.Equal(got, []byte{0x53, 0x01, 0x2a}) {
		t.Errorf("object %x", got)
	}
	mustSend(t, c, insPutData, 0x3f, 0xff, []byte{0x5c, 0x03, 0x5f, 0xff, 0x10, 0x53, 0x00})
	_, sw = getObject(t, c, 0x5f, 0xff, 0x10)
	wantSW(t, sw, swFileNotFound)

	for _, bad := range [][]byte{
		{0x5c, 0x01, 0x7e, 0x53, 0x00},             // discovery is fixed
		{0x5c, 0x03, 0x5f, 0xc1, 0x05},             // no value
		{0x5c, 0x03, 0x5f, 0xc1, 0x05, 0x70, 0x00}, // not 53
		{0x5c, 0x03, 0x01, 0x02, 0x03, 0x53, 0x00}, // not 5Fxxxx
		{0x5c, 0x03, 0x5f, 0xc1, 0x05, 0x53, 0x05}, // truncated
	} {
		_, sw := send(t, c, insPutData, 0x3f, 0xff, bad)
		if sw != swWrongData {
			t.Errorf("%x: SW %04x", bad, sw)
		}
	}
	big := concat([]byte{0x5c, 0x03, 0x5f, 0xc1, 0x05}, encodeTLV(0x53, make([]byte, maxObjectSize)))
	_, sw = send(t, c, insPutData, 0x3f, 0xff, big)
	wantSW(t, sw, swNotEnoughMemory)
}
