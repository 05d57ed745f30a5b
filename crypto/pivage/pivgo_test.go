//go:build linux && cgo

package pivage

import (
	"bytes"
	"io"
	"sync/atomic"
	"testing"

	"filippo.io/age"
	"github.com/go-piv/piv-go/v2/piv"
	"github.com/valv-vault/valv/crypto/yubisim"
	"github.com/valv-vault/valv/crypto/yubisim/inproc"
)

// piv-go's card key is a KeyAgreer as it is, no adapter.
var _ KeyAgreer = (*piv.ECDSAPrivateKey)(nil)

// TestPIVGo runs Identity over piv-go's real code path (cgo, libpcsclite,
// the ECDH APDU with the uncompressed ephemeral point) against a simulated
// YubiKey served in-process. libpcsclite fixes its socket at the first
// PC/SC call, so this is the only test in the package that uses PC/SC, and
// it runs once per process.
var pivGoRan atomic.Bool

func TestPIVGo(t *testing.T) {
	if pivGoRan.Swap(true) {
		t.Skip("libpcsclite keeps the socket of its first use; runs once per process")
	}
	card, err := yubisim.New(yubisim.Config{Serial: 12345678})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := inproc.Listen(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.Use(); err != nil {
		t.Fatal(err)
	}
	srv.AddReader("Virtual PCD 00 00").Insert(card)

	cards, err := piv.Cards()
	if err != nil || len(cards) != 1 {
		t.Fatalf("piv.Cards: %q, %v", cards, err)
	}
	yk, err := piv.Open(cards[0])
	if err != nil {
		t.Fatal(err)
	}
	defer yk.Close()
	slot, _ := piv.RetiredKeyManagementSlot(0x82)
	pub, err := yk.GenerateKey(piv.DefaultManagementKey, slot, piv.Key{
		Algorithm:   piv.AlgorithmEC256,
		PINPolicy:   piv.PINPolicyOnce,
		TouchPolicy: piv.TouchPolicyNever,
	})
	if err != nil {
		t.Fatal(err)
	}
	priv, err := yk.PrivateKey(slot, pub, piv.KeyAuth{PIN: piv.DefaultPIN})
	if err != nil {
		t.Fatal(err)
	}
	ka, ok := priv.(KeyAgreer)
	if !ok {
		t.Fatalf("piv-go returned a %T, not a KeyAgreer", priv)
	}
	id, err := NewIdentity(ka)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := yk.Serial()
	if err != nil {
		t.Fatal(err)
	}
	stub, err := EncodeIdentity(serial, 0x82, pub)
	if err != nil {
		t.Fatal(err)
	}
	gotSerial, gotSlot, tag, err := ParseIdentity(stub)
	if err != nil || gotSerial != 12345678 || gotSlot != 0x82 || tag != id.Recipient().Tag() {
		t.Fatalf("identity string %s: %d %#x %x %v", stub, gotSerial, gotSlot, tag, err)
	}

	// Encrypt to the recipient string, as age -r would, and decrypt on
	// the card.
	r, err := ParseRecipient(id.Recipient().String())
	if err != nil {
		t.Fatal(err)
	}
	other := newSoftIdentity(t)
	var ct bytes.Buffer
	w, err := age.Encrypt(&ct, other.Recipient(), r)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("compartment key material")
	w.Write(msg)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	dr, err := age.Decrypt(bytes.NewReader(ct.Bytes()), id)
	if err != nil {
		t.Fatalf("decrypting on the card: %v", err)
	}
	got, err := io.ReadAll(dr)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("got %q, %v", got, err)
	}
}
