package seal

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/hkdf"
)

var allPurposes = []Purpose{Record, Index, Audit, Document}

func testSecret(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func testID(b byte) [16]byte {
	var id [16]byte
	for i := range id {
		id[i] = b + byte(i)
	}
	return id
}

func newTestKeyring(t testing.TB, secret byte, id byte) *Keyring {
	t.Helper()
	k, err := NewKeyring(testSecret(secret), testID(id))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRoundTrip(t *testing.T) {
	k := newTestKeyring(t, 1, 1)
	for _, p := range allPurposes {
		for _, n := range []int{0, 1, 500, 64 << 10} {
			pt := make([]byte, n)
			rand.Read(pt)
			id := []byte("K7Q3-MX9R-2")
			sealed := k.Seal(nil, p, id, 7, pt)
			if len(sealed) != n+Overhead {
				t.Fatalf("sealed %d bytes to %d, want %d", n, len(sealed), n+Overhead)
			}
			if sealed[0] != Format {
				t.Fatalf("format byte %#x", sealed[0])
			}
			got, err := k.Open(nil, p, id, 7, sealed)
			if err != nil {
				t.Fatalf("%v %d bytes: %v", p, n, err)
			}
			if !bytes.Equal(got, pt) {
				t.Fatalf("%v %d bytes: plaintext differs", p, n)
			}
		}
	}
}

func TestAppend(t *testing.T) {
	k := newTestKeyring(t, 1, 1)
	prefix := []byte("prefix")
	dst := make([]byte, len(prefix), 1024)
	copy(dst, prefix)
	sealed := k.Seal(dst, Record, []byte("r"), 1, []byte("hello"))
	if !bytes.HasPrefix(sealed, prefix) || &sealed[0] != &dst[0] {
		t.Fatal("Seal did not append in place to dst")
	}
	out := append([]byte{}, prefix...)
	got, err := k.Open(out, Record, []byte("r"), 1, sealed[len(prefix):])
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "prefixhello" {
		t.Fatalf("Open appended %q", got)
	}
}

func TestNoncesDiffer(t *testing.T) {
	k := newTestKeyring(t, 1, 1)
	a := k.Seal(nil, Record, []byte("r"), 1, []byte("same"))
	b := k.Seal(nil, Record, []byte("r"), 1, []byte("same"))
	if bytes.Equal(a, b) || bytes.Equal(a[1:25], b[1:25]) {
		t.Fatal("two seals of the same value are identical")
	}
}

func TestMovesFail(t *testing.T) {
	k := newTestKeyring(t, 1, 1)
	pt := []byte("name: Anna Andersson; personnummer 19121212-1212")
	sealed := k.Seal(nil, Record, []byte("rec-1"), 3, pt)

	otherCompartment := newTestKeyring(t, 1, 2) // same secret, other id
	otherSecret := newTestKeyring(t, 2, 1)      // same id, other secret
	cases := []struct {
		name     string
		k        *Keyring
		p        Purpose
		recordID string
		version  uint64
	}{
		{"other compartment id", otherCompartment, Record, "rec-1", 3},
		{"other compartment key", otherSecret, Record, "rec-1", 3},
		{"other record", k, Record, "rec-2", 3},
		{"record id prefix", k, Record, "rec-", 3},
		{"record id extended", k, Record, "rec-1\x00", 3},
		{"empty record id", k, Record, "", 3},
		{"older version", k, Record, "rec-1", 2},
		{"newer version", k, Record, "rec-1", 4},
		{"version high bits", k, Record, "rec-1", 3 | 1<<63},
		{"index purpose", k, Index, "rec-1", 3},
		{"audit purpose", k, Audit, "rec-1", 3},
		{"document purpose", k, Document, "rec-1", 3},
	}
	for _, c := range cases {
		_, err := c.k.Open(nil, c.p, []byte(c.recordID), c.version, sealed)
		if !errors.Is(err, ErrOpen) {
			t.Errorf("%s: Open returned %v, want ErrOpen", c.name, err)
		}
	}
	// Sanity: the original still opens.
	if _, err := k.Open(nil, Record, []byte("rec-1"), 3, sealed); err != nil {
		t.Fatal(err)
	}
}

func TestTamperedFails(t *testing.T) {
	k := newTestKeyring(t, 1, 1)
	sealed := k.Seal(nil, Audit, []byte("42"), 42, []byte("unlock by holder 3"))
	for i := range sealed {
		for _, bit := range []byte{0x01, 0x80} {
			bad := bytes.Clone(sealed)
			bad[i] ^= bit
			_, err := k.Open(nil, Audit, []byte("42"), 42, bad)
			want := ErrOpen
			if i == 0 {
				want = ErrUnknownFormat
			}
			if !errors.Is(err, want) {
				t.Fatalf("byte %d ^ %#x: %v, want %v", i, bit, err, want)
			}
		}
	}
	if _, err := k.Open(nil, Audit, []byte("42"), 42, append(bytes.Clone(sealed), 0)); !errors.Is(err, ErrOpen) {
		t.Fatalf("appended byte: %v", err)
	}
}

func TestTruncatedFails(t *testing.T) {
	k := newTestKeyring(t, 1, 1)
	sealed := k.Seal(nil, Record, []byte("r"), 1, []byte("some record"))
	for n := range len(sealed) {
		_, err := k.Open(nil, Record, []byte("r"), 1, sealed[:n])
		if !errors.Is(err, ErrOpen) && !(n > 0 && errors.Is(err, ErrUnknownFormat)) {
			t.Fatalf("truncated to %d bytes: %v", n, err)
		}
	}
	// Dropping leading bytes is caught too.
	if _, err := k.Open(nil, Record, []byte("r"), 1, sealed[1:]); err == nil {
		t.Fatal("sealed value without its format byte opened")
	}
}

func TestErrorsCarryNoSecrets(t *testing.T) {
	k := newTestKeyring(t, 1, 1)
	pt := []byte("SECRET-PLAINTEXT")
	sealed := k.Seal(nil, Record, []byte("r"), 1, pt)
	sealed[len(sealed)-1] ^= 1
	_, err := k.Open(nil, Record, []byte("r"), 1, sealed)
	if err == nil || strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), hex.EncodeToString(testSecret(1)[:4])) {
		t.Fatalf("error: %v", err)
	}
}

// TestKeyDerivation pins the derivation (HKDF-SHA256, salt = compartment
// id, info = label) against x/crypto/hkdf, and checks that every purpose
// has its own key.
func TestKeyDerivation(t *testing.T) {
	secret, id := testSecret(7), testID(9)
	keys, err := deriveKeys(secret, id)
	if err != nil {
		t.Fatal(err)
	}
	labels := []string{"valv record v1", "valv index v1", "valv audit v1", "valv document v1", "valv audit-chain v1", "valv lookup v1"}
	if len(keys) != len(labels) {
		t.Fatalf("%d keys, want %d", len(keys), len(labels))
	}
	seen := map[string]string{}
	for _, l := range labels {
		want := make([]byte, 32)
		io.ReadFull(hkdf.New(sha256.New, secret, id[:], []byte(l)), want)
		if !bytes.Equal(keys[l], want) {
			t.Errorf("key %q differs from HKDF-SHA256", l)
		}
		if prev, ok := seen[string(keys[l])]; ok {
			t.Errorf("labels %q and %q give the same key", prev, l)
		}
		seen[string(keys[l])] = l
	}

	// The purposes use distinct keys, not only distinct associated data:
	// a value sealed as an index entry does not open under the record key
	// even with the index entry's associated data.
	k, err := NewKeyring(secret, id)
	if err != nil {
		t.Fatal(err)
	}
	sealed := k.Seal(nil, Index, []byte("r"), 1, []byte("x"))
	recordAEAD, _ := chacha20poly1305.NewX(keys["valv record v1"])
	indexAEAD, _ := chacha20poly1305.NewX(keys["valv index v1"])
	ad := k.appendAD(nil, Index, []byte("r"), 1)
	if _, err := recordAEAD.Open(nil, sealed[1:25], sealed[25:], ad); err == nil {
		t.Error("an index entry opened with the record key")
	}
	if _, err := indexAEAD.Open(nil, sealed[1:25], sealed[25:], ad); err != nil {
		t.Errorf("an index entry did not open with the index key built from the spec: %v", err)
	}
	// The associated data is as SPEC.md says.
	wantAD := append([]byte{0x01, 0x02}, id[:]...)
	wantAD = append(wantAD, 0, 0, 0, 0, 0, 0, 0, 1, 'r')
	if !bytes.Equal(ad, wantAD) {
		t.Errorf("associated data %x, want %x", ad, wantAD)
	}
}

func TestNewKeyringRejects(t *testing.T) {
	if _, err := NewKeyring(make([]byte, 31), testID(1)); err == nil {
		t.Error("accepted a 31-byte secret")
	}
	if _, err := NewKeyring(nil, testID(1)); err == nil {
		t.Error("accepted a nil secret")
	}
	if _, err := NewKeyring(testSecret(1), [16]byte{}); err == nil {
		t.Error("accepted an all-zero compartment id")
	}
	if _, err := NewKeyring(make([]byte, 64), testID(1)); err != nil {
		t.Errorf("rejected a 64-byte secret: %v", err)
	}
}

func mustPanic(t *testing.T, name string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s did not panic", name)
		}
	}()
	f()
}

func TestInvalidPurpose(t *testing.T) {
	k := newTestKeyring(t, 1, 1)
	for _, p := range []Purpose{0, 5, 255} {
		mustPanic(t, "Seal with "+p.String(), func() { k.Seal(nil, p, nil, 0, nil) })
		if _, err := k.Open(nil, p, nil, 0, make([]byte, 100)); err == nil {
			t.Errorf("Open with %v succeeded", p)
		}
	}
}

func TestDestroy(t *testing.T) {
	k := newTestKeyring(t, 1, 1)
	sealed := k.Seal(nil, Record, []byte("r"), 1, []byte("x"))
	k.Destroy()
	if k.chainKey != [32]byte{} || k.lookupKey != [32]byte{} {
		t.Error("Destroy left HMAC keys in place")
	}
	if _, err := k.Open(nil, Record, []byte("r"), 1, sealed); err == nil {
		t.Error("Open after Destroy succeeded")
	}
	mustPanic(t, "Seal after Destroy", func() { k.Seal(nil, Record, nil, 0, nil) })
	mustPanic(t, "ChainLink after Destroy", func() { k.ChainLink(nil, make([]byte, 32), 0, nil) })
	mustPanic(t, "LookupTag after Destroy", func() { k.LookupTag(nil, "code", nil) })
}

func TestWipe(t *testing.T) {
	b := []byte{1, 2, 3}
	Wipe(b)
	if !bytes.Equal(b, []byte{0, 0, 0}) {
		t.Fatal("Wipe did not zero")
	}
	Wipe(nil)
}

func TestChain(t *testing.T) {
	k := newTestKeyring(t, 1, 1)
	entries := [][]byte{[]byte("unlock"), []byte("view K7Q3"), []byte("reveal K7Q3 card")}
	links := make([][]byte, len(entries))
	prev := make([]byte, LinkSize)
	for i, e := range entries {
		links[i] = k.ChainLink(nil, prev, uint64(i), e)
		if len(links[i]) != LinkSize {
			t.Fatalf("link is %d bytes", len(links[i]))
		}
		prev = links[i]
	}
	prev = make([]byte, LinkSize)
	for i, e := range entries {
		if !k.VerifyChainLink(links[i], prev, uint64(i), e) {
			t.Fatalf("link %d does not verify", i)
		}
		prev = links[i]
	}
	zero := make([]byte, LinkSize)
	if k.VerifyChainLink(links[1], zero, 1, entries[1]) {
		t.Error("link verified with the wrong previous link")
	}
	if k.VerifyChainLink(links[0], zero, 1, entries[0]) {
		t.Error("link verified with the wrong sequence number")
	}
	if k.VerifyChainLink(links[0], zero, 0, []byte("unlocK")) {
		t.Error("link verified for an edited entry")
	}
	if k.VerifyChainLink(links[0], zero[:31], 0, entries[0]) {
		t.Error("link verified with a short previous link")
	}
	if newTestKeyring(t, 2, 1).VerifyChainLink(links[0], zero, 0, entries[0]) {
		t.Error("another compartment key verified the link")
	}
	if newTestKeyring(t, 1, 2).VerifyChainLink(links[0], zero, 0, entries[0]) {
		t.Error("another compartment id verified the link")
	}
	mustPanic(t, "ChainLink with a short prev", func() { k.ChainLink(nil, zero[:31], 0, nil) })
}

func TestLookupTag(t *testing.T) {
	k := newTestKeyring(t, 1, 1)
	a := k.LookupTag(nil, "code", []byte("K7Q3-MX9R-2"))
	if len(a) != LookupTagSize || !bytes.Equal(a, k.LookupTag(nil, "code", []byte("K7Q3-MX9R-2"))) {
		t.Fatal("lookup tag is not deterministic")
	}
	for name, b := range map[string][]byte{
		"other kind":        k.LookupTag(nil, "name", []byte("K7Q3-MX9R-2")),
		"other term":        k.LookupTag(nil, "code", []byte("K7Q3-MX9R-3")),
		"kind/term split":   k.LookupTag(nil, "cod", []byte("eK7Q3-MX9R-2")),
		"other compartment": newTestKeyring(t, 1, 2).LookupTag(nil, "code", []byte("K7Q3-MX9R-2")),
		"other key":         newTestKeyring(t, 2, 1).LookupTag(nil, "code", []byte("K7Q3-MX9R-2")),
	} {
		if bytes.Equal(a, b) {
			t.Errorf("%s gives the same tag", name)
		}
	}
	mustPanic(t, "LookupTag with a long kind", func() { k.LookupTag(nil, strings.Repeat("k", 256), nil) })
}

func TestConcurrent(t *testing.T) {
	k := newTestKeyring(t, 1, 1)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			id := []byte{byte(g)}
			for v := range 200 {
				pt := []byte{byte(g), byte(v)}
				s := k.Seal(nil, Record, id, uint64(v), pt)
				got, err := k.Open(nil, Record, id, uint64(v), s)
				if err != nil || !bytes.Equal(got, pt) {
					t.Errorf("goroutine %d: %v", g, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func FuzzOpen(f *testing.F) {
	k, err := NewKeyring(testSecret(1), testID(1))
	if err != nil {
		f.Fatal(err)
	}
	valid := k.Seal(nil, Record, []byte("r"), 1, []byte("hello"))
	f.Add(valid, []byte("r"), uint64(1), uint8(Record))
	f.Add(valid[:Overhead], []byte("r"), uint64(1), uint8(Record))
	f.Add([]byte{}, []byte{}, uint64(0), uint8(0))
	f.Add(append([]byte{2}, valid[1:]...), []byte("r"), uint64(1), uint8(Record))
	f.Fuzz(func(t *testing.T, sealed, recordID []byte, version uint64, p uint8) {
		pt, err := k.Open(nil, Purpose(p), recordID, version, sealed)
		if err != nil {
			if pt != nil {
				t.Fatal("Open returned plaintext with an error")
			}
			return
		}
		// Only a value this test sealed can open. (Fuzzing workers run the
		// setup again, so the seed's nonce may differ from valid's.)
		if string(recordID) != "r" || version != 1 || Purpose(p) != Record || string(pt) != "hello" {
			t.Fatalf("Open succeeded on forged input %x", sealed)
		}
	})
}

func BenchmarkSeal500(b *testing.B) {
	k := newTestKeyring(b, 1, 1)
	pt := make([]byte, 500)
	dst := make([]byte, 0, 500+Overhead)
	id := []byte("01J9Z7Q3MX9R2ABCDEFGHJKMNP")
	b.SetBytes(500)
	b.ReportAllocs()
	for b.Loop() {
		dst = k.Seal(dst[:0], Record, id, 12, pt)
	}
}

func BenchmarkOpen500(b *testing.B) {
	k := newTestKeyring(b, 1, 1)
	id := []byte("01J9Z7Q3MX9R2ABCDEFGHJKMNP")
	sealed := k.Seal(nil, Record, id, 12, make([]byte, 500))
	dst := make([]byte, 0, 500)
	b.SetBytes(500)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = k.Open(dst[:0], Record, id, 12, sealed); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChainLink(b *testing.B) {
	k := newTestKeyring(b, 1, 1)
	prev := make([]byte, LinkSize)
	entry := make([]byte, 200)
	dst := make([]byte, 0, LinkSize)
	b.ReportAllocs()
	for b.Loop() {
		dst = k.ChainLink(dst[:0], prev, 1, entry)
	}
}

// TestReusedStates: a Chainer and a Tagger, reused for many values in a
// row, give what the formulas give, computed here with a fresh HMAC for
// each value; and neither can be made from a destroyed Keyring.
func TestReusedStates(t *testing.T) {
	k := newTestKeyring(t, 1, 1)
	c, tg := k.Chainer(), k.Tagger()
	prev := make([]byte, LinkSize)
	for i := range 50 {
		entry := bytes.Repeat([]byte{byte(i)}, i*7) // 0 to 343 bytes: one to seven SHA-256 blocks
		m := hmac.New(sha256.New, k.chainKey[:])
		m.Write(prev)
		m.Write(binary.BigEndian.AppendUint64(nil, uint64(i)))
		m.Write(entry)
		want := m.Sum(nil)
		got := c.Link([]byte("dst"), prev, uint64(i), entry)
		if !bytes.Equal(got, append([]byte("dst"), want...)) {
			t.Fatalf("link %d: %x, want dst ‖ %x", i, got, want)
		}
		prev = want

		kind := strings.Repeat("k", i%5)
		m = hmac.New(sha256.New, k.lookupKey[:])
		m.Write(append([]byte{byte(len(kind))}, kind...))
		m.Write(entry)
		if got, want := tg.Tag(nil, kind, entry), m.Sum(nil); !bytes.Equal(got, want) {
			t.Fatalf("tag %d: %x, want %x", i, got, want)
		}
	}
	mustPanic(t, "Link with a short prev", func() { c.Link(nil, prev[:31], 0, nil) })
	mustPanic(t, "Tag with a long kind", func() { tg.Tag(nil, strings.Repeat("k", 256), nil) })
	k.Destroy()
	mustPanic(t, "Chainer after Destroy", func() { k.Chainer() })
	mustPanic(t, "Tagger after Destroy", func() { k.Tagger() })
}
