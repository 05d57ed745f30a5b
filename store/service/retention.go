package service

import (
	"time"

	"github.com/valv-vault/valv/store"
	"github.com/valv-vault/valv/store/customer"
)

// Retention and erasure for the window: the customers past their
// retention date, and erasing customers for good (their compartment's
// file is rewritten without them). Backups made before an erasure still
// hold the customers until rotation deletes them; the window says so.

// RetentionDue is a customer past its retention date.
type RetentionDue struct {
	Code        Code
	Compartment string // id, hex
	RetainUntil string // YYYY-MM-DD
}

// ParseCode reads a customer code as a person types it (any case, with
// or without dashes) and returns it in canonical form, or an error that
// says what is wrong.
func ParseCode(s string) (Code, error) { return customer.ParseCode(s) }

// PastRetention lists the customers of the unlocked compartments whose
// retention date is before today, by date, then code. Logged
// (retention-list, with the number found; no codes).
func (s *Service) PastRetention() ([]RetentionDue, error) {
	sess, err := s.session()
	if err != nil {
		return nil, err
	}
	due, err := sess.PastRetention(time.Now())
	if err != nil {
		return nil, err
	}
	out := make([]RetentionDue, len(due))
	for i, d := range due {
		out[i] = RetentionDue{Code: d.Code, Compartment: d.Compartment.String(), RetainUntil: d.RetainUntil}
	}
	return out, nil
}

// Erase erases customers for good: every version, index entry and
// document, each logged (erase, with the code), and rewrites each
// compartment's file concerned without them (progress(done, total) in
// bytes copied; the total can grow). Every code must exist, else nothing
// is erased. It returns the codes erased, also with an error (the
// compartments done before a failure stay erased).
func (s *Service) Erase(codes []Code, progress func(done, total int)) ([]Code, error) {
	sess, err := s.session()
	if err != nil {
		return nil, err
	}
	var p store.Progress
	if progress != nil {
		p = store.Progress(progress)
	}
	return sess.EraseCustomers(codes, p)
}
