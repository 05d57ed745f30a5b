package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/crypto/seal"
	"github.com/valv-vault/valv/store/customer"
)

// A Record is one version of a customer record.
type Record struct {
	Customer    customer.Customer
	Compartment CompartmentID
	Version     uint64    // 1 for a new customer, +1 per edit
	Time        time.Time // when this version was written
	Holder      HolderID  // who wrote it
	// Masked reports whether the personal, card and account numbers are
	// masked (see customer.Customer.Masked).
	Masked bool
}

// storedRecord is the plaintext of a sealed record (see codec.go).
type storedRecord struct {
	Version  uint64
	Time     time.Time
	Holder   HolderID
	Customer customer.Customer
}

const recordBlock = 64

// bulkFill is the page fill of sorted bulk inserts (bbolt splits at
// half a page by default, which suits random inserts).
const bulkFill = 0.9

var (
	// ErrNoCustomer is returned for a code that no unlocked compartment
	// holds.
	ErrNoCustomer = errors.New("store: no customer with that code in the compartments this key opens")

	// ErrCodeTaken is returned when adding a customer with a code that is
	// already in use.
	ErrCodeTaken = errors.New("store: that customer code is already in use")
)

// A RowError is the validation error of one customer of a batch.
type RowError struct {
	Row    int // index in the batch
	Fields customer.FieldErrors
}

func (e *RowError) Error() string { return fmt.Sprintf("customer %d: %v", e.Row+1, e.Fields) }

func (e *RowError) Unwrap() error { return e.Fields }

// RowErrors is every invalid customer of a batch.
type RowErrors []*RowError

func (e RowErrors) Error() string {
	var b strings.Builder
	for i, r := range e {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(r.Error())
	}
	return b.String()
}

// codeIndex is a compartment's list of codes, loaded from its sealed index
// on first use and kept in memory for listing.
type codeIndex struct {
	codes  []customer.Code
	sorted bool
}

// sealRecord returns u64(version) ‖ the sealed, padded record.
func sealRecord(kr *seal.Keyring, rid []byte, r *storedRecord) []byte {
	var buf []byte
	return sealRecordBuf(kr, rid, r, &buf)
}

// sealRecordBuf is sealRecord with a scratch buffer for the plaintext,
// which it wipes after use.
func sealRecordBuf(kr *seal.Keyring, rid []byte, r *storedRecord, buf *[]byte) []byte {
	p := pad(appendRecord((*buf)[:0], r), recordBlock)
	sealed := kr.Seal(binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(p)+seal.Overhead), r.Version), seal.Record, rid, r.Version, p)
	clear(p)
	*buf = p
	return sealed
}

func openRecord(kr *seal.Keyring, rid []byte, ver uint64, sealed []byte) (*storedRecord, error) {
	p, err := kr.Open(nil, seal.Record, rid, ver, sealed)
	if err != nil {
		return nil, fmt.Errorf("store: a customer record does not open: it was altered, or moved from another record or compartment")
	}
	defer clear(p)
	r, err := decodeRecord(unpad(p))
	if err != nil || r.Version != ver {
		return nil, errors.New("store: a customer record is malformed")
	}
	return r, nil
}

// AddCustomer adds a customer to a compartment and returns its code.
// See AddCustomers.
func (s *Session) AddCustomer(cid CompartmentID, c customer.Customer) (customer.Code, error) {
	codes, err := s.AddCustomers(cid, []customer.Customer{c})
	if err != nil {
		var rows RowErrors
		if errors.As(err, &rows) && len(rows) == 1 {
			return "", rows[0].Fields
		}
		return "", err
	}
	return codes[0], nil
}

// AddCustomers adds customers to a compartment in one transaction: all or
// none. Invalid customers give RowErrors (with per-field errors) and
// nothing is written. A customer without a code gets a new random one; a
// given code must be valid and unused. Codes are checked against every
// compartment the session has unlocked; elsewhere a collision of two
// random 40-bit codes is as unlikely as n/2^40 per customer added.
// Each addition is logged.
func (s *Session) AddCustomers(cid CompartmentID, cs []customer.Customer) ([]customer.Code, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addCustomers(cid, cs)
}

// addCustomers is AddCustomers with s.mu held.
func (s *Session) addCustomers(cid CompartmentID, cs []customer.Customer) ([]customer.Code, error) {
	if len(cs) >= bulkGCMin {
		defer raiseGC(batchGCPercent)()
	}
	if _, _, err := s.comp(cid); err != nil {
		return nil, err
	}
	now := s.v.now()
	batch, rows := normalizeBatch(cs, now)
	if rows != nil {
		return nil, rows
	}
	return s.storeCustomers(cid, batch, now)
}

// normalizeBatch returns normalized copies of cs, or the errors of every
// invalid customer and of codes given twice.
func normalizeBatch(cs []customer.Customer, now time.Time) ([]customer.Customer, RowErrors) {
	batch := make([]customer.Customer, len(cs))
	errs := make([]*RowError, len(cs))
	parallel(len(cs), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			batch[i] = cs[i].Clone()
			if err := batch[i].Normalize(now); err != nil {
				fe, _ := customer.AsFieldErrors(err)
				errs[i] = &RowError{Row: i, Fields: fe}
			}
		}
	})
	var rows RowErrors
	given := make(map[customer.Code]int)
	for i := range batch {
		if errs[i] != nil {
			rows = append(rows, errs[i])
			continue
		}
		if code := batch[i].Code; code != "" {
			if j, dup := given[code]; dup {
				rows = append(rows, &RowError{Row: i, Fields: customer.FieldErrors{{Field: "code", Message: fmt.Sprintf("the same code as customer %d", j+1)}}})
			}
			given[code] = i
		}
	}
	if rows != nil {
		return nil, rows
	}
	return batch, nil
}

// storeCustomers writes a normalized batch whose given codes are
// distinct; extra entries (an import's own entry) are logged after the
// additions, in the same transaction. s.mu is held.
func (s *Session) storeCustomers(cid CompartmentID, batch []customer.Customer, now time.Time, extra ...Entry) ([]customer.Code, error) {
	c, db, err := s.comp(cid)
	if err != nil {
		return nil, err
	}

	// Codes must be unused in every unlocked compartment: read
	// transactions on the others stay open while codes are assigned.
	var others []codeSet
	for ocid, oc := range s.comps {
		if ocid == cid {
			continue
		}
		odb, err := s.v.compartmentDB(ocid)
		if err != nil {
			return nil, err
		}
		otx, err := odb.Begin(false)
		if err != nil {
			return nil, err
		}
		defer otx.Rollback()
		others = append(others, codeSet{otx.Bucket(bCodes), oc.kr})
	}
	usedElsewhere := func(code customer.Code) bool {
		for _, o := range others {
			if o.has(code) {
				return true
			}
		}
		return false
	}
	for i := range batch {
		if code := batch[i].Code; code != "" && usedElsewhere(code) {
			return nil, fmt.Errorf("%w: %s", ErrCodeTaken, code)
		}
	}

	codes := make([]customer.Code, len(batch))
	var rids []ID // the records, in batch order
	err = db.Update(func(tx *bolt.Tx) error {
		recs, idx, tags, srch := tx.Bucket(bCustomers), tx.Bucket(bIndex), tx.Bucket(bCodes), tx.Bucket(bSearch)
		if srch == nil {
			return errNoSearchBucket
		}
		if len(batch) > 64 {
			// Sorted bulk puts: fill pages well instead of halfway.
			recs.FillPercent, idx.FillPercent, tags.FillPercent, srch.FillPercent = bulkFill, bulkFill, bulkFill, bulkFill
		}
		a, err := newAppender(tx, c.kr)
		if err != nil {
			return err
		}
		// Assign codes: candidates and their lookup tags are made in
		// parallel, then each is checked against the file, the batch and
		// the other compartments (a collision draws a new one).
		tagPuts := make([]kv, len(batch))
		parallel(len(batch), func(lo, hi int) {
			tg := c.kr.Tagger()
			for i := lo; i < hi; i++ {
				code := batch[i].Code
				if code == "" {
					code = customer.NewCode()
				}
				codes[i] = code
				tagPuts[i].k = tg.Tag(nil, "code", []byte(code))
			}
		})
		inBatch := make(map[string]bool, len(batch))
		for i := range batch {
			for tags.Get(tagPuts[i].k) != nil || inBatch[string(tagPuts[i].k)] || usedElsewhere(codes[i]) {
				if batch[i].Code != "" {
					return fmt.Errorf("%w: %s", ErrCodeTaken, codes[i])
				}
				codes[i] = customer.NewCode()
				tagPuts[i].k = c.kr.LookupTag(tagPuts[i].k[:0], "code", []byte(codes[i]))
			}
			inBatch[string(tagPuts[i].k)] = true
			batch[i].Code = codes[i]
		}
		// bbolt splits nodes only at commit: keys put in random order
		// into one transaction make every put shift a growing node. So
		// record ids are drawn first and sorted (records and index
		// entries go in key order) and the lookup tags are sorted.
		rids = make([]ID, len(batch))
		for i := range rids {
			rids[i] = newID()
		}
		slices.SortFunc(rids, func(x, y ID) int { return bytes.Compare(x[:], y[:]) })
		sealedRecs := make([][]byte, len(batch))
		sealedIdx := make([][]byte, len(batch))
		sealedSearch := make([][]byte, len(batch))
		parallel(len(batch), func(lo, hi int) {
			buf := make([]byte, 0, 1024)
			var out []byte // the search entries of this chunk, in one allocation
			for i := lo; i < hi; i++ {
				rid := rids[i][:]
				sealedRecs[i] = sealRecordBuf(c.kr, rid, &storedRecord{Version: 1, Time: now, Holder: s.actor, Customer: batch[i]}, &buf)
				sealedIdx[i] = c.kr.Seal(nil, seal.Index, rid, 0, []byte(codes[i]))
				if cap(out)-len(out) < 1024 {
					out = make([]byte, 0, 256<<10)
				}
				full := appendSealedSearchEntry(out, c.kr, rid, 1, &batch[i], &buf)
				sealedSearch[i], out = full[len(out):len(full):len(full)], full
				tagPuts[i].v = rid
			}
		})
		// The audit entries are sealed and chained, and the lookup tags
		// sorted, on other goroutines while this one puts the records
		// (bbolt's puts run one at a time).
		entries := make([]Entry, len(batch), len(batch)+len(extra))
		for i := range batch {
			entries[i] = Entry{Time: now, Holder: s.actor, Action: ActionAdd, Object: string(codes[i])}
		}
		entries = append(entries, extra...)
		type prepared struct {
			p   preparedBatch
			err error
		}
		audited := make(chan prepared, 1)
		go func() {
			p, err := a.prepare(entries)
			audited <- prepared{p, err}
		}()
		sorted := make(chan struct{})
		go func() {
			sortPuts(tagPuts)
			close(sorted)
		}()
		err = putRecords(recs, idx, srch, rids, sealedRecs, sealedIdx, sealedSearch)
		au := <-audited // both wait: they use the keyring, which may be destroyed once this returns
		<-sorted
		if err != nil {
			return err
		}
		if au.err != nil {
			return au.err
		}
		if err := a.put(au.p); err != nil {
			return err
		}
		if err := a.flush(); err != nil {
			return err
		}
		return putInOrder(tags, tagPuts) // sorted above
	})
	if err != nil {
		return nil, err
	}
	s.touched[cid] = true
	if c.index != nil {
		c.index.codes = append(c.index.codes, codes...)
		c.index.sorted = false
	}
	for i := range batch {
		c.searchUpdated(rids[i][:], &batch[i])
	}
	return codes, nil
}

// A codeSet looks codes up in another compartment's lookup tags.
type codeSet struct {
	tags *bolt.Bucket
	kr   *seal.Keyring
}

func (o codeSet) has(code customer.Code) bool {
	return o.tags.Get(o.kr.LookupTag(nil, "code", []byte(code))) != nil
}

// parallel runs fn over [0, n) in as many chunks as there are CPUs, for
// the pure computing (validation, sealing) of large batches.
func parallel(n int, fn func(lo, hi int)) {
	w := runtime.GOMAXPROCS(0)
	if n < 1024 || w == 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	chunk := (n + w - 1) / w
	for lo := 0; lo < n; lo += chunk {
		wg.Go(func() { fn(lo, min(lo+chunk, n)) })
	}
	wg.Wait()
}

type kv struct{ k, v []byte }

// putRecords puts the sealed records, index entries and search entries
// of the record ids rids.
func putRecords(recs, idx, srch *bolt.Bucket, rids []ID, sealedRecs, sealedIdx, sealedSearch [][]byte) error {
	for i := range rids {
		if err := recs.Put(rids[i][:], sealedRecs[i]); err != nil {
			return err
		}
		if err := idx.Put(rids[i][:], sealedIdx[i]); err != nil {
			return err
		}
		if err := srch.Put(rids[i][:], sealedSearch[i]); err != nil {
			return err
		}
	}
	return nil
}

// sortPuts sorts the pairs by key.
func sortPuts(puts []kv) {
	slices.SortFunc(puts, func(x, y kv) int { return bytes.Compare(x.k, y.k) })
}

// putInOrder puts the pairs in the order given.
func putInOrder(b *bolt.Bucket, puts []kv) error {
	for _, p := range puts {
		if err := b.Put(p.k, p.v); err != nil {
			return err
		}
	}
	return nil
}

// loadIndex reads a compartment's sealed code index into memory.
func loadIndex(c *openComp, db *bolt.DB) error {
	if c.index != nil {
		return nil
	}
	idx := &codeIndex{}
	err := db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bIndex)
		idx.codes = make([]customer.Code, 0, b.Stats().KeyN)
		var buf []byte
		return b.ForEach(func(k, v []byte) error {
			p, err := c.kr.Open(buf[:0], seal.Index, k, 0, v)
			if err != nil {
				return errors.New("store: an index entry does not open: it was altered")
			}
			buf = p
			idx.codes = append(idx.codes, customer.Code(p))
			return nil
		})
	})
	if err != nil {
		return err
	}
	c.index = idx
	return nil
}

// ListCustomers returns up to limit codes of a compartment's customers,
// in code order from offset, and the number of customers. Names are never
// listed. The listing is logged.
func (s *Session) ListCustomers(cid CompartmentID, offset, limit int) ([]customer.Code, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, db, err := s.comp(cid)
	if err != nil {
		return nil, 0, err
	}
	if err := loadIndex(c, db); err != nil {
		return nil, 0, err
	}
	if !c.index.sorted {
		slices.Sort(c.index.codes)
		c.index.sorted = true
	}
	all := c.index.codes
	offset = min(max(offset, 0), len(all))
	end := len(all)
	if limit >= 0 {
		end = min(offset+limit, len(all))
	}
	page := slices.Clone(all[offset:end])
	err = db.Update(func(tx *bolt.Tx) error {
		return appendEntries(tx, c.kr, Entry{Time: s.v.now(), Holder: s.actor, Action: ActionList, Count: int64(len(page))})
	})
	if err != nil {
		return nil, 0, err
	}
	s.touched[cid] = true
	return page, len(all), nil
}

// locate finds the compartment and record id of a code.
func (s *Session) locate(code customer.Code) (*openComp, []byte, error) {
	p, err := customer.ParseCode(string(code))
	if err != nil {
		return nil, nil, err
	}
	for cid, c := range s.comps {
		db, err := s.v.compartmentDB(cid)
		if err != nil {
			return nil, nil, err
		}
		var rid []byte
		db.View(func(tx *bolt.Tx) error {
			rid = get(tx.Bucket(bCodes), c.kr.LookupTag(nil, "code", []byte(p)))
			return nil
		})
		if rid != nil {
			return c, rid, nil
		}
	}
	return nil, nil, ErrNoCustomer
}

// readCurrent reads the current version of a record inside tx.
func readCurrent(tx *bolt.Tx, c *openComp, rid []byte) (*storedRecord, []byte, error) {
	v := tx.Bucket(bCustomers).Get(rid)
	if len(v) < 8 {
		return nil, nil, errors.New("store: the customer's record is missing; the file was edited")
	}
	ver := binary.BigEndian.Uint64(v)
	if err := checkNotBehindHistory(tx, rid, ver); err != nil { // M1: record_versions.go
		return nil, nil, err
	}
	r, err := openRecord(c.kr, rid, ver, v[8:])
	return r, v, err
}

func (r *storedRecord) record(cid CompartmentID, masked bool) Record {
	rec := Record{Customer: r.Customer, Compartment: cid, Version: r.Version, Time: r.Time, Holder: r.Holder, Masked: masked}
	if masked {
		rec.Customer = r.Customer.Masked()
	}
	return rec
}

// read reads a customer and logs the read in the same transaction: if
// the log cannot be written, nothing is returned.
func (s *Session) read(code customer.Code, action Action, masked bool) (Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		return Record{}, err
	}
	c, rid, err := s.locate(code)
	if err != nil {
		return Record{}, err
	}
	db, err := s.v.compartmentDB(c.id)
	if err != nil {
		return Record{}, err
	}
	var rec Record
	err = db.Update(func(tx *bolt.Tx) error {
		r, _, err := readCurrent(tx, c, rid)
		if err != nil {
			return err
		}
		if string(r.Customer.Code) != mustCode(code) {
			return errors.New("store: the record under this code holds another code; the file was edited")
		}
		rec = r.record(c.id, masked)
		return appendEntries(tx, c.kr, Entry{Time: s.v.now(), Holder: s.actor, Action: action, Object: string(r.Customer.Code)})
	})
	if err != nil {
		return Record{}, err
	}
	s.touched[c.id] = true
	return rec, nil
}

func mustCode(c customer.Code) string {
	p, _ := customer.ParseCode(string(c))
	return string(p)
}

// ViewCustomer returns a customer's current record with personal, card and
// account numbers masked, for the detail view. The view is logged.
func (s *Session) ViewCustomer(code customer.Code) (Record, error) {
	return s.read(code, ActionView, true)
}

// RevealCustomer returns a customer's current record unmasked. The reveal
// is logged.
func (s *Session) RevealCustomer(code customer.Code) (Record, error) {
	return s.read(code, ActionReveal, false)
}

// CustomerHistory returns every version of a customer, newest first,
// masked unless reveal is set. It is logged (as a reveal when unmasked).
func (s *Session) CustomerHistory(code customer.Code, reveal bool) ([]Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		return nil, err
	}
	c, rid, err := s.locate(code)
	if err != nil {
		return nil, err
	}
	db, err := s.v.compartmentDB(c.id)
	if err != nil {
		return nil, err
	}
	var recs []Record
	err = db.Update(func(tx *bolt.Tx) error {
		cur, _, err := readCurrent(tx, c, rid)
		if err != nil {
			return err
		}
		recs = append(recs, cur.record(c.id, !reveal))
		hc := tx.Bucket(bHistory).Cursor()
		for k, v := hc.Seek(rid); k != nil && bytes.HasPrefix(k, rid) && len(k) == len(rid)+8; k, v = hc.Next() {
			r, err := openRecord(c.kr, rid, binary.BigEndian.Uint64(k[len(rid):]), v)
			if err != nil {
				return err
			}
			recs = append(recs, r.record(c.id, !reveal))
		}
		action, n := ActionHistory, int64(len(recs))
		if reveal {
			action = ActionReveal
		}
		return appendEntries(tx, c.kr, Entry{Time: s.v.now(), Holder: s.actor, Action: action, Object: string(cur.Customer.Code), Count: n})
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(recs, func(a, b Record) int { return -cmpU64(a.Version, b.Version) })
	s.touched[c.id] = true
	return recs, nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// EditCustomer changes a customer: edit gets the current record, unmasked,
// and changes it in place (the code cannot change). The result is
// validated (FieldErrors), and stored as a new version; the previous
// version is kept, sealed, in the history. An edit that changes nothing
// stores nothing and is logged as a reveal. The edit is logged with the
// new version number.
func (s *Session) EditCustomer(code customer.Code, edit func(*customer.Customer) error) (Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		return Record{}, err
	}
	c, rid, err := s.locate(code)
	if err != nil {
		return Record{}, err
	}
	db, err := s.v.compartmentDB(c.id)
	if err != nil {
		return Record{}, err
	}
	now := s.v.now()
	var rec Record
	edited := false
	err = db.Update(func(tx *bolt.Tx) error {
		edited = false
		cur, raw, err := readCurrent(tx, c, rid)
		if err != nil {
			return err
		}
		next := cur.Customer.Clone()
		if err := edit(&next); err != nil {
			return err
		}
		next.Code = cur.Customer.Code
		if err := next.Normalize(now); err != nil {
			return err
		}
		a, err := newAppender(tx, c.kr)
		if err != nil {
			return err
		}
		before, _ := json.Marshal(cur.Customer)
		after, _ := json.Marshal(next)
		if bytes.Equal(before, after) {
			rec = cur.record(c.id, false)
			if err := a.add(Entry{Time: now, Holder: s.actor, Action: ActionReveal, Object: string(next.Code)}); err != nil {
				return err
			}
			return a.flush()
		}
		nr := storedRecord{Version: cur.Version + 1, Time: now, Holder: s.actor, Customer: next}
		sealed := sealRecord(c.kr, rid, &nr)
		if err := tx.Bucket(bHistory).Put(slices.Concat(rid, raw[:8]), bytes.Clone(raw[8:])); err != nil {
			return err
		}
		if err := tx.Bucket(bCustomers).Put(rid, sealed); err != nil {
			return err
		}
		if err := putSearchEntry(tx, c.kr, rid, nr.Version, &next); err != nil {
			return err
		}
		edited = true
		rec = nr.record(c.id, false)
		if err := a.add(Entry{Time: now, Holder: s.actor, Action: ActionEdit, Object: string(next.Code), Count: int64(nr.Version)}); err != nil {
			return err
		}
		return a.flush()
	})
	if err != nil {
		return Record{}, err
	}
	s.touched[c.id] = true
	if edited {
		c.searchUpdated(rid, &rec.Customer)
	}
	return rec, nil
}

// DeleteCustomer removes a customer, with every version, from its
// compartment. The deletion is logged. The sealed values stay in the
// file's free pages until they are reused; EraseCustomers also rewrites
// the file without them.
func (s *Session) DeleteCustomer(code customer.Code) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		return err
	}
	c, rid, err := s.locate(code)
	if err != nil {
		return err
	}
	db, err := s.v.compartmentDB(c.id)
	if err != nil {
		return err
	}
	canon := mustCode(code)
	err = db.Update(func(tx *bolt.Tx) error {
		if err := removeCustomer(tx, c, rid, canon); err != nil {
			return err
		}
		return appendEntries(tx, c.kr, Entry{Time: s.v.now(), Holder: s.actor, Action: ActionDelete, Object: canon})
	})
	if err != nil {
		return err
	}
	s.touched[c.id] = true
	forgetCode(c, rid, canon)
	return nil
}

// removeCustomer deletes, inside tx, everything of the customer with
// record id rid and canonical code canon: the current record, every
// history version, the index entry, the code's lookup tag and the
// customer's documents (records and chunks). It logs nothing: the caller
// (DeleteCustomer, EraseCustomers) appends its audit entry in the same
// transaction. Whatever else a customer comes to own must be removed
// here, so that delete and erase stay the same.
func removeCustomer(tx *bolt.Tx, c *openComp, rid []byte, canon string) error {
	hc := tx.Bucket(bHistory).Cursor()
	for k, _ := hc.Seek(rid); k != nil && bytes.HasPrefix(k, rid) && len(k) == len(rid)+8; k, _ = hc.Seek(rid) {
		if err := hc.Delete(); err != nil {
			return err
		}
	}
	for _, del := range []struct{ b, k []byte }{
		{bCustomers, rid}, {bIndex, rid}, {bCodes, c.kr.LookupTag(nil, "code", []byte(canon))},
	} {
		if err := tx.Bucket(del.b).Delete(del.k); err != nil {
			return err
		}
	}
	if err := deleteSearchEntry(tx, rid); err != nil {
		return err
	}
	// The customer's documents go with it.
	_, err := deleteCustomerDocuments(tx, rid)
	return err
}

// forgetCode drops a removed customer from the in-memory listing and
// search index.
func forgetCode(c *openComp, rid []byte, canon string) {
	if c.index != nil {
		c.index.codes = slices.DeleteFunc(c.index.codes, func(x customer.Code) bool { return string(x) == canon })
	}
	c.searchRemove(rid)
}
