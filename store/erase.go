package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/crypto/seal"
	"github.com/valv-vault/valv/store/customer"
)

// Retention and erasure. A customer's retention date (customer.RetainUntil)
// is inside its sealed record; PastRetention opens every record to find
// the customers past it, and EraseCustomers removes customers and rewrites
// their compartment's file so that nothing of them is left in it.

// Audit actions of retention and erasure. The object is the customer's
// code; a listing has none.
const (
	ActionRetentionList Action = "retention-list" // Count: customers past their retention date
	ActionErase         Action = "erase"          // a customer erased, and its compartment's file compacted
)

// A RetentionDue is a customer past its retention date.
type RetentionDue struct {
	Code        customer.Code
	Compartment CompartmentID
	RetainUntil string // YYYY-MM-DD
}

// PastRetention lists the customers, in every compartment the session
// has unlocked, whose retention date is before now's day (in now's
// location): the record may be erased after that date. Customers without
// a retention date are not listed. The list is sorted by date, then code.
//
// The retention date is sealed in the record, so every current record is
// opened (in parallel); see BenchmarkPastRetention100k. Each compartment's
// log gets a retention-list entry with the number found there (no codes);
// nothing is returned unless every entry was committed.
func (s *Session) PastRetention(now time.Time) ([]RetentionDue, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		return nil, err
	}
	today := now.Format(time.DateOnly)
	var out []RetentionDue
	for _, cid := range s.sortedComps() {
		c, db, err := s.comp(cid)
		if err != nil {
			return nil, err
		}
		var due []RetentionDue
		err = db.View(func(tx *bolt.Tx) error {
			due, err = pastRetention(tx, c, today)
			return err
		})
		if err != nil {
			return nil, err
		}
		err = db.Update(func(tx *bolt.Tx) error {
			return appendEntries(tx, c.kr, Entry{Time: s.v.now(), Holder: s.actor, Action: ActionRetentionList, Count: int64(len(due))})
		})
		if err != nil {
			return nil, err
		}
		s.touched[cid] = true
		out = append(out, due...)
	}
	slices.SortFunc(out, func(a, b RetentionDue) int {
		if d := strings.Compare(a.RetainUntil, b.RetainUntil); d != 0 {
			return d
		}
		return strings.Compare(string(a.Code), string(b.Code))
	})
	return out, nil
}

// pastRetention opens every current record of a compartment and returns
// those whose retention date is before today (YYYY-MM-DD).
func pastRetention(tx *bolt.Tx, c *openComp, today string) ([]RetentionDue, error) {
	type raw struct{ rid, v []byte }
	b := tx.Bucket(bCustomers)
	recs := make([]raw, 0, b.Stats().KeyN)
	b.ForEach(func(k, v []byte) error {
		recs = append(recs, raw{k, v})
		return nil
	})
	// The slices point into the read transaction's memory map, which
	// stays put until the transaction ends.
	var mu sync.Mutex
	var due []RetentionDue
	var bad error
	parallel(len(recs), func(lo, hi int) {
		var mine []RetentionDue
		var buf []byte
		defer func() { clear(buf) }()
		for _, r := range recs[lo:hi] {
			var code, date []byte
			err := errors.New("store: a customer record does not open: it was altered, or moved from another record or compartment")
			if len(r.v) >= 8 {
				ver := binary.BigEndian.Uint64(r.v)
				if buf, err = c.kr.Open(buf[:0], seal.Record, r.rid, ver, r.v[8:]); err == nil {
					code, date, err = recordRetention(buf, ver)
				}
			}
			if err != nil {
				mu.Lock()
				bad = err
				mu.Unlock()
				return
			}
			if len(date) > 0 && string(date) < today {
				mine = append(mine, RetentionDue{Code: customer.Code(code), Compartment: c.id, RetainUntil: string(date)})
			}
		}
		mu.Lock()
		due = append(due, mine...)
		mu.Unlock()
	})
	if bad != nil {
		return nil, bad
	}
	return due, nil
}

// recordRetention reads the code and retention date from the plaintext
// of a sealed record (see SPEC.md) of version ver, skipping the other
// fields without decoding or copying them: the record was authenticated,
// and these two are all a retention listing needs. The slices point into
// p.
func recordRetention(p []byte, ver uint64) (code, retainUntil []byte, err error) {
	d := decoder{b: unpad(p)}
	if d.byte() != recordEncoding || d.uvarint() != ver {
		return nil, nil, errors.New("store: a customer record is malformed")
	}
	d.time()
	d.id()
	code = d.raw()
	d.raw() // name
	d.raw() // personnummer
	d.raw() // organisationsnummer
	d.rawList()
	d.raw() // phone
	d.raw() // e-mail
	d.rawList()
	d.rawList()
	d.raw() // notes
	d.rawList()
	retainUntil = d.raw()
	if d.done() != nil {
		return nil, nil, errors.New("store: a customer record is malformed")
	}
	return code, retainUntil, nil
}

// rawList skips a strs.
func (d *decoder) rawList() {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return
	}
	for range n {
		d.raw()
	}
}

// EraseCustomer erases one customer; see EraseCustomers.
func (s *Session) EraseCustomer(code customer.Code, progress Progress) error {
	_, err := s.EraseCustomers([]customer.Code{code}, progress)
	return err
}

// EraseCustomers erases customers for good: like DeleteCustomer it
// removes each one's current record, every history version, index entry,
// lookup tag and document, and logs an erase entry (object: the code),
// and then it rewrites the compartment's file with only what is left
// (see compactCompartment), so that no page of the file holds a sealed
// byte of an erased customer. The removals, their entries and the
// rewrite of one compartment are one step: a crash leaves the old file
// (every customer still there) or the new one (all of them gone, and
// logged). Erasing several customers at once compacts each file once.
//
// Every code must exist in an unlocked compartment (else ErrNoCustomer
// and nothing is erased); a code given twice is erased once. The
// compartments are done in turn: if one fails, those before it stay
// erased. The codes erased (canonical) are returned, also with an error.
//
// progress, if not nil, is told the bytes copied so far and their total
// over every compartment concerned (the total is known once a
// compartment's turn comes, so it can grow).
//
// Backups made before the erasure still hold the customers until they
// are rotated out.
func (s *Session) EraseCustomers(codes []customer.Code, progress Progress) ([]customer.Code, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		return nil, err
	}
	type target struct {
		canon string
		rid   []byte
	}
	byComp := make(map[CompartmentID][]target)
	seen := make(map[string]bool)
	for _, code := range codes {
		c, rid, err := s.locate(code)
		if err != nil {
			if errors.Is(err, ErrNoCustomer) {
				return nil, fmt.Errorf("%w: %s; nothing was erased", err, code)
			}
			return nil, err
		}
		canon := mustCode(code)
		if !seen[canon] {
			seen[canon] = true
			byComp[c.id] = append(byComp[c.id], target{canon, rid})
		}
	}
	var erased []customer.Code
	base, total := 0, 0
	for _, cid := range s.sortedComps() {
		ts := byComp[cid]
		if len(ts) == 0 {
			continue
		}
		c, db, err := s.comp(cid)
		if err != nil {
			return erased, err
		}
		tx, err := db.Begin(true)
		if err != nil {
			return erased, err
		}
		a, err := newAppender(tx, c.kr)
		for _, t := range ts {
			if err == nil {
				err = removeCustomer(tx, c, t.rid, t.canon)
			}
			if err == nil {
				err = a.add(Entry{Time: s.v.now(), Holder: s.actor, Action: ActionErase, Object: t.canon})
			}
		}
		if err == nil {
			err = a.flush()
		}
		if err != nil {
			tx.Rollback()
			return erased, err
		}
		var tell Progress
		if progress != nil {
			tell = func(done, n int) {
				if base+n > total {
					total = base + n
				}
				progress(base+done, total)
			}
		}
		err = s.v.compactCompartment(cid, db, tx, tell)
		if errors.Is(err, errNotDurable) || err == nil {
			s.touched[cid] = true
			for _, t := range ts {
				forgetCode(c, t.rid, t.canon)
				erased = append(erased, customer.Code(t.canon))
			}
		}
		if err != nil {
			return erased, err
		}
		base = total
	}
	return erased, nil
}
