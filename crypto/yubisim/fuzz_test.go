package yubisim

import (
	"encoding/hex"
	"testing"
)

// FuzzTransmit feeds arbitrary bytes to two cards, one with a fresh session
// on 5.7.1 and one with the PIN verified and the management key
// authenticated on 5.4.3 (so that key generation stays below RSA 3072). Any
// input must get an answer of at least two bytes and never 6F00, which only
// the panic guard in Transmit answers.
func FuzzTransmit(f *testing.F) {
	for _, h := range []string{
		"00a4040005a000000308",
		"00fd000000",
		"00f8000000",
		"0020008000",
		"00200080083132333435360000",
		"0020ff8000",
		"00240080103132333435363738ffffffffffffffffffff",
		"002c008010313233343536373831323334353637ff",
		"00f7009b00",
		"00f7008000",
		"00f7009a00",
		"00cb3fff055c035fc105",
		"00cb3fff035c017e",
		"00cb3fff0000055c035fc1020000",
		"00db3fff085c035fff00530100",
		"10db3fff055c035fc105",
		"0087119b047c028000",
		"00870a9b047c028000",
		"00870a9b047c028100",
		"0047009a05ac03800111",
		"0047009a0bac09800114aa0101ab0101",
		"0047009d05ac03800106",
		"00fe119a2206200000000000000000000000000000000000000000000000000000000000000001",
		"0087119a267c24820081200000000000000000000000000000000000000000000000000000000000000000",
		"00f99a0000",
		"00fb000000",
		"00fa0303",
		"00ffffff1b0a9b18010203040506070801020304050607080102030405060708",
		"00c0000000",
	} {
		b, err := hex.DecodeString(h)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	fresh := newSimCard(f, "5.7.1")
	authed := newSimCard(f, "5.4.3")
	wantSW(f, presentPIN(f, authed, "123456"), swOK)
	wantSW(f, authMgmt(f, authed, defaultMgmtKey), swOK)

	f.Fuzz(func(t *testing.T, capdu []byte) {
		for _, c := range []*Card{fresh, authed} {
			r := c.Transmit(capdu)
			if len(r) < 2 {
				t.Fatalf("%x: answer %x", capdu, r)
			}
			if r[len(r)-2] == 0x6f && r[len(r)-1] == 0x00 {
				t.Fatalf("%x: internal error", capdu)
			}
		}
	})
}
