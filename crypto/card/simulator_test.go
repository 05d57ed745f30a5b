package card

import (
	"os"
	"testing"
)

// One simulator for the whole test process: libpcsclite remembers the first
// socket it was pointed at.
var sim *Simulator

func TestMain(m *testing.M) {
	var err error
	sim, err = StartSimulator("")
	if err != nil {
		panic(err)
	}
	code := m.Run()
	sim.Close()
	os.Exit(code)
}

func TestListFindsSimulatedCard(t *testing.T) {
	cards, err := List()
	if err != nil {
		t.Fatal(err)
	}
	if len(cards) != 1 {
		t.Fatalf("cards = %v, want one", cards)
	}
	c := cards[0]
	if c.Serial != DemoSerial || c.Firmware != "5.7.1" || !c.Simulated {
		t.Errorf("card = %+v", c)
	}
	if got, want := c.String(), "YubiKey 10000001 (firmware 5.7.1) SIMULATED"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestListWithCardRemoved(t *testing.T) {
	sim.Reader.Remove()
	defer sim.Reader.Insert(sim.Card)
	cards, err := List()
	if err != nil {
		t.Fatal(err)
	}
	if len(cards) != 0 {
		t.Errorf("cards = %v with the card removed", cards)
	}
}
