package pivage

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"

	"filippo.io/age"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustKey(t testing.TB, scalarHex string) *ecdh.PrivateKey {
	t.Helper()
	k, err := ecdh.P256().NewPrivateKey(mustHex(t, scalarHex))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newSoftKey(t testing.TB) *ecdh.PrivateKey {
	t.Helper()
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newSoftIdentity(t testing.TB) *Identity {
	t.Helper()
	id, err := NewIdentity(newSoftKey(t))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// Known-answer values. The scalars are SHA-256("valv pivage KAT recipient
// key") and SHA-256("valv pivage KAT ephemeral key"); the file key is
// 00 01 … 0f; the YubiKey serial is 12345678 and the slot 0x82. The
// expected values agree with the independent implementation in ref_test.go
// and with testdata/kat.py (OpenSSL through pyca/cryptography, and a BIP 173
// encoder), see TestKnownAnswerPython.
const (
	katRecipientScalar = "d229976ac2224aa08cd3e2220db8f44f346b9afa6cca67fb9e3679c62e326852"
	katEphemeralScalar = "d13f8b3b4d5d59d3384578943302be5f3eb410e2b86c18cdd473ae34ac1ea0dd"
	katFileKey         = "000102030405060708090a0b0c0d0e0f"
	katSerial          = 12345678
	katSlot            = 0x82

	katRecipient  = "age1yubikey1qfmrhgpl3xad96y2aa3yf6weqgya2g80cs7mthaw7m4pz895rdp6wqu4nka"
	katIdentity   = "AGE-PLUGIN-YUBIKEY-1FESMCQYZ8EYCUAGF34XAM"
	katTag        = "3e498e75"
	katStanzaArg0 = "PkmOdQ"
	katStanzaArg1 = "AgZHMn/WEW1yMTg8okcLuLYC678ktk4OZ9PWaBS5KMZd"
	katBody       = "7b279f78b563d36473aea0d5a7a2f9acd77759a8446b2d7cb314d973c77997ec"
	katStanza     = "-> piv-p256 PkmOdQ AgZHMn/WEW1yMTg8okcLuLYC678ktk4OZ9PWaBS5KMZd\n" +
		"eyefeLVj02RzrqDVp6L5rNd3WahEay18sxTZc8d5l+w\n"
)

func katRecipientValue(t testing.TB) *Recipient {
	t.Helper()
	sk := mustKey(t, katRecipientScalar)
	r, err := NewRecipient(sk.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	esk := mustKey(t, katEphemeralScalar)
	r.newEphemeral = func() (*ecdh.PrivateKey, error) { return esk, nil }
	return r
}

// formatStanza renders a stanza as it appears in an age header.
func formatStanza(s *age.Stanza) string {
	var b strings.Builder
	b.WriteString("-> " + s.Type)
	for _, a := range s.Args {
		b.WriteString(" " + a)
	}
	b.WriteString("\n")
	body := base64.RawStdEncoding.EncodeToString(s.Body)
	for len(body) >= 64 {
		b.WriteString(body[:64] + "\n")
		body = body[64:]
	}
	b.WriteString(body + "\n")
	return b.String()
}

func TestKnownAnswer(t *testing.T) {
	r := katRecipientValue(t)
	stanzas, err := r.Wrap(mustHex(t, katFileKey))
	if err != nil {
		t.Fatal(err)
	}
	if len(stanzas) != 1 {
		t.Fatalf("Wrap returned %d stanzas, want 1", len(stanzas))
	}
	s := stanzas[0]
	id, err := EncodeIdentity(katSerial, katSlot, r.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	tag := r.Tag()
	got := map[string]string{
		"recipient": r.String(),
		"identity":  id,
		"tag":       hex.EncodeToString(tag[:]),
		"type":      s.Type,
		"arg0":      s.Args[0],
		"arg1":      s.Args[1],
		"body":      hex.EncodeToString(s.Body),
		"stanza":    formatStanza(s),
	}
	want := map[string]string{
		"recipient": katRecipient,
		"identity":  katIdentity,
		"tag":       katTag,
		"type":      "piv-p256",
		"arg0":      katStanzaArg0,
		"arg1":      katStanzaArg1,
		"body":      katBody,
		"stanza":    katStanza,
	}
	for k := range want {
		if got[k] != want[k] {
			t.Errorf("%s:\n got %q\nwant %q", k, got[k], want[k])
		}
	}

	// The independent implementation agrees byte for byte.
	args, body := refWrap(r.PublicKey().Bytes(), mustKey(t, katEphemeralScalar), mustHex(t, katFileKey))
	if args[0] != s.Args[0] || args[1] != s.Args[1] || !bytes.Equal(body, s.Body) {
		t.Errorf("reference implementation disagrees: %q %x", args, body)
	}

	// And the identity decrypts the KAT stanza.
	ident, err := NewIdentity(mustKey(t, katRecipientScalar))
	if err != nil {
		t.Fatal(err)
	}
	fk, err := ident.Unwrap([]*age.Stanza{{Type: "piv-p256", Args: []string{katStanzaArg0, katStanzaArg1}, Body: mustHex(t, katBody)}})
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(fk) != katFileKey {
		t.Errorf("unwrapped file key %x, want %s", fk, katFileKey)
	}

	serial, slot, ptag, err := ParseIdentity(katIdentity)
	if err != nil {
		t.Fatal(err)
	}
	if serial != katSerial || slot != katSlot || ptag != tag {
		t.Errorf("ParseIdentity = %d, %#x, %x", serial, slot, ptag)
	}
}

// TestKnownAnswerPython recomputes the known answers with testdata/kat.py,
// a third implementation, when python3 and pyca/cryptography are installed.
func TestKnownAnswerPython(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err == nil {
		err = exec.Command(py, "-c", "import cryptography").Run()
	}
	if err != nil {
		// An extra cross-check, not a required tool: skip even under
		// VALV_REQUIRE_TOOLS=1.
		t.Skipf("python3 with the cryptography package not available: %v", err)
	}
	out, err := exec.Command(py, "testdata/kat.py").CombinedOutput()
	if err != nil {
		t.Fatalf("kat.py: %v\n%s", err, out)
	}
	want := map[string]string{
		"recipient": katRecipient,
		"identity":  katIdentity,
		"tag":       katTag,
		"arg0":      katStanzaArg0,
		"arg1":      katStanzaArg1,
		"body":      katBody,
	}
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		name, value, _ := strings.Cut(line, " ")
		if w, ok := want[name]; !ok || w != value {
			t.Errorf("kat.py %s = %q, want %q", name, value, w)
		}
		seen++
	}
	if seen != len(want) {
		t.Errorf("kat.py printed %d values, want %d", seen, len(want))
	}
}

// TestC2SPExample checks that the example stanza of the C2SP
// age-piv-p256 specification is well-formed: an identity for another key
// reports ErrIncorrectIdentity, not a malformed stanza.
func TestC2SPExample(t *testing.T) {
	body, err := base64.RawStdEncoding.DecodeString("CXE0N0KMI0BUE5WaYTLOxYv7aHB/5IQpAZKsk2C/yjU")
	if err != nil {
		t.Fatal(err)
	}
	s := &age.Stanza{Type: "piv-p256", Args: []string{"8u8pZg", "Aqa5k2Tm/BJGTzCno1W29dWaWBHkFchOztcIZ7aQo0Ca"}, Body: body}
	if _, err := parseStanza(s); err != nil {
		t.Fatalf("C2SP example stanza rejected: %v", err)
	}
	if _, err := newSoftIdentity(t).Unwrap([]*age.Stanza{s}); err != age.ErrIncorrectIdentity {
		t.Fatalf("Unwrap = %v, want ErrIncorrectIdentity", err)
	}
}

func TestReferenceUnwrapsWrap(t *testing.T) {
	for range 20 {
		sk := newSoftKey(t)
		r, err := NewRecipient(sk.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		fileKey := make([]byte, 16)
		rand.Read(fileKey)
		stanzas, err := r.Wrap(fileKey)
		if err != nil {
			t.Fatal(err)
		}
		got, err := refUnwrap(sk, stanzas[0].Args, stanzas[0].Body)
		if err != nil {
			t.Fatalf("reference implementation could not unwrap: %v", err)
		}
		if !bytes.Equal(got, fileKey) {
			t.Fatalf("reference unwrapped %x, want %x", got, fileKey)
		}
	}
}

func TestIdentityUnwrapsReference(t *testing.T) {
	for range 20 {
		sk := newSoftKey(t)
		id, err := NewIdentity(sk)
		if err != nil {
			t.Fatal(err)
		}
		fileKey := make([]byte, 16)
		rand.Read(fileKey)
		args, body := refWrap(sk.PublicKey().Bytes(), newSoftKey(t), fileKey)
		got, err := id.Unwrap([]*age.Stanza{{Type: "piv-p256", Args: args, Body: body}})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, fileKey) {
			t.Fatalf("unwrapped %x, want %x", got, fileKey)
		}
	}
}

// fakePIV behaves like piv-go's *piv.ECDSAPrivateKey: Public returns an
// *ecdsa.PublicKey and ECDH takes an *ecdh.PublicKey.
type fakePIV struct {
	priv  *ecdsa.PrivateKey
	calls int
	err   error
}

func (f *fakePIV) Public() crypto.PublicKey { return &f.priv.PublicKey }

func (f *fakePIV) ECDH(peer *ecdh.PublicKey) ([]byte, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	k, err := f.priv.ECDH()
	if err != nil {
		return nil, err
	}
	return k.ECDH(peer)
}

func newFakePIV(t testing.TB) *fakePIV {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &fakePIV{priv: k}
}

func TestAgeRoundTrip(t *testing.T) {
	soft := newSoftIdentity(t)
	card := newFakePIV(t)
	cardID, err := NewIdentity(card)
	if err != nil {
		t.Fatal(err)
	}
	x, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("customer K7Q3-MX9R-2: personnummer 19121212-1212")

	// Recipients also survive a trip through their string form.
	r2, err := ParseRecipient(cardID.Recipient().String())
	if err != nil {
		t.Fatal(err)
	}
	var ct bytes.Buffer
	w, err := age.Encrypt(&ct, soft.Recipient(), r2, x.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	w.Write(msg)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	for name, id := range map[string]age.Identity{"software": soft, "piv": cardID, "x25519": x} {
		r, err := age.Decrypt(bytes.NewReader(ct.Bytes()), id)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("%s: got %q", name, got)
		}
	}
	// Two stanzas have other tags: the card was asked for exactly one ECDH.
	if card.calls != 1 {
		t.Errorf("card ECDH called %d times, want 1", card.calls)
	}

	// A key that is not a recipient gets age's "no identity matched".
	other := newSoftIdentity(t)
	_, err = age.Decrypt(bytes.NewReader(ct.Bytes()), other)
	var noMatch *age.NoIdentityMatchError
	if !errors.As(err, &noMatch) {
		t.Fatalf("Decrypt with another key: %v, want NoIdentityMatchError", err)
	}
}

func TestPluginRecipientString(t *testing.T) {
	// From age-plugin-yubikey v0.5.0 tests/integration.rs.
	const s = "age1yubikey1q2w7u3vpya839jxxuq8g0sedh3d740d4xvn639sqhr95ejj8vu3hyfumptt"
	r, err := ParseRecipient(s)
	if err != nil {
		t.Fatal(err)
	}
	if r.String() != s {
		t.Errorf("String() = %q, want %q", r.String(), s)
	}
	if _, err := r.Wrap(make([]byte, 16)); err != nil {
		t.Fatal(err)
	}
	if r2, err := ParseRecipient(strings.ToUpper(s)); err != nil || r2.String() != s {
		t.Errorf("upper-case recipient: %v", err)
	}
}

func TestBech32MatchesAge(t *testing.T) {
	x, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{x.Recipient().String(), x.String()} {
		hrp, data, err := bech32Decode(s)
		if err != nil {
			t.Fatal(err)
		}
		again, err := bech32Encode(hrp, data)
		if err != nil {
			t.Fatal(err)
		}
		if again != s {
			t.Errorf("re-encoding an age key changed it")
		}
	}
	// BIP 173 valid test vectors.
	for _, s := range []string{
		"A12UEL5L",
		"a12uel5l",
		"abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
		"11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j",
		"split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
	} {
		if _, _, err := bech32Decode(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
}

// bech32mEncode encodes with the Bech32m constant, which must be refused.
func bech32mEncode(hrp string, data []byte) string {
	values, _ := bech32ConvertBits(data, 8, 5, true)
	v := append(bech32HRPExpand(hrp), values...)
	v = append(v, 0, 0, 0, 0, 0, 0)
	mod := bech32Polymod(v) ^ 0x2bc830a3
	s := hrp + "1"
	for _, p := range values {
		s += string(bech32Charset[p])
	}
	for p := range 6 {
		s += string(bech32Charset[byte(mod>>(5*(5-p)))&31])
	}
	return s
}

func TestParseRecipientRejects(t *testing.T) {
	sk := newSoftKey(t)
	r, _ := NewRecipient(sk.PublicKey())
	c := compress(sk.PublicKey())
	enc := func(hrp string, data []byte) string {
		s, err := bech32Encode(hrp, data)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	offCurve := append([]byte{}, c[:]...)
	for {
		offCurve[32]++
		if _, err := refDecompress(offCurve); err != nil {
			break
		}
	}
	good := r.String()
	for name, s := range map[string]string{
		"empty":          "",
		"x25519":         mustX25519(t).Recipient().String(),
		"other plugin":   enc("age1yubikeyx", c[:]),
		"uncompressed":   enc("age1yubikey", sk.PublicKey().Bytes()),
		"prefix 04":      enc("age1yubikey", append([]byte{4}, c[1:]...)),
		"short":          enc("age1yubikey", c[:32]),
		"long":           enc("age1yubikey", append(c[:], 0)),
		"off curve":      enc("age1yubikey", offCurve),
		"bech32m":        bech32mEncode("age1yubikey", c[:]),
		"bad checksum":   good[:len(good)-1] + string(bech32Charset[(strings.IndexByte(bech32Charset, good[len(good)-1])+1)%32]),
		"mixed case":     strings.ToUpper(good[:20]) + good[20:],
		"identity":       mustIdentityString(t, sk),
		"trailing space": good + " ",
	} {
		if _, err := ParseRecipient(s); err == nil {
			t.Errorf("%s: ParseRecipient(%q) succeeded", name, s)
		}
	}
}

func mustX25519(t testing.TB) *age.X25519Identity {
	x, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func mustIdentityString(t testing.TB, sk *ecdh.PrivateKey) string {
	s, err := EncodeIdentity(1, 0x82, sk.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestIdentityString(t *testing.T) {
	sk := newSoftKey(t)
	r, _ := NewRecipient(sk.PublicKey())
	for _, slot := range []byte{0x82, 0x8c, 0x95} {
		for _, serial := range []uint32{0, 1, 12345678, 0xffffffff} {
			s, err := EncodeIdentity(serial, slot, sk.PublicKey())
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(s, "AGE-PLUGIN-YUBIKEY-1") || strings.ToUpper(s) != s {
				t.Errorf("identity %q is not upper case AGE-PLUGIN-YUBIKEY-1…", s)
			}
			gs, gslot, gtag, err := ParseIdentity(s)
			if err != nil {
				t.Fatal(err)
			}
			if gs != serial || gslot != slot || gtag != r.Tag() {
				t.Errorf("round trip: %d %#x %x", gs, gslot, gtag)
			}
		}
	}
	for _, slot := range []byte{0x00, 0x81, 0x96, 0x9a, 0x9c, 0xff} {
		if _, err := EncodeIdentity(1, slot, sk.PublicKey()); err == nil {
			t.Errorf("EncodeIdentity accepted slot %#x", slot)
		}
	}
	stub := func(serial uint32, slot byte, extra ...byte) []byte {
		tag := r.Tag()
		b := []byte{byte(serial), byte(serial >> 8), byte(serial >> 16), byte(serial >> 24), slot}
		return append(append(b, tag[:]...), extra...)
	}
	enc := func(hrp string, data []byte) string {
		s, _ := bech32Encode(hrp, data)
		return s
	}
	for name, s := range map[string]string{
		"slot 9a":   enc("AGE-PLUGIN-YUBIKEY-", stub(1, 0x9a)),
		"slot 81":   enc("AGE-PLUGIN-YUBIKEY-", stub(1, 0x81)),
		"long":      enc("AGE-PLUGIN-YUBIKEY-", stub(1, 0x82, 0)),
		"short":     enc("AGE-PLUGIN-YUBIKEY-", stub(1, 0x82)[:8]),
		"other hrp": enc("AGE-PLUGIN-YUBIKEYS-", stub(1, 0x82)),
		"secret":    mustX25519(t).String(),
		"recipient": r.String(),
		"bech32m":   strings.ToUpper(bech32mEncode("age-plugin-yubikey-", stub(1, 0x82))),
	} {
		if _, _, _, err := ParseIdentity(s); err == nil {
			t.Errorf("%s: ParseIdentity(%q) succeeded", name, s)
		}
	}
}

func TestNewRecipientKeyTypes(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	r1, err := NewRecipient(&ec.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	ek, _ := ec.ECDH()
	r2, err := NewRecipient(ek.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if r1.String() != r2.String() {
		t.Error("ecdsa and ecdh forms of the same key give different recipients")
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	x, _ := ecdh.X25519().GenerateKey(rand.Reader)
	for name, pub := range map[string]crypto.PublicKey{
		"P-384 ecdsa": &p384.PublicKey,
		"X25519":      x.PublicKey(),
		"nil":         nil,
		"string":      "age1yubikey1",
	} {
		if _, err := NewRecipient(pub); err == nil {
			t.Errorf("%s: NewRecipient succeeded", name)
		}
	}
	if _, err := NewIdentity(nil); err == nil {
		t.Error("NewIdentity(nil) succeeded")
	}
}

func TestWrapRejectsFileKeySize(t *testing.T) {
	r := newSoftIdentity(t).Recipient()
	for _, n := range []int{0, 15, 17, 32} {
		if _, err := r.Wrap(make([]byte, n)); err == nil {
			t.Errorf("Wrap accepted a %d-byte file key", n)
		}
	}
}

func TestUnwrapRejectsMalformed(t *testing.T) {
	card := newFakePIV(t)
	id, err := NewIdentity(card)
	if err != nil {
		t.Fatal(err)
	}
	stanzas, err := id.Recipient().Wrap(make([]byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	good := stanzas[0]
	enc := base64.RawStdEncoding
	epk, _ := enc.DecodeString(good.Args[1])
	uncompressed, _ := refDecompress(epk)
	offCurve := append([]byte{}, epk...)
	for {
		offCurve[32]++
		if _, err := refDecompress(offCurve); err != nil {
			break
		}
	}
	xTooBig := append([]byte{2}, bytes.Repeat([]byte{0xff}, 32)...)
	mod := func(f func(s *age.Stanza)) *age.Stanza {
		s := &age.Stanza{Type: good.Type, Args: append([]string{}, good.Args...), Body: append([]byte{}, good.Body...)}
		f(s)
		return s
	}
	cases := map[string]*age.Stanza{
		"no args":          mod(func(s *age.Stanza) { s.Args = nil }),
		"one arg":          mod(func(s *age.Stanza) { s.Args = s.Args[:1] }),
		"three args":       mod(func(s *age.Stanza) { s.Args = append(s.Args, "AAAA") }),
		"padded tag":       mod(func(s *age.Stanza) { s.Args[0] += "==" }),
		"short tag":        mod(func(s *age.Stanza) { s.Args[0] = enc.EncodeToString([]byte{1, 2, 3}) }),
		"long tag":         mod(func(s *age.Stanza) { s.Args[0] = enc.EncodeToString([]byte{1, 2, 3, 4, 5}) }),
		"noncanonical tag": mod(func(s *age.Stanza) { s.Args[0] = s.Args[0][:5] + "B" }),
		"newline in tag":   mod(func(s *age.Stanza) { s.Args[0] = s.Args[0][:3] + "\n" + s.Args[0][4:] }),
		"url base64 tag":   mod(func(s *age.Stanza) { s.Args[0] = "-_-_-_" }),
		"epk uncompressed": mod(func(s *age.Stanza) { s.Args[1] = enc.EncodeToString(uncompressed) }),
		"epk prefix 04":    mod(func(s *age.Stanza) { s.Args[1] = enc.EncodeToString(append([]byte{4}, epk[1:]...)) }),
		"epk prefix 00":    mod(func(s *age.Stanza) { s.Args[1] = enc.EncodeToString(append([]byte{0}, epk[1:]...)) }),
		"epk off curve":    mod(func(s *age.Stanza) { s.Args[1] = enc.EncodeToString(offCurve) }),
		"epk x ≥ p":        mod(func(s *age.Stanza) { s.Args[1] = enc.EncodeToString(xTooBig) }),
		"epk 32 bytes":     mod(func(s *age.Stanza) { s.Args[1] = enc.EncodeToString(epk[:32]) }),
		"epk padded":       mod(func(s *age.Stanza) { s.Args[1] = enc.EncodeToString(epk) + "=" }),
		"empty body":       mod(func(s *age.Stanza) { s.Body = nil }),
		"short body":       mod(func(s *age.Stanza) { s.Body = s.Body[:31] }),
		"long body":        mod(func(s *age.Stanza) { s.Body = append(s.Body, 0) }),
		"48-byte body":     mod(func(s *age.Stanza) { s.Body = append(s.Body, make([]byte, 16)...) }),
	}
	for name, s := range cases {
		card.calls = 0
		// A malformed stanza is fatal even if a good one follows.
		_, err := id.Unwrap([]*age.Stanza{s, good})
		if err == nil || errors.Is(err, age.ErrIncorrectIdentity) {
			t.Errorf("%s: Unwrap returned %v, want a fatal error", name, err)
		}
		if card.calls != 0 {
			t.Errorf("%s: the card was asked for an ECDH before the stanzas were validated", name)
		}
	}
	if _, err := id.Unwrap([]*age.Stanza{good}); err != nil {
		t.Fatalf("the unmodified stanza: %v", err)
	}
}

func TestUnwrapMatching(t *testing.T) {
	card := newFakePIV(t)
	id, err := NewIdentity(card)
	if err != nil {
		t.Fatal(err)
	}
	other := newSoftIdentity(t)
	fileKey := make([]byte, 16)
	rand.Read(fileKey)
	mine, _ := id.Recipient().Wrap(fileKey)
	theirs, _ := other.Recipient().Wrap(fileKey)
	x, _ := mustX25519(t).Recipient().Wrap(fileKey)

	// Other stanza types and other tags: ErrIncorrectIdentity, no ECDH.
	card.calls = 0
	_, err = id.Unwrap([]*age.Stanza{theirs[0], x[0]})
	if !errors.Is(err, age.ErrIncorrectIdentity) {
		t.Errorf("no matching stanza: %v", err)
	}
	if card.calls != 0 {
		t.Errorf("ECDH called %d times for stanzas with other tags", card.calls)
	}
	if _, err := id.Unwrap(nil); !errors.Is(err, age.ErrIncorrectIdentity) {
		t.Errorf("no stanzas: %v", err)
	}

	// A matching stanza with a tampered body, then a good one: the good one
	// is used.
	bad := &age.Stanza{Type: mine[0].Type, Args: mine[0].Args, Body: append([]byte{}, mine[0].Body...)}
	bad.Body[0] ^= 1
	got, err := id.Unwrap([]*age.Stanza{x[0], bad, theirs[0], mine[0]})
	if err != nil || !bytes.Equal(got, fileKey) {
		t.Fatalf("Unwrap = %x, %v", got, err)
	}

	// Only the tampered one: ErrIncorrectIdentity, with an explanation.
	_, err = id.Unwrap([]*age.Stanza{bad})
	if !errors.Is(err, age.ErrIncorrectIdentity) || err == age.ErrIncorrectIdentity {
		t.Errorf("tampered body: %v, want a wrapped ErrIncorrectIdentity", err)
	}

	// Every tampered byte is caught.
	for i := range mine[0].Body {
		b := &age.Stanza{Type: mine[0].Type, Args: mine[0].Args, Body: append([]byte{}, mine[0].Body...)}
		b.Body[i] ^= 0x80
		if _, err := id.Unwrap([]*age.Stanza{b}); !errors.Is(err, age.ErrIncorrectIdentity) {
			t.Errorf("body byte %d flipped: %v", i, err)
		}
	}
	// A different (valid) ephemeral key is caught by the AEAD as well.
	swapped := &age.Stanza{Type: mine[0].Type, Args: []string{mine[0].Args[0], theirs[0].Args[1]}, Body: mine[0].Body}
	if _, err := id.Unwrap([]*age.Stanza{swapped}); !errors.Is(err, age.ErrIncorrectIdentity) {
		t.Errorf("swapped ephemeral key: %v", err)
	}

	// A card error is fatal and passed through.
	errRemoved := errors.New("smart card removed")
	card.err = errRemoved
	_, err = id.Unwrap(mine)
	if !errors.Is(err, errRemoved) || errors.Is(err, age.ErrIncorrectIdentity) {
		t.Errorf("card error: %v", err)
	}
}

// shortECDH returns an ECDH result of the wrong length.
type shortECDH struct{ *ecdh.PrivateKey }

func (s shortECDH) ECDH(peer *ecdh.PublicKey) ([]byte, error) {
	b, err := s.PrivateKey.ECDH(peer)
	return b[:31], err
}

func TestUnwrapChecksSharedSecretLength(t *testing.T) {
	sk := newSoftKey(t)
	id, err := NewIdentity(shortECDH{sk})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := id.Recipient().Wrap(make([]byte, 16))
	if _, err := id.Unwrap(s); err == nil || errors.Is(err, age.ErrIncorrectIdentity) {
		t.Errorf("31-byte shared secret: %v", err)
	}
}

func BenchmarkWrap(b *testing.B) {
	r := newSoftIdentity(b).Recipient()
	fileKey := make([]byte, 16)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Wrap(fileKey); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnwrap(b *testing.B) {
	id := newSoftIdentity(b)
	s, err := id.Recipient().Wrap(make([]byte, 16))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := id.Unwrap(s); err != nil {
			b.Fatal(err)
		}
	}
}

// A crafted file with many stanzas for one key must not make the card do
// an ECDH (or wait for a touch) for each.
func TestUnwrapBoundsCardWork(t *testing.T) {
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	id, err := NewIdentity(countingAgreer{priv, &calls})
	if err != nil {
		t.Fatal(err)
	}
	st, err := id.Recipient().Wrap(make([]byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	var many []*age.Stanza
	for range 50 {
		many = append(many, st[0])
	}
	if _, err := id.Unwrap(many); err == nil {
		t.Fatal("50 stanzas with one tag were accepted")
	}
	if calls != 0 {
		t.Errorf("the key was used %d times for a crafted file", calls)
	}
	if _, err := id.Unwrap(append(many[:1:1], st[0])); err != nil {
		t.Errorf("two matching stanzas (a tag clash) refused: %v", err)
	}
}

type countingAgreer struct {
	k     *ecdh.PrivateKey
	calls *int
}

func (c countingAgreer) Public() crypto.PublicKey { return c.k.PublicKey() }
func (c countingAgreer) ECDH(p *ecdh.PublicKey) ([]byte, error) {
	*c.calls++
	return c.k.ECDH(p)
}
