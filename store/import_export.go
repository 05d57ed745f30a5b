package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/crypto/seal"
	"github.com/valv-vault/valv/store/customer"
)

// Import and export of customers in bulk (the CLI reads and writes them
// as CSV with package store/customercsv).
//
// An import adds the valid rows of a file in one transaction, with an
// "add" entry per customer and one import entry: a crash leaves all of
// them or none. Invalid rows are reported and nothing of them is kept.
//
// An export is logged before the first record is handed out, with the
// variant in the action and the number of customers in Count: a failed
// export is logged as if it had run to the end.

// Audit actions of imports and exports. They are logged in the
// compartment's log, without an object.
const (
	ActionImport       Action = "csv-import"        // Count: customers added
	ActionExportCodes  Action = "csv-export"        // Count: customers; codes, retention dates and versions only
	ActionExportNames  Action = "csv-export-names"  // Count: customers; with names and contact fields, numbers masked
	ActionExportReveal Action = "csv-export-reveal" // Count: customers; everything, numbers unmasked
)

// An ImportRow is a customer read from a file, with the line it starts
// on for error reports.
type ImportRow struct {
	Line     int
	Customer customer.Customer
}

// A LineError is an import row that was not added.
type LineError struct {
	Line   int
	Fields customer.FieldErrors
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Fields) }

func (e *LineError) Unwrap() error { return e.Fields }

// ImportResult says what an import did.
type ImportResult struct {
	Codes    []customer.Code // per row: the code it was added under, or "" if it was rejected
	Added    int
	Rejected []*LineError // in row order
}

// ImportCustomers adds the valid rows to a compartment and reports the
// others: a row is rejected for its field errors (customer.Normalize), or
// for a given code that is not valid, is given to an earlier row too, or
// is in use in a compartment the session has unlocked. The valid rows are
// added as AddCustomers does (in one transaction, each logged as an
// "add"), together with one ActionImport entry whose Count is the number
// added; that entry is logged even when no row was valid. An error means
// nothing was added.
func (s *Session) ImportCustomers(cid CompartmentID, rows []ImportRow) (ImportResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, db, err := s.comp(cid)
	if err != nil {
		return ImportResult{}, err
	}
	if len(rows) >= bulkGCMin {
		defer raiseGC(batchGCPercent)()
	}
	now := s.v.now()
	norm := make([]customer.Customer, len(rows))
	errs := make([]customer.FieldErrors, len(rows))
	parallel(len(rows), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			norm[i] = rows[i].Customer.Clone()
			if err := norm[i].Normalize(now); err != nil {
				fe, ok := customer.AsFieldErrors(err)
				if !ok {
					fe = customer.FieldErrors{{Field: "record", Message: err.Error()}}
				}
				errs[i] = fe
			}
		}
	})
	// Given codes: once in the file, and free in every unlocked
	// compartment (this one included).
	first := make(map[customer.Code]int)
	for i := range norm {
		code := norm[i].Code
		if errs[i] != nil || code == "" {
			continue
		}
		if j, dup := first[code]; dup {
			errs[i] = customer.FieldErrors{{Field: "code", Message: fmt.Sprintf("the same code as line %d", rows[j].Line)}}
			continue
		}
		first[code] = i
	}
	if len(first) > 0 {
		used, err := s.codesInUse(first)
		if err != nil {
			return ImportResult{}, err
		}
		for _, i := range used {
			errs[i] = customer.FieldErrors{{Field: "code", Message: "already in use; leave the code empty to draw a new one"}}
		}
	}
	res := ImportResult{Codes: make([]customer.Code, len(rows))}
	var valid []customer.Customer
	var at []int
	for i := range norm {
		if errs[i] != nil {
			res.Rejected = append(res.Rejected, &LineError{Line: rows[i].Line, Fields: errs[i]})
			continue
		}
		valid = append(valid, norm[i])
		at = append(at, i)
	}
	entry := Entry{Time: now, Holder: s.actor, Action: ActionImport, Count: int64(len(valid))}
	if len(valid) == 0 {
		err = db.Update(func(tx *bolt.Tx) error { return appendEntries(tx, s.comps[cid].kr, entry) })
		if err != nil {
			return ImportResult{}, err
		}
		s.touched[cid] = true
		return res, nil
	}
	// valid is normalized and its codes are distinct: stored as
	// AddCustomers stores a batch, without normalizing it again.
	codes, err := s.storeCustomers(cid, valid, now, entry)
	if err != nil {
		return ImportResult{}, err
	}
	for k, i := range at {
		res.Codes[i] = codes[k]
	}
	res.Added = len(codes)
	return res, nil
}

// codesInUse returns the rows (values of given) whose code is in use in
// an unlocked compartment.
func (s *Session) codesInUse(given map[customer.Code]int) ([]int, error) {
	var used []int
	for cid, c := range s.comps {
		db, err := s.v.compartmentDB(cid)
		if err != nil {
			return nil, err
		}
		err = db.View(func(tx *bolt.Tx) error {
			set := codeSet{tx.Bucket(bCodes), c.kr}
			for code, i := range given {
				if set.has(code) {
					used = append(used, i)
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	slices.Sort(used)
	return slices.Compact(used), nil
}

// An ExportVariant says how much of each customer an export holds.
type ExportVariant int

const (
	// ExportCodes: code, retention date, version and its time; nothing
	// that names a customer.
	ExportCodes ExportVariant = iota
	// ExportMasked adds names and contact fields; personal, card and
	// account numbers are masked as in the detail view.
	ExportMasked
	// ExportRevealed: every field, unmasked.
	ExportRevealed
)

// Action returns the audit action that logs the variant.
func (v ExportVariant) Action() Action {
	switch v {
	case ExportMasked:
		return ActionExportNames
	case ExportRevealed:
		return ActionExportReveal
	}
	return ActionExportCodes
}

// ExportCustomers calls fn with the current record of every customer of
// a compartment, in code order, as much of it as the variant says (the
// other fields are empty), and returns how many it handed out. The export
// is logged first (Count: the customers of the compartment); fn's error
// stops it and is returned.
func (s *Session) ExportCustomers(cid CompartmentID, variant ExportVariant, fn func(Record) error) (int, error) {
	if variant < ExportCodes || variant > ExportRevealed {
		return 0, errors.New("store: unknown export variant")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, db, err := s.comp(cid)
	if err != nil {
		return 0, err
	}
	// The codes, from the sealed index, in order.
	type entry struct {
		code string
		rid  []byte
	}
	var list []entry
	err = db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bIndex).ForEach(func(k, v []byte) error {
			p, err := c.kr.Open(nil, seal.Index, k, 0, v)
			if err != nil {
				return errors.New("store: an index entry does not open: it was altered")
			}
			list = append(list, entry{string(p), bytes.Clone(k)})
			return nil
		})
	})
	if err != nil {
		return 0, err
	}
	slices.SortFunc(list, func(a, b entry) int { return strings.Compare(a.code, b.code) })
	err = db.Update(func(tx *bolt.Tx) error {
		return appendEntries(tx, c.kr, Entry{Time: s.v.now(), Holder: s.actor, Action: variant.Action(), Count: int64(len(list))})
	})
	if err != nil {
		return 0, err
	}
	s.touched[cid] = true
	n := 0
	err = db.View(func(tx *bolt.Tx) error {
		recs := tx.Bucket(bCustomers)
		for _, e := range list {
			v := recs.Get(e.rid)
			if len(v) < 8 {
				return errors.New("store: a customer's record is missing; the file was edited")
			}
			r, err := openRecord(c.kr, e.rid, binary.BigEndian.Uint64(v), v[8:])
			if err != nil {
				return err
			}
			if string(r.Customer.Code) != e.code {
				return errors.New("store: the record under a code holds another code; the file was edited")
			}
			rec := r.record(cid, variant != ExportRevealed)
			if variant == ExportCodes {
				rec.Customer = customer.Customer{Code: r.Customer.Code, RetainUntil: r.Customer.RetainUntil}
			}
			if err := fn(rec); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}
