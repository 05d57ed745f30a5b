package service

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"time"

	"github.com/valv-vault/valv/crypto/card"
	"github.com/valv-vault/valv/store"
)

// Types of the staff screen.
type (
	// StaffMember is a record of the staff register: name, title,
	// screening, NDA, whether active, and the person's cards.
	StaffMember = store.StaffMember
	// Screening is the outcome of a person's security screening.
	Screening = store.Screening
	// ScreeningStatus is pending, passed or failed.
	ScreeningStatus = store.ScreeningStatus
	// NDA describes the signed NDA on file for a person.
	NDA = store.NDA
)

// The screening states.
const (
	ScreeningPending = store.ScreeningPending
	ScreeningPassed  = store.ScreeningPassed
	ScreeningFailed  = store.ScreeningFailed
)

// Why a person cannot be enrolled (errors.Is on the errors of
// CheckEnrolment and EnrolCard).
var (
	ErrNotScreened = store.ErrNotScreened
	ErrNoNDA       = store.ErrNoNDA
)

// MaxNDASize bounds a signed NDA document, in bytes.
const MaxNDASize = store.MaxNDASize

// Staff lists the staff register (admins only). The listing is logged.
func (s *Service) Staff() ([]StaffMember, error) {
	sess, err := s.session()
	if err != nil {
		return nil, err
	}
	return sess.Staff()
}

// AddStaff adds a person to the staff register (admins only), screening
// pending and no NDA yet, and returns their id.
func (s *Service) AddStaff(name, title string) (ID, error) {
	sess, err := s.session()
	if err != nil {
		return ID{}, err
	}
	return sess.AddStaff(store.StaffInfo{Name: name, Title: title})
}

// Screen records the outcome of a person's screening (admins only); a
// passed or failed one needs who screened and the date.
func (s *Service) Screen(id ID, sc Screening) error {
	sess, err := s.session()
	if err != nil {
		return err
	}
	return sess.Screen(id, sc)
}

// RecordNDA stores a person's signed NDA (admins only): the document (at
// most MaxNDASize bytes) and the day it was signed.
func (s *Service) RecordNDA(id ID, signed time.Time, doc []byte) error {
	sess, err := s.session()
	if err != nil {
		return err
	}
	return sess.RecordNDA(id, signed, bytes.NewReader(doc))
}

// Deactivate marks a person inactive (admins only): their cards open
// nothing any more, and every compartment they held gets a new key, which
// progress follows.
func (s *Service) Deactivate(id ID, progress Progress) error {
	sess, err := s.session()
	if err != nil {
		return err
	}
	return sess.Deactivate(id, progress)
}

// CheckEnrolment says whether a person may be given a card now: nil, or
// an error wrapping ErrNotScreened or ErrNoNDA (or saying they were
// deactivated).
func (s *Service) CheckEnrolment(id ID) error {
	sess, err := s.session()
	if err != nil {
		return err
	}
	return sess.CheckEnrolment(id)
}

// A CardEnrolment is what EnrolCard needs: the person, the new card and
// its current and new PIN and PUK, and the role.
type CardEnrolment struct {
	Staff                    ID
	Serial                   uint32
	Admin                    bool
	PIN, PUK, NewPIN, NewPUK string
	AllowSimulated           bool // accept a simulated card outside demo mode
}

// EnrolCard makes the card a key holder's card for the person (admins
// only). The person must be screened (passed) and have a signed NDA on
// file: this is checked before the card is touched. The new key holder
// opens nothing until granted a compartment. PINs and PUKs go to the card
// and are not kept.
func (s *Service) EnrolCard(e CardEnrolment) (ID, error) {
	sess, err := s.session()
	if err != nil {
		return ID{}, err
	}
	if !sess.IsAdmin() {
		return ID{}, &Error{Kind: ErrNotAdmin, Err: errors.New("only an admin (or the recovery key) can enrol a card")}
	}
	if err := sess.CheckEnrolment(e.Staff); err != nil {
		return ID{}, err
	}
	s.mu.Lock()
	own := s.cs != nil && s.cs.Info().Serial == e.Serial
	s.mu.Unlock()
	if own {
		return ID{}, errors.New("this is the card the vault is unlocked with; insert the new card and choose it")
	}
	nc, err := card.Open(e.Serial)
	if err != nil {
		return ID{}, err
	}
	defer nc.Close()
	if err := RefuseSimulated(nc.Info(), e.AllowSimulated || s.sim != nil); err != nil {
		return ID{}, err
	}
	en, err := nc.Enrol(card.EnrolOptions{PIN: e.PIN, PUK: e.PUK, NewPIN: e.NewPIN, NewPUK: e.NewPUK, Touch: defaultTouch(nc.Info())})
	if err != nil {
		return ID{}, err
	}
	role := store.RoleHolder
	var signer crypto.Signer
	if e.Admin { // a new admin's card signs the directory's anchor
		role = store.RoleAdmin
		if signer, err = nc.Signer(); err != nil {
			return ID{}, err
		}
	}
	id, err := sess.Enrol(store.HolderInfo{
		StaffID: e.Staff, Serial: en.Serial, Slot: en.Slot, Recipient: en.Recipient,
		SigningKey: en.SigningKey, Role: role, Signer: signer,
	})
	if err != nil {
		return ID{}, fmt.Errorf("the card is enrolled but the vault did not record it: %w", err)
	}
	return id, nil
}
