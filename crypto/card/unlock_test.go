package card

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-piv/piv-go/v2/piv"
	"github.com/valv-vault/valv/crypto/compartmentkey"
	"github.com/valv-vault/valv/crypto/yubisim/pcsctest"
)

// TestWrongPINsBlockThenUnblock: three wrong PINs count down 2, 1, then
// blocked; the PUK sets a new PIN (not the factory one) and unlocks.
func TestWrongPINsBlockThenUnblock(t *testing.T) {
	pcsctest.Require(t, newCard)
	s := open(t, newCard.Serial)
	enrol(t, s, "")
	s.Close()

	s = open(t, newCard.Serial)
	if _, err := s.Identity(); !errors.Is(err, ErrLocked) {
		t.Fatalf("Identity before the PIN: %v", err)
	}
	if n, err := s.PINRetries(); err != nil || n != 3 {
		t.Fatalf("PINRetries = %d, %v", n, err)
	}
	wrong := []string{"11111111", "22222222", "33333333"}
	for i, pin := range wrong[:2] {
		err := s.VerifyPIN(pin)
		var w *WrongPINError
		if !errors.As(err, &w) || w.Left != 2-i {
			t.Fatalf("wrong PIN %d: %v", i+1, err)
		}
		noSecret(t, err, pin, testPIN)
	}
	err := s.VerifyPIN(wrong[2])
	wantErr(t, err, ErrBlocked)
	if !strings.Contains(err.Error(), "PUK") {
		t.Errorf("blocked message %q does not mention the PUK", err)
	}
	noSecret(t, err, wrong[2], testPIN)
	err = s.VerifyPIN(testPIN)
	wantErr(t, err, ErrBlocked) // the right PIN no longer helps
	noSecret(t, err, testPIN)
	if n, err := s.PINRetries(); err != nil || n != 0 {
		t.Errorf("PINRetries when blocked = %d, %v", n, err)
	}

	err = s.Unblock("00000000", "13572468")
	var wp *WrongPUKError
	if !errors.As(err, &wp) || wp.Left != 2 {
		t.Fatalf("wrong PUK: %v", err)
	}
	noSecret(t, err, "00000000", "13572468", testPUK)
	err = s.Unblock(testPUK, defaultPIN)
	wantErr(t, err, ErrDefaultPIN)
	noSecret(t, err, testPUK, defaultPIN)
	err = s.Unblock(testPUK, testPUK)
	wantErr(t, err, ErrPUKIsPIN)
	if err := s.Unblock(testPUK, "13572468"); err != nil {
		t.Fatalf("Unblock: %v", err)
	}
	if !s.Unlocked() {
		t.Error("not unlocked after Unblock")
	}
	if _, err := s.Identity(); err != nil {
		t.Errorf("Identity after Unblock: %v", err)
	}
	if _, err := s.PINRetries(); !errors.Is(err, ErrAlreadyUnlocked) {
		t.Errorf("PINRetries when unlocked: %v", err)
	}

	err = s.ChangePIN("99999999", testPIN)
	var w *WrongPINError
	if !errors.As(err, &w) || w.Left != 2 {
		t.Errorf("ChangePIN with a wrong PIN: %v", err)
	}
	noSecret(t, err, "99999999", testPIN)
	wantErr(t, s.ChangePIN("13572468", defaultPIN), ErrDefaultPIN)
	if err := s.ChangePIN("13572468", testPIN); err != nil {
		t.Fatal(err)
	}
}

// TestPIVGoRemovalText pins the pcsc-lite text by which isRemoved knows
// piv-go's "card removed" (piv-go does not export its error type).
func TestPIVGoRemovalText(t *testing.T) {
	e := pcsctest.Require(t, newCard)
	yk, err := piv.Open(e.Reader(0))
	if err != nil {
		t.Fatal(err)
	}
	defer yk.Close()
	if err := e.RemoveCard(0); err != nil {
		t.Fatal(err)
	}
	_, err = yk.Serial()
	if err == nil || !isRemoved(err) {
		t.Fatalf("piv-go after removal: %v; isRemoved does not know it", err)
	}
}

// TestCloseLocksTheCard: after Close the card has forgotten the PIN, also
// for the next session.
func TestCloseLocksTheCard(t *testing.T) {
	pcsctest.Require(t, newCard)
	s := open(t, newCard.Serial)
	enrol(t, s, "")
	s.Close()
	if _, err := s.Identity(); err == nil {
		t.Error("Identity after Close")
	}
	s = open(t, newCard.Serial)
	if n, err := s.PINRetries(); err != nil || n != 3 {
		t.Errorf("the card still knows the PIN after Close: %d, %v", n, err)
	}
}

// TestRemovalWhileUnlocked: pulling the card out is reported within 2 s,
// and the session is dead; a re-inserted card needs the PIN again.
func TestRemovalWhileUnlocked(t *testing.T) {
	e := pcsctest.Require(t, newCard)
	s := open(t, newCard.Serial)
	enrol(t, s, "")
	id, err := s.Identity()
	if err != nil {
		t.Fatal(err)
	}
	if cards, _ := List(); len(cards) != 1 || cards[0].Serial != newCard.Serial {
		t.Errorf("List with the card open = %v", cards)
	}

	start := time.Now()
	removed := make(chan error, 1)
	go func() { removed <- e.RemoveCard(0) }()
	select {
	case <-s.Removed():
		t.Logf("removal reported %v after it began", time.Since(start))
	case <-time.After(2 * time.Second):
		t.Fatal("removal not reported within 2 s")
	}
	if err := <-removed; err != nil {
		t.Fatal(err)
	}
	if s.Unlocked() {
		t.Error("still unlocked after removal")
	}
	if err := s.VerifyPIN(testPIN); !errors.Is(err, ErrRemoved) {
		t.Errorf("VerifyPIN after removal: %v", err)
	}
	k, _ := compartmentkey.New()
	wrapped, _ := compartmentkey.Wrap(k, id.Recipient())
	if _, err := compartmentkey.Unwrap(wrapped, id); !errors.Is(err, ErrRemoved) {
		t.Errorf("unwrap after removal: %v", err)
	}
	if cards, _ := List(); len(cards) != 0 {
		t.Errorf("List after removal = %v", cards)
	}

	if err := e.InsertCard(0); err != nil {
		t.Fatal(err)
	}
	s2 := open(t, newCard.Serial)
	if s2.Unlocked() {
		t.Error("a re-inserted card starts unlocked")
	}
	if err := s2.VerifyPIN(testPIN); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkUnlockToCompartmentKey: from a closed card to a compartment key
// in hand: Open, VerifyPIN, Identity and compartmentkey.Unwrap (ECDH on
// the card), Close (with its reset). Through the real pcscd and vpcd.
func BenchmarkUnlockToCompartmentKey(b *testing.B) {
	pcsctest.Require(b, newCard)
	s := open(b, newCard.Serial)
	en := enrol(b, s, "")
	s.Close()
	k, err := compartmentkey.New()
	if err != nil {
		b.Fatal(err)
	}
	wrapped, err := compartmentkey.Wrap(k, en.Recipient)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		s, err := Open(newCard.Serial)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.VerifyPIN(testPIN); err != nil {
			b.Fatal(err)
		}
		id, err := s.Identity()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := compartmentkey.Unwrap(wrapped, id); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}
