package yubisim

import (
	"bytes"
	"testing"
)

func TestSelect(t *testing.T) {
	c := newSimCard(t, "")
	for _, aid := range []string{
		"a000000308",
		"a00000030800001000",
		"a0000003080000100001",
		"a000000308000010000100",
	} {
		data, sw := raw(t, c, "00a40400"+hexLen(aid)+aid)
		wantSW(t, sw, swOK)
		if !bytes.Equal(data, selectResponse) {
			t.Errorf("SELECT %s: %x", aid, data)
		}
	}
	_, sw := raw(t, c, "00a4040008a000000527471117") // management applet
	wantSW(t, sw, swFileNotFound)
	_, sw = raw(t, c, "00a4000005a000000308")
	wantSW(t, sw, swWrongP1P2)
}

func hexLen(h string) string {
	const digits = "0123456789abcdef"
	n := len(h) / 2
	return string([]byte{digits[n>>4], digits[n&15]})
}

func TestVersionAndSerial(t *testing.T) {
	c, err := New(Config{Serial: 12345678, Version: "5.4.3"})
	if err != nil {
		t.Fatal(err)
	}
	data, sw := raw(t, c, "00fd000000")
	wantSW(t, sw, swOK)
	if !bytes.Equal(data, []byte{5, 4, 3}) {
		t.Errorf("version %x", data)
	}
	data, sw = raw(t, c, "00f8000000")
	wantSW(t, sw, swOK)
	if !bytes.Equal(data, []byte{0x00, 0xbc, 0x61, 0x4e}) {
		t.Errorf("serial %x", data)
	}
	if c.Serial() != 12345678 {
		t.Errorf("Serial() = %d", c.Serial())
	}
	if a, b, p := c.Version(); a != 5 || b != 4 || p != 3 {
		t.Errorf("Version() = %d.%d.%d", a, b, p)
	}

	c = newSimCard(t, "")
	if a, b, p := c.Version(); a != 5 || b != 7 || p != 1 {
		t.Errorf("default Version() = %d.%d.%d", a, b, p)
	}
	if s := c.Serial(); s < 10_000_000 || s > 99_999_999 {
		t.Errorf("random serial %d", s)
	}
	for _, v := range []string{"5.7", "4.3.5", "x.y.z", "5.7.256"} {
		if _, err := New(Config{Version: v}); err == nil {
			t.Errorf("New accepted version %q", v)
		}
	}
}

func TestATR(t *testing.T) {
	c := newSimCard(t, "")
	a := c.ATR()
	if len(a) != 23 || a[0] != 0x3b || !bytes.HasSuffix(a, []byte("YubiKey@")) {
		t.Errorf("ATR %x", a)
	}
	a[0] = 0 // a copy
	if c.ATR()[0] != 0x3b {
		t.Error("ATR returned the card's own slice")
	}
}

func TestUnknownInstructionAndClass(t *testing.T) {
	c := newSimCard(t, "")
	for apdu, want := range map[string]uint16{
		"0001000000":   swInsNotSupported,
		"00ca000000":   swInsNotSupported,
		"80fd000000":   swClaNotSupported,
		"fffd000000":   swClaNotSupported,
		"04fd000000":   swClaNotSupported,
		"00":           swWrongLength,
		"00fd00":       swWrongLength,
		"00fd000002aa": swWrongLength,
		"00fd00000000": swWrongLength,
		"00c0000000":   swConditionsNotMet, // GET RESPONSE with nothing pending
	} {
		_, sw := raw(t, c, apdu)
		if sw != want {
			t.Errorf("%s: SW %04x, want %04x", apdu, sw, want)
		}
	}
}

func TestSessionSurvivesSelectNotPower(t *testing.T) {
	c := newSimCard(t, "")
	wantSW(t, presentPIN(t, c, "123456"), swOK)
	mustAuthMgmt(t, c)
	raw(t, c, "00a4040005a000000308")
	_, sw := raw(t, c, "0020008000")
	wantSW(t, sw, swOK)
	for _, f := range []func(){c.PowerOff, c.PowerOn, c.Reset} {
		wantSW(t, presentPIN(t, c, "123456"), swOK)
		mustAuthMgmt(t, c)
		f()
		_, sw = raw(t, c, "0020008000")
		wantSW(t, sw, 0x63c3)
		_, sw = send(t, c, insPutData, 0x3f, 0xff, []byte{0x5c, 0x03, 0x5f, 0xc1, 0x05, 0x53, 0x01, 0x00})
		wantSW(t, sw, swSecurityStatus)
	}
}

func TestChainingAndGetResponse(t *testing.T) {
	c := newSimCard(t, "")
	mustAuthMgmt(t, c)
	value := bytes.Repeat([]byte{0xab}, 1000)
	obj := encodeTLV(0x53, value)
	mustSend(t, c, insPutData, 0x3f, 0xff, concat([]byte{0x5c, 0x03, 0x5f, 0xc1, 0x05}, obj))

	// Short GET DATA: 256 bytes, then 61xx and GET RESPONSE.
	data, sw := raw(t, c, "00cb3fff055c035fc105")
	if len(data) != 256 || sw != 0x6100 {
		t.Fatalf("first part: %d bytes, SW %04x", len(data), sw)
	}
	got := bytes.Clone(data)
	data, sw = raw(t, c, "00c0000010") // Le 16: a smaller piece
	if len(data) != 16 || sw != 0x6100 {
		t.Fatalf("Le 16: %d bytes, SW %04x", len(data), sw)
	}
	got = append(got, data...)
	for sw != swOK {
		data, sw = raw(t, c, "00c0000000")
		got = append(got, data...)
	}
	if !bytes.Equal(got, obj) {
		t.Fatal("object read back in pieces differs")
	}
	if rest := len(obj) - 256*3 - 16; rest > 255 {
		t.Fatal("test expects the last 61xx to count the remaining bytes")
	}

	// Another command drops what GET RESPONSE had left.
	raw(t, c, "00cb3fff055c035fc105")
	raw(t, c, "00fd000000")
	_, sw = raw(t, c, "00c0000000")
	wantSW(t, sw, swConditionsNotMet)

	// Extended APDUs get the whole answer at once.
	data, sw = raw(t, c, "00cb3fff0000055c035fc1050000")
	wantSW(t, sw, swOK)
	if !bytes.Equal(data, obj) {
		t.Fatal("extended GET DATA differs")
	}

	// An extended PUT DATA (Lc over 255) in one piece.
	obj2 := encodeTLV(0x53, bytes.Repeat([]byte{0xcd}, 600))
	body := concat([]byte{0x5c, 0x03, 0x5f, 0xc1, 0x0a}, obj2)
	apdu := concat([]byte{0x00, insPutData, 0x3f, 0xff, 0x00, byte(len(body) >> 8), byte(len(body))}, body)
	_, sw = split(t, c.Transmit(apdu))
	wantSW(t, sw, swOK)
	if got := mustSend(t, c, insGetData, 0x3f, 0xff, []byte{0x5c, 0x03, 0x5f, 0xc1, 0x0a}); !bytes.Equal(got, obj2) {
		t.Fatal("extended PUT DATA read back differs")
	}

	// A chain interrupted by another command is dropped.
	split(t, c.Transmit(concat([]byte{0x10, insPutData, 0x3f, 0xff, 0x05}, []byte{0x5c, 0x03, 0x5f, 0xc1, 0x0b})))
	raw(t, c, "00fd000000")
	_, sw = raw(t, c, "00db3fff0453020102")
	wantSW(t, sw, swWrongData)
}

func TestParseAPDU(t *testing.T) {
	for _, tc := range []struct {
		in       []byte
		data, ne int
		ok       bool
	}{
		{[]byte{0, 1, 2, 3}, 0, 256, true},
		{[]byte{0, 1, 2, 3, 0}, 0, 256, true},
		{[]byte{0, 1, 2, 3, 7}, 0, 7, true},
		{[]byte{0, 1, 2, 3, 1, 9}, 1, 256, true},
		{[]byte{0, 1, 2, 3, 1, 9, 4}, 1, 4, true},
		{[]byte{0, 1, 2, 3, 0, 0, 0}, 0, 65536, true},
		{[]byte{0, 1, 2, 3, 0, 1, 0}, 0, 256, true},
		{[]byte{0, 1, 2, 3, 0, 0, 1, 9}, 1, 65536, true},
		{[]byte{0, 1, 2, 3, 0, 0, 1, 9, 0, 2}, 1, 2, true},
		{[]byte{0, 1, 2}, 0, 0, false},
		{[]byte{0, 1, 2, 3, 0, 0}, 0, 0, false},
		{[]byte{0, 1, 2, 3, 2, 9}, 0, 0, false},
		{[]byte{0, 1, 2, 3, 0, 0, 0, 9}, 0, 0, false},
		{[]byte{0, 1, 2, 3, 0, 0, 2, 9}, 0, 0, false},
	} {
		cmd, sw := parseAPDU(tc.in)
		if ok := sw == 0; ok != tc.ok {
			t.Errorf("%x: ok=%v", tc.in, ok)
			continue
		}
		if tc.ok && (len(cmd.data) != tc.data || cmd.ne != tc.ne) {
			t.Errorf("%x: %d data bytes, Ne %d", tc.in, len(cmd.data), cmd.ne)
		}
	}
}

func TestTLV(t *testing.T) {
	b := concat(encodeTLV(0x7f49, bytes.Repeat([]byte{1}, 300)), encodeTLV(0x5fc102, []byte{2}), encodeTLV(0x81, nil))
	ts, err := parseTLVs(b)
	if err != nil || len(ts) != 3 || ts[0].tag != 0x7f49 || len(ts[0].value) != 300 || ts[1].tag != 0x5fc102 || ts[2].tag != 0x81 {
		t.Fatalf("parseTLVs: %v %v", ts, err)
	}
	for _, bad := range [][]byte{{0x5f}, {0x81}, {0x81, 0x02, 0x00}, {0x81, 0x80}, {0x81, 0x84, 0, 0, 0, 1}, {0x5f, 0xff, 0xff, 0x01, 0x00}} {
		if _, err := parseTLVs(bad); err == nil {
			t.Errorf("parseTLVs(%x) accepted", bad)
		}
	}
}
