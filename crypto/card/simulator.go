package card

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/valv-vault/valv/crypto/yubisim"
	"github.com/valv-vault/valv/crypto/yubisim/inproc"
)

// DemoPIN is the PIN of the demo card. Demo mode shows it on screen: the
// demo card guards nothing.
const DemoPIN = "123456"

// DemoSerial is the serial number of the demo card.
const DemoSerial = 10000001

// Simulator is a yubisim card served to this process's PC/SC library with
// no pcscd (package inproc), so that every other function of this package
// works on it unchanged. It is for demo mode: its keys are software keys.
type Simulator struct {
	Card   *yubisim.Card
	Reader *inproc.Reader
	server *inproc.Server
	dir    string
}

// ErrSimulatorStarted is StartSimulator's error after it has served a card
// once in the process, even if that simulator is closed.
var ErrSimulatorStarted = errors.New("the simulated card was already started in this process, and the PC/SC library keeps the socket it first used: start the program again")

// simulatorStarted is set once StartSimulator has pointed the PC/SC
// library at its socket.
var simulatorStarted struct {
	sync.Mutex
	done bool
}

// StartSimulator serves one simulated card from a socket in a new temporary
// folder inside dir ("" for the system's temporary folder) and points this
// process's PC/SC library at it. It must run before anything else in the
// process uses PC/SC, and only once: the library remembers its socket, so
// a second call returns ErrSimulatorStarted.
func StartSimulator(dir string) (*Simulator, error) {
	simulatorStarted.Lock()
	defer simulatorStarted.Unlock()
	if simulatorStarted.done {
		return nil, ErrSimulatorStarted
	}
	tmp, err := os.MkdirTemp(dir, "valv-card-")
	if err != nil {
		return nil, fmt.Errorf("making a folder for the simulated card: %w", err)
	}
	card, err := yubisim.New(yubisim.Config{Serial: DemoSerial, Version: "5.7.1"})
	if err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("making the simulated card: %w", err)
	}
	srv, err := inproc.Listen(tmp)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	if err := srv.Use(); err != nil {
		srv.Close()
		os.RemoveAll(tmp)
		return nil, err
	}
	simulatorStarted.done = true
	r := srv.AddReader("Valv simulated reader")
	r.Insert(card)
	return &Simulator{Card: card, Reader: r, server: srv, dir: tmp}, nil
}

// AddCard inserts another simulated card, blank (factory PIN 123456, PUK
// 12345678), with the serial number, in a reader of its own: demo mode
// offers one to try enrolling a key holder's card.
func (s *Simulator) AddCard(serial uint32) (*inproc.Reader, error) {
	c, err := yubisim.New(yubisim.Config{Serial: serial, Version: "5.7.1"})
	if err != nil {
		return nil, fmt.Errorf("making the simulated card: %w", err)
	}
	r := s.server.AddReader(fmt.Sprintf("Valv simulated reader %d", serial))
	r.Insert(c)
	return r, nil
}

// Close stops serving the card and removes its folder.
func (s *Simulator) Close() error {
	err := s.server.Close()
	if rmErr := os.RemoveAll(s.dir); err == nil {
		err = rmErr
	}
	return err
}
