package card

import (
	"errors"
	"strings"
	"testing"

	"github.com/valv-vault/valv/crypto/yubisim"
	"github.com/valv-vault/valv/crypto/yubisim/pcsctest"
)

// The tests of this package drive simulated YubiKeys through the real
// PC/SC stack: piv-go, libpcsclite, a private pcscd and its vpcd reader
// (pcsctest). They run one after another: Open looks at every reader,
// and piv-go holds a card exclusively while it looks.
func TestMain(m *testing.M) { pcsctest.Main(m) }

// Values of the enrolled test cards.
const (
	testPIN = "24681357"
	testPUK = "97531864"
)

var newCard = yubisim.Config{Serial: 31000001, Version: "5.7.1"}

// open opens the card with the serial and closes it at the end.
func open(t testing.TB, serial uint32) *Session {
	t.Helper()
	s, err := Open(serial)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// enrol enrols a new card with the test PIN and PUK and no touch.
func enrol(t testing.TB, s *Session, name string) *Enrolment {
	t.Helper()
	e, err := s.Enrol(EnrolOptions{
		PIN: defaultPIN, PUK: defaultPUK, NewPIN: testPIN, NewPUK: testPUK,
		Name: name, Touch: TouchNever,
	})
	if err != nil {
		t.Fatalf("enrolling YubiKey %d: %v", s.Info().Serial, err)
	}
	return e
}

// noSecret fails if err's text contains one of the secrets.
func noSecret(t testing.TB, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q contains a PIN or PUK", err)
		}
	}
}

// simCard adapts a yubisim card to pcsc.Transmitter, with no PC/SC in
// between.
type simCard struct{ c *yubisim.Card }

func (s simCard) Transmit(apdu []byte) ([]byte, error) { return s.c.Transmit(apdu), nil }

func wantErr(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want %v", err, target)
	}
}
