package compartmentkey

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/valv-vault/valv/crypto/pivage"
	"github.com/valv-vault/valv/crypto/seal"
)

// holder is a key holder with a software piv-p256 key, standing in for a
// YubiKey.
type holder struct {
	name string
	id   *pivage.Identity
}

func newHolder(t testing.TB, name string) holder {
	t.Helper()
	sk, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := pivage.NewIdentity(sk)
	if err != nil {
		t.Fatal(err)
	}
	return holder{name, id}
}

func (h holder) recipient() age.Recipient { return h.id.Recipient() }

func mustNew(t testing.TB) *Key {
	t.Helper()
	k, err := New()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustWrap(t testing.TB, k *Key, rs ...age.Recipient) []byte {
	t.Helper()
	w, err := Wrap(k, rs...)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func mustKeyring(t testing.TB, k *Key) *seal.Keyring {
	t.Helper()
	kr, err := k.Keyring()
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func encryptTo(t testing.TB, msg []byte, r age.Recipient) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := age.Encrypt(&b, r)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(msg)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func decrypt(ct []byte, id age.Identity) ([]byte, error) {
	r, err := age.Decrypt(bytes.NewReader(ct), id)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func TestNew(t *testing.T) {
	a, b := mustNew(t), mustNew(t)
	if a.ID() == b.ID() || a.ID() == [IDSize]byte{} {
		t.Error("compartment ids are not random")
	}
	if a.Equal(b) || !a.Equal(a) {
		t.Error("Equal is wrong")
	}
	if a.secret == b.secret || a.secret == [SecretSize]byte{} {
		t.Error("seal secrets are not random")
	}
	if a.Recipient().String() == b.Recipient().String() {
		t.Error("identities are not random")
	}
}

func TestWrapUnwrap(t *testing.T) {
	alice := newHolder(t, "alice")
	recovery, _ := age.GenerateX25519Identity()
	k := mustNew(t)
	w := mustWrap(t, k, alice.recipient(), recovery.Recipient())

	for name, id := range map[string]age.Identity{"alice": alice.id, "recovery": recovery} {
		got, err := UnwrapFor(k.ID(), w, id)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !got.Equal(k) {
			t.Fatalf("%s unwrapped another key", name)
		}
	}
	// The wrapped key holds no key material in the clear.
	for _, s := range []string{k.identity.String(), fmt.Sprintf("%x", k.secret)} {
		if bytes.Contains(w, []byte(s)) {
			t.Fatal("wrapped key contains key material in the clear")
		}
	}
	// The header names a piv-p256 stanza, as age-plugin-yubikey expects.
	if !bytes.Contains(w, []byte("\n-> piv-p256 ")) || !bytes.Contains(w, []byte("\n-> X25519 ")) {
		t.Errorf("wrapped header lacks the expected stanzas:\n%s", w[:bytes.Index(w, []byte("\n---"))])
	}
}

// TestCompartmentsAreSeparate: one compartment's key never opens another's
// wrapped key, files or sealed values.
func TestCompartmentsAreSeparate(t *testing.T) {
	alice := newHolder(t, "alice")
	a, b := mustNew(t), mustNew(t)
	wa := mustWrap(t, a, alice.recipient())
	wb := mustWrap(t, b, alice.recipient())

	// Alice holds both, but a wrapped key checked against the wrong
	// compartment id is refused (a swapped blob in an edited file).
	if _, err := UnwrapFor(a.ID(), wb, alice.id); !errors.Is(err, ErrWrongCompartment) {
		t.Errorf("B's wrapped key for compartment A: %v", err)
	}
	if _, err := UnwrapFor(b.ID(), wa, alice.id); !errors.Is(err, ErrWrongCompartment) {
		t.Errorf("A's wrapped key for compartment B: %v", err)
	}

	// A compartment identity does not unwrap keys, its own or another's.
	for _, w := range [][]byte{wa, wb} {
		if _, err := Unwrap(w, a.Identity(), b.Identity()); !errors.Is(err, ErrNotGranted) {
			t.Errorf("compartment identity unwrapped a key: %v", err)
		}
	}

	// Files: an age stream to A's recipient does not open with B's identity.
	doc := encryptTo(t, []byte("scanned NDA"), a.Recipient())
	if _, err := decrypt(doc, b.Identity()); err == nil {
		t.Error("B's identity decrypted A's file")
	}
	if got, err := decrypt(doc, a.Identity()); err != nil || string(got) != "scanned NDA" {
		t.Errorf("A's identity: %q, %v", got, err)
	}

	// Sealed values: B's keyring opens nothing of A's, for any purpose.
	ka, kb := mustKeyring(t, a), mustKeyring(t, b)
	for _, p := range []seal.Purpose{seal.Record, seal.Index, seal.Audit, seal.Document} {
		s := ka.Seal(nil, p, []byte("rec"), 1, []byte("Anna Andersson"))
		if _, err := kb.Open(nil, p, []byte("rec"), 1, s); !errors.Is(err, seal.ErrOpen) {
			t.Errorf("%v: B's keyring opened A's value: %v", p, err)
		}
		if _, err := ka.Open(nil, p, []byte("rec"), 1, s); err != nil {
			t.Errorf("%v: A's keyring: %v", p, err)
		}
	}
	prev := make([]byte, seal.LinkSize)
	if kb.VerifyChainLink(ka.ChainLink(nil, prev, 0, []byte("e")), prev, 0, []byte("e")) {
		t.Error("B's keyring verified A's audit chain")
	}
}

func TestGrantAndRevoke(t *testing.T) {
	alice, bob, carol := newHolder(t, "alice"), newHolder(t, "bob"), newHolder(t, "carol")
	recovery, _ := age.GenerateX25519Identity()

	k := mustNew(t)
	w1 := mustWrap(t, k, alice.recipient(), recovery.Recipient())
	kr1 := mustKeyring(t, k)
	record := kr1.Seal(nil, seal.Record, []byte("K7Q3-MX9R-2"), 1, []byte("personnummer 19121212-1212"))
	doc := encryptTo(t, []byte("contract.pdf"), k.Recipient())

	if _, err := Unwrap(w1, bob.id); !errors.Is(err, ErrNotGranted) {
		t.Fatalf("bob before grant: %v", err)
	}

	// Grant bob: alice re-wraps the same key.
	w2, err := Rewrap(w1, alice.id, alice.recipient(), bob.recipient(), recovery.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	kb, err := UnwrapFor(k.ID(), w2, bob.id)
	if err != nil {
		t.Fatalf("bob after grant: %v", err)
	}
	if !kb.Equal(k) {
		t.Fatal("bob unwrapped a different key")
	}
	if got, err := mustKeyring(t, kb).Open(nil, seal.Record, []byte("K7Q3-MX9R-2"), 1, record); err != nil || !strings.Contains(string(got), "19121212") {
		t.Fatalf("bob cannot read the record: %v", err)
	}
	if _, err := Unwrap(w2, carol.id); !errors.Is(err, ErrNotGranted) {
		t.Fatalf("carol was never granted: %v", err)
	}
	// Only a holder can grant.
	if _, err := Rewrap(w2, carol.id, carol.recipient()); !errors.Is(err, ErrNotGranted) {
		t.Fatalf("carol granted herself: %v", err)
	}

	// Revoke bob: rotate, wrap to the others, re-encrypt.
	k2, err := Rotate(k)
	if err != nil {
		t.Fatal(err)
	}
	if k2.ID() != k.ID() || k2.Equal(k) || k2.secret == k.secret || k2.Recipient().String() == k.Recipient().String() {
		t.Fatal("Rotate did not make a fresh key for the same compartment")
	}
	w3 := mustWrap(t, k2, alice.recipient(), recovery.Recipient())
	if _, err := Unwrap(w3, bob.id); !errors.Is(err, ErrNotGranted) {
		t.Fatalf("bob after revoke: %v", err)
	}
	for name, id := range map[string]age.Identity{"alice": alice.id, "recovery": recovery} {
		got, err := UnwrapFor(k.ID(), w3, id)
		if err != nil || !got.Equal(k2) {
			t.Fatalf("%s after revoke: %v", name, err)
		}
	}

	// Re-encryption (the store's job) with the two keys.
	kr2 := mustKeyring(t, k2)
	plain, err := kr1.Open(nil, seal.Record, []byte("K7Q3-MX9R-2"), 1, record)
	if err != nil {
		t.Fatal(err)
	}
	record2 := kr2.Seal(nil, seal.Record, []byte("K7Q3-MX9R-2"), 2, plain)
	docPlain, err := decrypt(doc, k.Identity())
	if err != nil {
		t.Fatal(err)
	}
	doc2 := encryptTo(t, docPlain, k2.Recipient())

	// Bob's old key opens none of the re-encrypted data.
	bobsOld := mustKeyring(t, kb)
	if _, err := bobsOld.Open(nil, seal.Record, []byte("K7Q3-MX9R-2"), 2, record2); !errors.Is(err, seal.ErrOpen) {
		t.Errorf("bob's old key opened the re-sealed record: %v", err)
	}
	if _, err := decrypt(doc2, kb.Identity()); err == nil {
		t.Error("bob's old key decrypted the re-encrypted file")
	}
	// Alice's new key does.
	ka2, _ := UnwrapFor(k.ID(), w3, alice.id)
	if _, err := mustKeyring(t, ka2).Open(nil, seal.Record, []byte("K7Q3-MX9R-2"), 2, record2); err != nil {
		t.Errorf("alice: %v", err)
	}
	if _, err := decrypt(doc2, ka2.Identity()); err != nil {
		t.Errorf("alice: %v", err)
	}
}

// TestStockAgeRecovery: with the recovery identity, Debian's age alone
// unwraps a compartment key and then decrypts the compartment's files.
func TestStockAgeRecovery(t *testing.T) {
	ageBin, err := exec.LookPath("age")
	if err != nil {
		if os.Getenv("VALV_REQUIRE_TOOLS") == "1" {
			t.Fatalf("the age command is required: %v", err)
		}
		t.Skipf("the age command is not installed: %v", err)
	}
	dir := t.TempDir()
	recovery, _ := age.GenerateX25519Identity()
	recoveryFile := filepath.Join(dir, "recovery.txt")
	os.WriteFile(recoveryFile, []byte(recovery.String()+"\n"), 0o600)

	k := mustNew(t)
	wrappedFile := filepath.Join(dir, "compartment.key.age")
	os.WriteFile(wrappedFile, mustWrap(t, k, newHolder(t, "alice").recipient(), recovery.Recipient()), 0o600)
	docFile := filepath.Join(dir, "doc.age")
	os.WriteFile(docFile, encryptTo(t, []byte("scanned passport"), k.Recipient()), 0o600)

	keyFile := filepath.Join(dir, "compartment.txt")
	if out, err := exec.Command(ageBin, "-d", "-i", recoveryFile, "-o", keyFile, wrappedFile).CombinedOutput(); err != nil {
		t.Fatalf("age -d wrapped key: %v\n%s", err, out)
	}
	out, err := exec.Command(ageBin, "-d", "-i", keyFile, docFile).CombinedOutput()
	if err != nil {
		t.Fatalf("age -d -i compartment.txt: %v\n%s", err, out)
	}
	if string(out) != "scanned passport" {
		t.Fatalf("age printed %q", out)
	}
}

func TestPayloadFormat(t *testing.T) {
	k := mustNew(t)
	p := k.marshal()
	lines := strings.Split(string(p), "\n")
	want := []string{
		"# valv compartment key v1",
		fmt.Sprintf("# compartment: %x", k.id),
		fmt.Sprintf("# seal-secret: %x", k.secret),
		k.identity.String(),
		"",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("payload layout changed:\n%s", p)
	}
	// age reads it as an identity file.
	ids, err := age.ParseIdentities(bytes.NewReader(p))
	if err != nil || len(ids) != 1 {
		t.Fatalf("age.ParseIdentities: %v", err)
	}
	got, err := parse(p)
	if err != nil || !got.Equal(k) {
		t.Fatalf("parse: %v", err)
	}

	other, _ := age.GenerateX25519Identity()
	edits := map[string]func(l []string) []string{
		"no final newline": nil,
		"other header":     func(l []string) []string { l[0] = "# valv compartment key v2"; return l },
		"upper-case id":    func(l []string) []string { l[1] = idPrefix + strings.ToUpper(l[1][len(idPrefix):]); return l },
		"short id":         func(l []string) []string { l[1] = l[1][:len(l[1])-2]; return l },
		"zero id":          func(l []string) []string { l[1] = "# compartment: " + strings.Repeat("0", 32); return l },
		"bad hex secret":   func(l []string) []string { l[2] = l[2][:len(l[2])-1] + "g"; return l },
		"swapped lines":    func(l []string) []string { l[1], l[2] = l[2], l[1]; return l },
		"missing secret":   func(l []string) []string { return append(l[:2], l[3:]...) },
		"extra line":       func(l []string) []string { return append(l[:4], other.String(), "") },
		"bad key": func(l []string) []string {
			c := "Q"
			if strings.HasSuffix(l[3], c) {
				c = "P"
			}
			l[3] = l[3][:len(l[3])-1] + c
			return l
		},
		"lower-case key": func(l []string) []string { l[3] = strings.ToLower(l[3]); return l },
		"crlf":           func(l []string) []string { l[0] += "\r"; return l },
	}
	for name, edit := range edits {
		var q []byte
		if edit == nil {
			q = p[:len(p)-1]
		} else {
			q = []byte(strings.Join(edit(strings.Split(string(p), "\n")), "\n"))
		}
		_, err := parse(q)
		if err == nil {
			t.Errorf("%s: parse accepted\n%s", name, q)
			continue
		}
		if strings.Contains(err.Error(), fmt.Sprintf("%x", k.secret)[:8]) || strings.Contains(err.Error(), k.identity.String()[16:24]) {
			t.Errorf("%s: error quotes key material: %v", name, err)
		}
	}
}

func TestUnwrapRejects(t *testing.T) {
	alice := newHolder(t, "alice")
	k := mustNew(t)
	w := mustWrap(t, k, alice.recipient())

	if _, err := Unwrap(w); err == nil {
		t.Error("Unwrap with no identities succeeded")
	}
	if _, err := Unwrap([]byte("not age"), alice.id); err == nil || errors.Is(err, ErrNotGranted) {
		t.Errorf("garbage: %v", err)
	}
	if _, err := Unwrap(make([]byte, maxWrappedSize+1), alice.id); err == nil {
		t.Error("oversized input accepted")
	}
	for i := range w {
		if i%7 != 0 {
			continue // every seventh byte keeps the test fast
		}
		bad := bytes.Clone(w)
		bad[i] ^= 0x20
		if _, err := Unwrap(bad, alice.id); err == nil {
			if got, _ := Unwrap(bad, alice.id); !got.Equal(k) {
				t.Fatalf("byte %d flipped: another key came out", i)
			}
		}
	}
	if _, err := Unwrap(w[:len(w)-1], alice.id); err == nil {
		t.Error("truncated wrapped key accepted")
	}

	// Something age-encrypted to alice that is not a compartment key.
	var b bytes.Buffer
	aw, _ := age.Encrypt(&b, alice.recipient())
	aw.Write(bytes.Repeat([]byte("x"), maxPayloadSize+10))
	aw.Close()
	if _, err := Unwrap(b.Bytes(), alice.id); err == nil {
		t.Error("a large non-key payload was accepted")
	}

	if _, err := Wrap(k); err == nil {
		t.Error("Wrap with no recipients succeeded")
	}
	if _, err := Wrap(nil, alice.recipient()); err == nil {
		t.Error("Wrap(nil) succeeded")
	}
	if _, err := Rotate(nil); err == nil {
		t.Error("Rotate(nil) succeeded")
	}
}

// A card that fails (removed, PIN blocked) is reported, not mistaken for
// "not granted".
type failingCard struct {
	*ecdh.PrivateKey
	err error
}

func (f failingCard) ECDH(*ecdh.PublicKey) ([]byte, error) { return nil, f.err }

func TestUnwrapCardError(t *testing.T) {
	sk, _ := ecdh.P256().GenerateKey(rand.Reader)
	errBlocked := errors.New("PIN blocked")
	id, err := pivage.NewIdentity(failingCard{sk, errBlocked})
	if err != nil {
		t.Fatal(err)
	}
	w := mustWrap(t, mustNew(t), id.Recipient())
	if _, err := Unwrap(w, id); !errors.Is(err, errBlocked) || errors.Is(err, ErrNotGranted) {
		t.Fatalf("Unwrap with a failing card: %v", err)
	}
}

func TestDestroy(t *testing.T) {
	k := mustNew(t)
	k.Destroy()
	if k.secret != [SecretSize]byte{} {
		t.Fatal("secret not wiped")
	}
	if _, err := k.Keyring(); err == nil {
		t.Error("Keyring after Destroy succeeded")
	}
	if _, err := Wrap(k, newHolder(t, "a").recipient()); err == nil {
		t.Error("Wrap after Destroy succeeded")
	}
}

func TestStringHidesSecrets(t *testing.T) {
	k := mustNew(t)
	for _, f := range []string{"%v", "%+v", "%s"} {
		s := fmt.Sprintf(f, k)
		if strings.Contains(s, "AGE-SECRET-KEY") || strings.Contains(s, fmt.Sprintf("%x", k.secret)[:8]) {
			t.Errorf("%s prints key material: %s", f, s)
		}
	}
}

func BenchmarkWrap(b *testing.B) {
	k := mustNew(b)
	rs := []age.Recipient{newHolder(b, "a").recipient(), newHolder(b, "b").recipient()}
	x, _ := age.GenerateX25519Identity()
	rs = append(rs, x.Recipient())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Wrap(k, rs...); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnwrap(b *testing.B) {
	k := mustNew(b)
	h := newHolder(b, "a")
	x, _ := age.GenerateX25519Identity()
	w := mustWrap(b, k, newHolder(b, "b").recipient(), h.recipient(), x.Recipient())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Unwrap(w, h.id); err != nil {
			b.Fatal(err)
		}
	}
}
