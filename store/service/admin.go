package service

import (
	"errors"
	"slices"
	"strings"

	"github.com/valv-vault/valv/store"
)

// Types of the admin screens (compartments, key holders, staff, audit).
type (
	// ID is a key holder's or staff member's id (random, public).
	ID = store.ID
	// Progress is told how far a key rotation has come.
	Progress = store.Progress
)

// A KeyHolder is an enrolled card as the admin screens list it.
type KeyHolder struct {
	ID       ID
	Name     string // "" unless the session is an admin's
	Serial   uint32
	Admin    bool
	Inactive bool // deactivated: it opens nothing
	Staff    ID   // the person in the staff register; zero if none or not an admin
}

// A CompartmentAccess is a compartment with the key holders granted it.
type CompartmentAccess struct {
	ID       string // hex
	Name     string // "" if the session cannot read it
	Unlocked bool   // the session holds its key (needed to grant or revoke)
	Holders  []ID
	Problem  string // why its file could not be read, or ""
}

// IsAdmin reports whether the session holds the directory key (an admin's
// card or the recovery key): only then do the compartment and staff
// screens work.
func (s *Service) IsAdmin() bool {
	sess, err := s.session()
	return err == nil && sess.IsAdmin()
}

// KeyHolders lists the enrolled cards, active ones first, then by name.
func (s *Service) KeyHolders() ([]KeyHolder, error) {
	sess, err := s.session()
	if err != nil {
		return nil, err
	}
	hs, err := sess.Holders()
	if err != nil {
		return nil, err
	}
	out := make([]KeyHolder, len(hs))
	for i, h := range hs {
		out[i] = KeyHolder{ID: h.ID, Name: h.Name, Serial: h.Serial, Admin: h.Role == store.RoleAdmin, Inactive: h.Inactive, Staff: h.StaffID}
	}
	slices.SortStableFunc(out, func(a, b KeyHolder) int {
		if a.Inactive != b.Inactive {
			if a.Inactive {
				return 1
			}
			return -1
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

// AllCompartments lists every compartment the session knows of (all of
// them for an admin), by name, with their key holders.
func (s *Service) AllCompartments() ([]CompartmentAccess, error) {
	sess, err := s.session()
	if err != nil {
		return nil, err
	}
	infos, err := sess.Compartments()
	if err != nil {
		return nil, err
	}
	out := make([]CompartmentAccess, len(infos))
	for i, c := range infos {
		out[i] = CompartmentAccess{ID: c.ID.String(), Name: c.Name, Unlocked: c.Unlocked, Holders: c.Holders, Problem: c.Problem}
		if c.Unlocked {
			// The compartment's file is authoritative.
			if g, err := sess.Grants(c.ID); err == nil {
				out[i].Holders = g
			}
		}
	}
	slices.SortFunc(out, func(a, b CompartmentAccess) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// CreateCompartment makes a compartment (admins only) and returns its id.
// Its key is wrapped to the session's card and the recovery key.
func (s *Service) CreateCompartment(name string) (string, error) {
	sess, err := s.session()
	if err != nil {
		return "", err
	}
	id, err := sess.CreateCompartment(name)
	if err != nil {
		return "", err
	}
	return id.String(), nil
}

// Grant gives a key holder a compartment (admins holding it).
func (s *Service) Grant(compartment string, holder ID) error {
	sess, err := s.session()
	if err != nil {
		return err
	}
	cid, err := parseCompartment(compartment)
	if err != nil {
		return err
	}
	return sess.Grant(cid, holder)
}

// Revoke takes a compartment from a key holder (admins holding it): the
// compartment gets a new key and every value in it is re-encrypted,
// which progress follows.
func (s *Service) Revoke(compartment string, holder ID, progress Progress) error {
	sess, err := s.session()
	if err != nil {
		return err
	}
	cid, err := parseCompartment(compartment)
	if err != nil {
		return err
	}
	if holder == sess.Actor() && holder != store.Recovery {
		return errors.New("you cannot revoke your own card's access; use another admin's card or the recovery key")
	}
	return sess.Revoke(cid, holder, progress)
}
