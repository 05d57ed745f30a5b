package service

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/valv-vault/valv/store"
	"github.com/valv-vault/valv/store/customer"
)

// A Compartment is an unlocked compartment the window can list.
type Compartment struct {
	ID   string // store id, hex
	Name string // "" if the session cannot read it
}

// A SearchHit is one customer found by Search. It carries the code, never
// the value that matched.
type SearchHit struct {
	Code        Code
	Compartment string  // compartment id, hex
	Score       float64 // higher is better (store.Score…: code 70 … notes 10)
	Field       string  // the field that matched ("code", "personnummer", "name", "tags", "notes")
}

// Compartments lists the compartments the session has unlocked, by name.
func (s *Service) Compartments() ([]Compartment, error) {
	sess, err := s.session()
	if err != nil {
		return nil, err
	}
	infos, err := sess.Compartments()
	if err != nil {
		return nil, err
	}
	var out []Compartment
	for _, c := range infos {
		if c.Unlocked {
			out = append(out, Compartment{ID: c.ID.String(), Name: c.Name})
		}
	}
	slices.SortFunc(out, func(a, b Compartment) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func parseCompartment(id string) (store.CompartmentID, error) {
	cid, err := store.ParseID(id)
	if err != nil {
		return cid, errors.New("choose a compartment first")
	}
	return cid, nil
}

// Customers lists the codes of a compartment's customers, in code order.
// The listing is audited; names are never listed.
func (s *Service) Customers(compartment string) ([]Code, error) {
	sess, err := s.session()
	if err != nil {
		return nil, err
	}
	cid, err := parseCompartment(compartment)
	if err != nil {
		return nil, err
	}
	codes, _, err := sess.ListCustomers(cid, 0, -1)
	return codes, err
}

// CustomerName returns a customer's name, for the list with names shown.
// Reading it is a view of the customer, audited by the store.
func (s *Service) CustomerName(code Code) (string, error) {
	r, err := s.View(code)
	if err != nil {
		return "", err
	}
	return r.Customer.Name, nil
}

// Search finds customers by code, personnummer (any form) or words of
// the name, tags and notes (case and accents ignored), across the unlocked
// compartments, best first, at most limit hits (all for limit <= 0). The
// store logs each search without the query.
func (s *Service) Search(query string, limit int) ([]SearchHit, error) {
	sess, err := s.session()
	if err != nil {
		return nil, err
	}
	query = strings.TrimSpace(query)
	if query == "" {
		return nil, nil
	}
	found, err := sess.SearchCustomers(query, limit)
	if err != nil {
		return nil, err
	}
	hits := make([]SearchHit, len(found))
	for i, h := range found {
		hits[i] = SearchHit{Code: h.Code, Compartment: h.Compartment.String(), Score: float64(h.Score), Field: h.Field}
	}
	return hits, nil
}

// View returns a customer's current record, numbers masked. Audited.
func (s *Service) View(code Code) (Record, error) {
	sess, err := s.session()
	if err != nil {
		return Record{}, err
	}
	return sess.ViewCustomer(code)
}

// Reveal returns a customer's current record unmasked. Audited as a
// reveal.
func (s *Service) Reveal(code Code) (Record, error) {
	sess, err := s.session()
	if err != nil {
		return Record{}, err
	}
	return sess.RevealCustomer(code)
}

// History returns every version of a customer, newest first, masked.
// Audited.
func (s *Service) History(code Code) ([]Record, error) {
	sess, err := s.session()
	if err != nil {
		return nil, err
	}
	return sess.CustomerHistory(code, false)
}

// Documents lists a customer's documents (their names are shown only in
// the detail view).
func (s *Service) Documents(code Code) ([]Document, error) {
	sess, err := s.session()
	if err != nil {
		return nil, err
	}
	return sess.Documents(code)
}

// AddCustomer adds a customer to a compartment and returns its new code.
// Invalid fields come back as FieldErrors (errors.As).
func (s *Service) AddCustomer(compartment string, c Customer) (Code, error) {
	sess, err := s.session()
	if err != nil {
		return "", err
	}
	cid, err := parseCompartment(compartment)
	if err != nil {
		return "", err
	}
	return sess.AddCustomer(cid, c)
}

// EditCustomer replaces a customer's fields with c (the code stays) and
// stores them as a new version. Invalid fields come back as FieldErrors.
func (s *Service) EditCustomer(code Code, c Customer) (Record, error) {
	sess, err := s.session()
	if err != nil {
		return Record{}, err
	}
	return sess.EditCustomer(code, func(cur *customer.Customer) error {
		*cur = c.Clone()
		return nil
	})
}

// addDocument stores a document for a customer (demo mode).
func addDocument(sess *store.Session, code Code, name, mediaType string, content []byte) error {
	_, err := sess.AddDocument(context.Background(), code, name, mediaType, strings.NewReader(string(content)), nil, store.DocumentOptions{})
	return err
}
