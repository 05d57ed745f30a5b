package simulatortest

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/valv-vault/valv/crypto/card"
	"github.com/valv-vault/valv/crypto/yubisim"
)

// One simulator for the whole test process: libpcsclite remembers the first
// socket it was pointed at.
var sim *card.Simulator

func TestMain(m *testing.M) {
	var err error
	sim, err = card.StartSimulator("")
	if err != nil {
		panic(err)
	}
	code := m.Run()
	sim.Close()
	os.Exit(code)
}

func TestListFindsSimulatedCard(t *testing.T) {
	cards, err := card.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(cards) != 1 {
		t.Fatalf("cards = %v, want one", cards)
	}
	c := cards[0]
	if c.Serial != card.DemoSerial || c.Firmware != "5.7.1" || !c.Simulated {
		t.Errorf("card = %+v", c)
	}
	if got, want := c.String(), "YubiKey 10000001 (firmware 5.7.1) SIMULATED"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// TestStartSimulatorTwice: a second simulator in the process would serve
// a socket that the PC/SC library never reads; StartSimulator says so
// instead of letting every card call fail later with "pcscd is not
// running".
func TestStartSimulatorTwice(t *testing.T) {
	s, err := card.StartSimulator(t.TempDir())
	if err == nil {
		s.Close()
	}
	if !errors.Is(err, card.ErrSimulatorStarted) {
		t.Fatalf("second StartSimulator: %v, want ErrSimulatorStarted", err)
	}
	if cards, err := card.List(); err != nil || len(cards) != 1 {
		t.Errorf("after the refused second start, List = %v, %v; want the first simulator's card", cards, err)
	}
}

func TestListWithCardRemoved(t *testing.T) {
	sim.Reader.Remove()
	defer sim.Reader.Insert(sim.Card)
	cards, err := card.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(cards) != 0 {
		t.Errorf("cards = %v with the card removed", cards)
	}
}

// TestDemoCardEnrolUnlockRemove runs demo mode's path on the in-process
// server (no pcscd): enrolment with its raw admin-data connection and
// reset, ECDH on the card, and removal noticed through
// SCardGetStatusChange.
func TestDemoCardEnrolUnlockRemove(t *testing.T) {
	// Enrolment changes the PIN of the process's one card: start from a
	// factory card, so that the test passes again in the same process
	// (go test -count=2).
	fresh, err := yubisim.New(yubisim.Config{Serial: card.DemoSerial, Version: "5.7.1"})
	if err != nil {
		t.Fatal(err)
	}
	sim.Reader.Remove()
	sim.Card = fresh
	sim.Reader.Insert(fresh)

	s, err := card.Open(card.DemoSerial)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e, err := s.Enrol(card.EnrolOptions{
		PIN: card.DemoPIN, PUK: "12345678", NewPIN: "24681357", NewPUK: "97531864",
		Name: "Demo", Touch: card.TouchNever,
	})
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.Identity()
	if err != nil {
		t.Fatal(err)
	}
	var ct bytes.Buffer
	w, err := age.Encrypt(&ct, e.Recipient)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "demo")
	w.Close()
	r, err := age.Decrypt(&ct, id)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(r); string(got) != "demo" {
		t.Fatalf("decrypted %q", got)
	}

	start := time.Now()
	sim.Reader.Remove()
	defer sim.Reader.Insert(sim.Card)
	select {
	case <-s.Removed():
		t.Logf("removal reported after %v", time.Since(start))
	case <-time.After(2 * time.Second):
		t.Fatal("removal not reported within 2 s")
	}
	if err := s.VerifyPIN("24681357"); !errors.Is(err, card.ErrRemoved) {
		t.Errorf("VerifyPIN after removal: %v, want ErrRemoved", err)
	}
}
