package card

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/go-piv/piv-go/v2/piv"
	"github.com/valv-vault/valv/crypto/compartmentkey"
	"github.com/valv-vault/valv/crypto/pivage"
	"github.com/valv-vault/valv/crypto/yubisim"
	"github.com/valv-vault/valv/crypto/yubisim/pcsctest"
)

// TestEnrol enrols a new card of each firmware generation: 5.4.3 starts
// with a 3DES management key, 5.7.1 with an AES-192 one.
func TestEnrol(t *testing.T) {
	for _, tc := range []struct {
		version string
		touch   Touch
	}{{"5.7.1", TouchNever}, {"5.4.3", TouchCached}} {
		t.Run(tc.version, func(t *testing.T) {
			const serial = 31000101
			e := pcsctest.Require(t, yubisim.Config{Serial: serial, Version: tc.version})
			s := open(t, serial)
			en, err := s.Enrol(EnrolOptions{
				PIN: defaultPIN, PUK: defaultPUK, NewPIN: testPIN, NewPUK: testPUK,
				Name: "Anna Svensson", Touch: tc.touch,
			})
			if err != nil {
				t.Fatal(err)
			}

			if en.Serial != serial || en.Slot != 0x82 || en.Name != "Valv key holder Anna Svensson" || en.Touch != tc.touch {
				t.Errorf("enrolment %+v", en)
			}
			if !strings.HasPrefix(en.Recipient.String(), "age1yubikey1") {
				t.Errorf("recipient %s", en.Recipient)
			}
			gotSerial, gotSlot, tag, err := pivage.ParseIdentity(en.Identity)
			if err != nil || gotSerial != serial || gotSlot != 0x82 || tag != en.Recipient.Tag() {
				t.Errorf("identity %s: %d %x %x %v", en.Identity, gotSerial, gotSlot, tag, err)
			}
			// The keys are the card's own, generated there.
			card := e.Card(0)
			if !card.SoftwareKey(0x82).(*ecdsa.PrivateKey).PublicKey.Equal(en.key) ||
				!card.SoftwareKey(0x9c).(*ecdsa.PrivateKey).PublicKey.Equal(en.SigningKey) {
				t.Error("the enrolment's keys are not the keys in 82 and 9C")
			}

			checkCertificates(t, s, en)
			roundTrip(t, s, en)

			sig, err := mustSigner(t, s).Sign(rand.Reader, digest("checkpoint"), crypto.SHA256)
			if err != nil || !ecdsa.VerifyASN1(en.SigningKey, digest("checkpoint"), sig) {
				t.Errorf("audit signature: %v", err)
			}
			s.Close()

			// The management key is AES-192 now, stored under the PIN
			// and flagged as such; ykman agrees (if installed).
			yk, err := piv.Open(e.Reader(0))
			if err != nil {
				t.Fatal(err)
			}
			md, err := yk.Metadata(testPIN)
			if err != nil || md.ManagementKey == nil || len(*md.ManagementKey) != 24 || bytes.Equal(*md.ManagementKey, piv.DefaultManagementKey) {
				t.Errorf("5FC109: %v", err)
			}
			yk.Close()
			admin, _ := getObject(simCard{card}, objAdminData)
			if !bytes.Equal(admin, []byte{0x80, 0x03, 0x81, 0x01, 0x02}) {
				t.Errorf("5FFF00 = % x", admin)
			}
			checkYkman(t, e)

			// Re-opening: the enrolment is read back from the card.
			back, err := Holder(serial)
			if err != nil {
				t.Fatal(err)
			}
			if back.Identity != en.Identity || back.Recipient.String() != en.Recipient.String() ||
				!back.SigningKey.Equal(en.SigningKey) || back.Name != en.Name || back.Touch != en.Touch {
				t.Errorf("Holder = %+v, enrolled %+v", back, en)
			}
		})
	}
}

// checkCertificates checks the certificate age-plugin-yubikey expects in
// the holder slot, and the one in 9C.
func checkCertificates(t *testing.T, s *Session, en *Enrolment) {
	touch := map[Touch]piv.TouchPolicy{TouchNever: piv.TouchPolicyNever, TouchCached: piv.TouchPolicyCached}[en.Touch]
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	slot, _ := piv.RetiredKeyManagementSlot(uint32(en.Slot))
	c, err := s.yk.Certificate(slot)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Subject.String(); got != "CN=Valv key holder Anna Svensson,OU=0.5.0,O=age-plugin-yubikey" {
		t.Errorf("subject %q", got)
	}
	if len(c.SerialNumber.Bytes()) < 17 || !c.PublicKey.(*ecdsa.PublicKey).Equal(en.key) {
		t.Errorf("serial %x, key %v", c.SerialNumber, c.PublicKey)
	}
	if err := c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature); err != nil {
		t.Errorf("self-signature: %v", err)
	}
	var policy []byte
	for _, x := range c.Extensions {
		if x.Id.String() == "1.3.6.1.4.1.41482.3.8" {
			policy = x.Value
		}
	}
	if !bytes.Equal(policy, []byte{0x02, en.Touch.code()}) { // PIN once, the touch policy
		t.Errorf("policy extension % x", policy)
	}
	ki, err := s.yk.KeyInfo(slot)
	if err != nil || ki.PINPolicy != piv.PINPolicyOnce || ki.TouchPolicy != touch || ki.Origin != piv.OriginGenerated {
		t.Errorf("key metadata %+v, %v", ki, err)
	}
	sc, err := s.yk.Certificate(piv.SlotSignature)
	if err != nil || sc.Subject.CommonName != "Valv audit signing key" {
		t.Errorf("9C certificate: %v", err)
	}
}

// roundTrip encrypts to the recipient string and decrypts on the card.
func roundTrip(t *testing.T, s *Session, en *Enrolment) {
	t.Helper()
	r, err := pivage.ParseRecipient(en.Recipient.String())
	if err != nil {
		t.Fatal(err)
	}
	var ct bytes.Buffer
	w, err := age.Encrypt(&ct, r)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "customer records")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	id, err := s.Identity()
	if err != nil {
		t.Fatal(err)
	}
	pr, err := age.Decrypt(&ct, id)
	if err != nil {
		t.Fatalf("decrypting on the card: %v", err)
	}
	if got, _ := io.ReadAll(pr); string(got) != "customer records" {
		t.Errorf("decrypted %q", got)
	}
}

func mustSigner(t *testing.T, s *Session) crypto.Signer {
	t.Helper()
	sg, err := s.Signer()
	if err != nil {
		t.Fatal(err)
	}
	return sg
}

func digest(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// checkYkman runs Yubico's ykman against the enrolled card: piv info
// shows the certificates and the PIN-protected management key, and ykman
// can use that key (it fetches it from 5FC109 because of the 5FFF00 flag).
func checkYkman(t *testing.T, e *pcsctest.Env) {
	t.Helper()
	if _, err := exec.LookPath("ykman"); err != nil {
		if os.Getenv("VALV_REQUIRE_TOOLS") == "1" {
			t.Fatal(err)
		}
		t.Log("ykman not installed: skipping its checks")
		return
	}
	out := ykman(t, e, "piv", "info")
	t.Logf("ykman piv info:\n%s", out)
	for _, want := range []string{
		"Management key algorithm: AES192",
		"Management key is stored on the YubiKey, protected by PIN.",
		"Slot 82:", "O=age-plugin-yubikey", "CN=Valv key holder Anna Svensson",
		"Slot 9c:", "CN=Valv audit signing key",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("ykman piv info lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "WARNING") {
		t.Errorf("ykman piv info warns:\n%s", out)
	}
	ykman(t, e, "piv", "objects", "generate", "chuid", "-P", testPIN)
}

func ykman(t *testing.T, e *pcsctest.Env, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ykman", append([]string{"--reader", e.Reader(0)}, args...)...)
	cmd.Env = append(e.Environ(), "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ykman %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestEnrolRefusesDefaults: the factory PIN or PUK as the new value is
// refused before the card is touched.
func TestEnrolRefusesDefaults(t *testing.T) {
	pcsctest.Require(t, newCard)
	s := open(t, newCard.Serial)
	for _, o := range []EnrolOptions{
		{NewPIN: defaultPIN, NewPUK: testPUK},
		{NewPIN: testPIN, NewPUK: defaultPUK},
	} {
		o.PIN, o.PUK = defaultPIN, defaultPUK
		_, err := s.Enrol(o)
		if !errors.Is(err, ErrDefaultPIN) && !errors.Is(err, ErrDefaultPUK) {
			t.Errorf("Enrol with a factory value: %v", err)
		}
		noSecret(t, err, defaultPIN, defaultPUK, testPIN, testPUK)
	}
	// A wrong current PUK changes nothing either.
	_, err := s.Enrol(EnrolOptions{PIN: defaultPIN, PUK: "00000000", NewPIN: testPIN, NewPUK: testPUK})
	var wp *WrongPUKError
	if !errors.As(err, &wp) || wp.Left != 2 {
		t.Errorf("Enrol with a wrong PUK: %v", err)
	}
	noSecret(t, err, "00000000", defaultPIN, testPIN, testPUK)
	s.Close()
	s = open(t, newCard.Serial)
	if n, err := s.PINRetries(); err != nil || n != 3 {
		t.Errorf("PIN tries %d, %v: the card was touched", n, err)
	}
	if err := s.VerifyPIN(defaultPIN); err != nil {
		t.Errorf("the factory PIN no longer works: %v", err)
	}
}

// TestEnrolOccupiedSlot: enrolment never overwrites a key unless forced;
// a forced enrolment without a slot keeps the older key, which
// IdentityFor still reaches.
func TestEnrolOccupiedSlot(t *testing.T) {
	pcsctest.Require(t, newCard)
	s := open(t, newCard.Serial)
	first := enrol(t, s, "")

	o := EnrolOptions{PIN: testPIN, PUK: testPUK, NewPIN: testPIN, NewPUK: testPUK, Slot: 0x82}
	var inUse *SlotInUseError
	if _, err := s.Enrol(o); !errors.As(err, &inUse) || inUse.Slot != 0x82 {
		t.Fatalf("Enrol into the occupied 82: %v", err)
	}
	o.Slot = 0 // 83 is free, but 9C is not
	if _, err := s.Enrol(o); !errors.As(err, &inUse) || inUse.Slot != 0x9c {
		t.Fatalf("Enrol with 9C occupied: %v", err)
	}
	o.Force = true
	second, err := s.Enrol(o) // the stored management key is reused
	if err != nil {
		t.Fatal(err)
	}
	if second.Slot != 0x83 || second.SigningKey.Equal(first.SigningKey) {
		t.Errorf("forced enrolment %+v after %+v", second, first)
	}
	s.Close()

	s = open(t, newCard.Serial)
	if err := s.VerifyPIN(testPIN); err != nil {
		t.Fatal(err)
	}
	if h, err := s.Holder(); err != nil || h.Identity != second.Identity {
		t.Errorf("Holder %+v, %v; want the newer enrolment", h, err)
	}
	old, err := s.IdentityFor(first.Identity)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := compartmentkey.New()
	wrapped, _ := compartmentkey.Wrap(k, first.Recipient)
	if _, err := compartmentkey.Unwrap(wrapped, old); err != nil {
		t.Errorf("the older key: %v", err)
	}

	o.Slot = 0x82
	third, err := s.Enrol(o)
	if err != nil {
		t.Fatal(err)
	}
	if third.Slot != 0x82 || third.Recipient.String() == first.Recipient.String() {
		t.Errorf("forced enrolment into 82: %+v", third)
	}
	if _, err := s.IdentityFor(first.Identity); err == nil || !strings.Contains(err.Error(), "overwritten") {
		t.Errorf("IdentityFor an overwritten key: %v", err)
	}
}

// TestEnrolCustomManagementKey: a card whose management key was changed
// and not stored under the PIN cannot be enrolled, and says what to do.
func TestEnrolCustomManagementKey(t *testing.T) {
	e := pcsctest.Require(t, newCard)
	yk, err := piv.Open(e.Reader(0))
	if err != nil {
		t.Fatal(err)
	}
	custom := bytes.Repeat([]byte{0x42}, 24)
	if err := yk.SetManagementKey(piv.DefaultManagementKey, custom); err != nil {
		t.Fatal(err)
	}
	yk.Close()
	s := open(t, newCard.Serial)
	_, err = s.Enrol(EnrolOptions{PIN: defaultPIN, PUK: defaultPUK, NewPIN: testPIN, NewPUK: testPUK})
	wantErr(t, err, ErrManagementKey)
	if !strings.Contains(err.Error(), "ykman piv reset") {
		t.Errorf("message %q does not say what to do", err)
	}
}

// TestSecondHolderCannotUnwrap: a compartment key wrapped to one key
// holder does not open with another holder's card.
func TestSecondHolderCannotUnwrap(t *testing.T) {
	pcsctest.Require(t, newCard, yubisim.Config{Serial: 31000002, Version: "5.4.3"})
	a := open(t, newCard.Serial)
	b := open(t, 31000002)
	ea, eb := enrol(t, a, "A"), enrol(t, b, "B")
	if ea.Recipient.String() == eb.Recipient.String() {
		t.Fatal("two cards, one recipient")
	}
	k, err := compartmentkey.New()
	if err != nil {
		t.Fatal(err)
	}
	wrapped, err := compartmentkey.Wrap(k, ea.Recipient)
	if err != nil {
		t.Fatal(err)
	}
	idB, err := b.Identity()
	if err != nil {
		t.Fatal(err)
	}
	_, err = compartmentkey.Unwrap(wrapped, idB)
	wantErr(t, err, compartmentkey.ErrNotGranted)
	idA, err := a.Identity()
	if err != nil {
		t.Fatal(err)
	}
	got, err := compartmentkey.Unwrap(wrapped, idA)
	if err != nil || !got.Equal(k) {
		t.Fatalf("holder A: %v", err)
	}
}
