package card

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/go-piv/piv-go/v2/piv"
	"github.com/valv-vault/valv/crypto/card/pcsc"
	"github.com/valv-vault/valv/crypto/yubisim"
)

// TestAuthenticate: the raw management key authentication works with
// 3DES (firmware 5.4.3's default) and AES-192 (5.7.1's), and a wrong key
// fails, straight against the simulator's APDU handler.
func TestAuthenticate(t *testing.T) {
	for _, v := range []string{"5.4.3", "5.7.1"} {
		t.Run(v, func(t *testing.T) {
			c, err := yubisim.New(yubisim.Config{Version: v})
			if err != nil {
				t.Fatal(err)
			}
			if err := authenticate(simCard{c}, piv.DefaultManagementKey); err != nil {
				t.Fatalf("default key: %v", err)
			}
			wrong := bytes.Clone(piv.DefaultManagementKey)
			wrong[0] ^= 0xff
			if err := authenticate(simCard{c}, wrong); err == nil {
				t.Fatal("a wrong management key authenticated")
			}
		})
	}
}

func TestSetAdminFlag(t *testing.T) {
	c, err := yubisim.New(yubisim.Config{Version: "5.4.3"})
	if err != nil {
		t.Fatal(err)
	}
	if err := setAdminFlag(simCard{c}, piv.DefaultManagementKey, true); err != nil {
		t.Fatal(err)
	}
	got, err := getObject(simCard{c}, objAdminData)
	if err != nil {
		t.Fatal(err)
	}
	// ykman's bytes for "management key stored in protected data".
	if want := []byte{0x80, 0x03, 0x81, 0x01, 0x02}; !bytes.Equal(got, want) {
		t.Errorf("5FFF00 = % x, want % x", got, want)
	}

	// Without the management key, nothing is written.
	wrong := make([]byte, 24)
	rand.Read(wrong)
	if err := setAdminFlag(simCard{c}, wrong, true); err == nil {
		t.Error("setAdminFlag with a wrong key succeeded")
	}
	var se *pcsc.StatusError
	c.Reset()
	err = putObject(simCard{c}, objAdminData, []byte{0x80, 0x00})
	if !errors.As(err, &se) || se.SW != 0x6982 {
		t.Errorf("PUT DATA without the management key: %v, want 6982", err)
	}
}

func TestAdminDataWithStoredKey(t *testing.T) {
	for _, tc := range []struct {
		name      string
		old, want []byte
		clearSalt bool
	}{
		{"empty", nil, []byte{0x80, 0x03, 0x81, 0x01, 0x02}, false},
		{"PUK blocked flag kept", []byte{0x80, 0x03, 0x81, 0x01, 0x01}, []byte{0x80, 0x03, 0x81, 0x01, 0x03}, false},
		{"salt dropped, timestamp kept",
			[]byte{0x80, 0x0a, 0x82, 0x02, 0xaa, 0xbb, 0x83, 0x04, 1, 2, 3, 4},
			[]byte{0x80, 0x09, 0x81, 0x01, 0x02, 0x83, 0x04, 1, 2, 3, 4}, true},
		{"salt kept without a new key",
			[]byte{0x80, 0x04, 0x82, 0x02, 0xaa, 0xbb},
			[]byte{0x80, 0x07, 0x81, 0x01, 0x02, 0x82, 0x02, 0xaa, 0xbb}, false},
	} {
		got, err := adminDataWithStoredKey(tc.old, tc.clearSalt)
		if err != nil || !bytes.Equal(got, tc.want) {
			t.Errorf("%s: % x, %v; want % x", tc.name, got, err, tc.want)
		}
	}
	for _, bad := range [][]byte{{0x80}, {0x81, 0x01, 0x02}, {0x80, 0x03, 0x81, 0x05}} {
		if _, err := adminDataWithStoredKey(bad, false); err == nil {
			t.Errorf("% x: no error", bad)
		}
	}
}
