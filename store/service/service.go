// Package service is the one API the GUI calls. It hides the cards, the
// vault files and the cryptography behind plain methods, so that every
// feature of the window can be tested without one, and ui/ never imports
// bbolt or piv-go.
package service

import (
	"fmt"

	"github.com/valv-vault/valv/crypto/card"
)

// Card describes a key holder's card present in a reader.
type Card = card.Info

// Options configure a Service.
type Options struct {
	// Demo serves a simulated card from inside the process (no pcscd).
	// It must be decided before anything in the process uses PC/SC.
	Demo bool
}

// Service is the engine behind the window.
type Service struct {
	sim *card.Simulator
}

// New starts the service.
func New(opts Options) (*Service, error) {
	s := &Service{}
	if opts.Demo {
		sim, err := card.StartSimulator("")
		if err != nil {
			return nil, fmt.Errorf("starting the demo card: %w", err)
		}
		s.sim = sim
	}
	return s, nil
}

// Demo reports whether the service runs on a simulated card.
func (s *Service) Demo() bool { return s.sim != nil }

// DemoPIN is the demo card's PIN, or "" outside demo mode.
func (s *Service) DemoPIN() string {
	if s.sim == nil {
		return ""
	}
	return card.DemoPIN
}

// Cards lists the cards present, by serial.
func (s *Service) Cards() ([]Card, error) { return card.List() }

// Close releases what the service holds and, in demo mode, removes the
// simulated card and its folder.
func (s *Service) Close() error {
	if s.sim != nil {
		return s.sim.Close()
	}
	return nil
}
