package service

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/valv-vault/valv/crypto/card"
)

// Demo mode serves its card from inside the process: the service finds it
// with no pcscd, and Close leaves nothing behind. (libpcsclite keeps the
// first socket of a process, so this package has only this one test.)
func TestDemoServiceFindsSimulatedCardAndCleansUp(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	s, err := New(Options{Demo: true})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Demo() || s.DemoPIN() != card.DemoPIN {
		t.Errorf("Demo() = %v, DemoPIN() = %q", s.Demo(), s.DemoPIN())
	}
	cards, err := s.Cards()
	if err != nil {
		t.Fatal(err)
	}
	if len(cards) != 1 || cards[0].Serial != card.DemoSerial || !cards[0].Simulated {
		t.Fatalf("cards = %+v, want the simulated demo card", cards)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "*")); len(left) != 0 {
		t.Errorf("demo mode left %q behind", left)
	}
	if _, err := os.Stat(tmp); err != nil {
		t.Fatal(err)
	}
}
