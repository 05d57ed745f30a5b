package pivage

import (
	"crypto/ecdh"
	"errors"
	"strings"
	"testing"

	"filippo.io/age"
)

func FuzzParseRecipient(f *testing.F) {
	f.Add("age1yubikey1q2w7u3vpya839jxxuq8g0sedh3d740d4xvn639sqhr95ejj8vu3hyfumptt")
	f.Add(katRecipient)
	f.Add("age1yubikey1")
	f.Add("AGE1YUBIKEY1Q2W7U3VPYA839JXXUQ8G0SEDH3D740D4XVN639SQHR95EJJ8VU3HYFUMPTT")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRecipient(s)
		if err != nil {
			return
		}
		if r.String() != strings.ToLower(s) {
			t.Fatalf("ParseRecipient(%q).String() = %q", s, r.String())
		}
		if _, err := r.Wrap(make([]byte, 16)); err != nil {
			t.Fatalf("Wrap to a parsed recipient: %v", err)
		}
	})
}

func FuzzParseIdentity(f *testing.F) {
	f.Add(katIdentity)
	f.Add("AGE-PLUGIN-YUBIKEY-1")
	f.Add(strings.ToLower(katIdentity))
	f.Fuzz(func(t *testing.T, s string) {
		serial, slot, tag, err := ParseIdentity(s)
		if err != nil {
			return
		}
		if slot < FirstRetiredSlot || slot > LastRetiredSlot {
			t.Fatalf("slot %#x accepted", slot)
		}
		again, err := encodeStub(serial, slot, tag)
		if err != nil {
			t.Fatal(err)
		}
		if again != strings.ToUpper(s) {
			t.Fatalf("ParseIdentity(%q) re-encodes as %q", s, again)
		}
	})
}

func FuzzUnwrap(f *testing.F) {
	sk, err := ecdh.P256().NewPrivateKey(mustHex(f, katRecipientScalar))
	if err != nil {
		f.Fatal(err)
	}
	id, err := NewIdentity(sk)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("piv-p256", katStanzaArg0, katStanzaArg1, "", mustHex(f, katBody))
	f.Add("piv-p256", katStanzaArg0, katStanzaArg1, "extra", mustHex(f, katBody))
	f.Add("piv-p256", "AAAAAA", katStanzaArg1, "", make([]byte, 32))
	f.Add("X25519", katStanzaArg0, katStanzaArg1, "", mustHex(f, katBody))
	f.Fuzz(func(t *testing.T, typ, arg0, arg1, arg2 string, body []byte) {
		args := []string{arg0, arg1}
		if arg2 != "" {
			args = append(args, arg2)
		}
		fk, err := id.Unwrap([]*age.Stanza{{Type: typ, Args: args, Body: body}})
		if err == nil && len(fk) != 16 {
			t.Fatalf("unwrapped a %d-byte file key", len(fk))
		}
		if err != nil && typ != StanzaType && !errors.Is(err, age.ErrIncorrectIdentity) {
			t.Fatalf("stanza of type %q: %v", typ, err)
		}
	})
}
