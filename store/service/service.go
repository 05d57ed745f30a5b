// Package service is the one API the GUI calls. It hides the cards, the
// vault files and the cryptography behind plain methods, so that every
// feature of the window can be tested without one, and ui/ never imports
// bbolt or piv-go.
//
// A Service holds at most one unlocked session at a time: Unlock (with a
// card's PIN), Unblock (with its PUK) or UnlockRecovery (with the recovery
// key file) opens it, Lock drops it. Every customer method works on that
// session and fails with ErrLocked without one. Every read of customer
// data goes through the store, which writes its audit entry.
//
// The admin calls (admin.go, staff.go, audit.go) list and change
// compartments and their grants, the staff register and card enrolment,
// and read, verify and write the audit log; setup.go makes a new vault
// (the first run, shared with valv init); airgap.go reads the network
// interfaces from /sys.
//
// errors.go names the classes of errors the window words for the person
// at the screen; Classify makes an engine error's class errors.Is-able.
//
// PINs, PUKs and recovery keys are passed through to the card or the
// store and never kept, logged or put into an error.
package service

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"sync"

	"filippo.io/age"

	"github.com/valv-vault/valv/crypto/card"
	"github.com/valv-vault/valv/crypto/recovery"
	"github.com/valv-vault/valv/store"
	"github.com/valv-vault/valv/store/backup"
	"github.com/valv-vault/valv/store/customer"
)

// Card describes a key holder's card present in a reader.
type Card = card.Info

// Types of the engine the window shows. They are plain data.
type (
	// Code is a customer code.
	Code = customer.Code
	// Customer is a customer's fields.
	Customer = customer.Customer
	// FieldErrors are per-field validation messages.
	FieldErrors = customer.FieldErrors
	// Record is one version of a customer, masked unless revealed.
	Record = store.Record
	// Document is a stored document's metadata.
	Document = store.DocumentInfo
	// WrongPINError is a wrong PIN with the tries left.
	WrongPINError = card.WrongPINError
	// WrongPUKError is a wrong PUK with the tries left.
	WrongPUKError = card.WrongPUKError
)

// Errors the window tells apart.
var (
	// ErrBlocked: the PIN has no tries left; Unblock with the PUK.
	ErrBlocked = card.ErrBlocked
	// ErrPUKBlocked: the PUK has no tries left either.
	ErrPUKBlocked = card.ErrPUKBlocked
	// ErrLocked: there is no unlocked session (never unlocked, locked,
	// or the card was removed).
	ErrLocked = errors.New("the vault is locked: unlock it again")
)

// Options configure a Service.
type Options struct {
	// Demo serves a simulated card from inside the process (no pcscd)
	// and builds a throw-away vault for it in a temporary folder. It must
	// be decided before anything in the process uses PC/SC.
	Demo bool
	// VaultDir is the vault folder (ignored in demo mode).
	VaultDir string
	// App is the version of Valv, recorded in the backups it writes.
	App string
}

// Service is the engine behind the window. It is safe for concurrent
// use.
type Service struct {
	sim      *card.Simulator
	demoDir  string // demo mode's temporary folder, removed by Close
	vaultDir string

	mu   sync.Mutex
	v    *store.Vault   // opened at the first unlock (at start in demo mode)
	sess *store.Session // nil while locked
	cs   *card.Session  // the card that unlocked sess; nil for the recovery key

	// First run (setup.go): the recovery key of the vault to create, the
	// groups asked back, and whether they were.
	pending *recovery.Key
	check   []GroupRef
	kept    bool

	id age.Identity // the key that unlocked sess (opens backups); nil while locked

	app     string      // Options.App
	backups backupState // backups.go
}

// New starts the service. In demo mode it builds the demo vault first
// (a few seconds).
func New(opts Options) (*Service, error) {
	s := &Service{vaultDir: opts.VaultDir, app: cmp.Or(opts.App, "valv")}
	if opts.Demo {
		if err := s.startDemo(); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// Demo reports whether the service runs on a simulated card.
func (s *Service) Demo() bool { return s.sim != nil }

// Cards lists the cards present, by serial.
func (s *Service) Cards() ([]Card, error) { return card.List() }

// vault opens the vault folder on first use.
func (s *Service) vault() (*store.Vault, error) {
	if s.v != nil {
		return s.v, nil
	}
	if _, err := os.Stat(s.vaultDir); err != nil {
		return nil, &Error{Kind: ErrNoVault, Err: fmt.Errorf("there is no vault in %s: create one with valv init, or choose the vault folder with --vault", s.vaultDir)}
	}
	v, err := store.Open(s.vaultDir)
	if err != nil {
		return nil, err
	}
	s.v = v
	// What restore drills killed on the way left next to the vault
	// (store/backup: a running drill's folder is left alone).
	backup.CleanStaleDrills(s.vaultDir)
	return v, nil
}

// session returns the unlocked session or ErrLocked.
func (s *Service) session() (*store.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sess == nil {
		return nil, ErrLocked
	}
	if s.cs != nil {
		select {
		case <-s.cs.Removed():
			s.lockLocked()
			return nil, ErrLocked
		default:
		}
	}
	return s.sess, nil
}

// Close locks the session, closes the vault and, in demo mode, removes
// the simulated card and the whole demo folder.
func (s *Service) Close() error {
	s.mu.Lock()
	err := s.lockLocked()
	if s.v != nil {
		err = errors.Join(err, s.v.Close())
		s.v = nil
	}
	s.mu.Unlock()
	if s.sim != nil {
		err = errors.Join(err, s.sim.Close())
		s.sim = nil
	}
	if s.demoDir != "" {
		err = errors.Join(err, os.RemoveAll(s.demoDir))
		s.demoDir = ""
	}
	return err
}
