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

// Customer search.
//
// Each customer has a search entry in the compartment file's `search`
// bucket: its code, name, personnummer, tags and notes, sealed (purpose
// Index, record id "search/" ‖ record id, the record's version), written
// in the transaction that writes the record. The first search of a
// session in a compartment opens every entry and builds an in-memory
// index (search_index.go); adds, edits and deletes keep it up to date,
// and Lock zeroes it.

// ActionSearch is a search: one entry in the log of each compartment
// searched, Count the customers of that compartment returned. The query
// is never logged (it may be a name or a number).
const ActionSearch Action = "search"

// Scores of search hits: the higher, the better the match.
const (
	ScoreCode           = 70 // the query is the customer's code
	ScoreCodePrefix     = 65 // the query (3 to 8 symbols, one a digit) begins the customer's code
	ScorePersonalNumber = 60 // the query is the customer's personnummer or samordningsnummer, in any form
	ScoreName           = 50 // the query is the whole name
	ScoreNameWord       = 40 // each word of the query is a word of the name
	ScoreNamePrefix     = 30 // each word of the query begins a word of the name
	ScoreTags           = 20 // each word begins a word of the name or a tag, at least one only a tag
	ScoreNotes          = 10 // each word begins a word of the name, a tag or the notes, at least one only the notes
)

// The fields a hit names (SearchHit.Field).
const (
	FieldCode           = "code"
	FieldPersonalNumber = "personnummer"
	FieldName           = "name"
	FieldTags           = "tags"
	FieldNotes          = "notes"
)

// A SearchHit is a customer found by SearchCustomers. It says which field
// matched, never what it holds.
type SearchHit struct {
	Code        customer.Code
	Compartment CompartmentID
	Score       int    // one of the Score constants
	Field       string // one of the Field constants
}

var (
	bSearch         = []byte("search")          // compartment: record id → sealed search entry
	kSearchBackfill = []byte("search-backfill") // compartment meta: customers may lack a search entry (a migrated file)
)

const (
	searchEncoding = 1
	searchBlock    = 32
)

// searchRecordID is the record id a search entry is sealed with.
func searchRecordID(rid []byte) []byte { return searchRecordIDBuf(nil, rid) }

func searchRecordIDBuf(dst, rid []byte) []byte { return append(append(dst, "search/"...), rid...) }

// appendSearchEntry appends the plaintext of a customer's search entry.
func appendSearchEntry(b []byte, c *customer.Customer) []byte {
	enc := encoder{b}
	enc.b = append(enc.b, searchEncoding)
	enc.str(string(c.Code))
	enc.str(c.Name)
	enc.str(c.PersonalNumber)
	enc.strs(c.Tags)
	enc.str(c.Notes)
	return pad(enc.b, searchBlock)
}

// sealSearchEntry seals a customer's search entry as of version ver of
// its record, using buf as scratch (wiped).
func sealSearchEntry(kr *seal.Keyring, rid []byte, ver uint64, c *customer.Customer, buf *[]byte) []byte {
	return appendSealedSearchEntry(nil, kr, rid, ver, c, buf)
}

// appendSealedSearchEntry is sealSearchEntry appending to dst.
func appendSealedSearchEntry(dst []byte, kr *seal.Keyring, rid []byte, ver uint64, c *customer.Customer, buf *[]byte) []byte {
	p := appendSearchEntry((*buf)[:0], c)
	var idb [32]byte
	dst = kr.Seal(dst, seal.Index, searchRecordIDBuf(idb[:0], rid), ver, p)
	clear(p)
	*buf = p
	return dst
}

// decodeSearchEntry decodes a plaintext into views of it.
func decodeSearchEntry(p []byte, f *searchFields) error {
	d := decoder{b: unpad(p)}
	if d.byte() != searchEncoding {
		return errMalformed
	}
	f.code, f.name, f.pnr = d.raw(), d.raw(), d.raw()
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		return errMalformed
	}
	f.tags = f.tags[:0]
	for range n {
		f.tags = append(f.tags, d.raw())
	}
	f.notes = d.raw()
	return d.done()
}

// indexCustomer adds (or replaces) a customer in a loaded search index.
func (ix *searchIndex) indexCustomer(rid ID, c *customer.Customer) {
	p := appendSearchEntry(nil, c)
	var f searchFields
	if decodeSearchEntry(p, &f) == nil {
		ix.add(rid, &f)
	}
	clear(p)
}

// searchUpdated brings a compartment's in-memory search index (if
// loaded) up to date with a customer just written.
func (c *openComp) searchUpdated(rid []byte, cust *customer.Customer) {
	if c.search != nil {
		c.search.indexCustomer(ID(rid), cust)
	}
}

// searchRemove takes a record out of a compartment's in-memory search
// index (if loaded) and zeroes its text. The caller deletes the record's
// entry in the `search` bucket in its transaction (deleteSearchEntry).
func (c *openComp) searchRemove(rid []byte) {
	if c.search != nil {
		c.search.remove(ID(rid))
	}
}

// deleteSearchEntry deletes a record's search entry inside tx.
func deleteSearchEntry(tx *bolt.Tx, rid []byte) error {
	b := tx.Bucket(bSearch)
	if b == nil {
		return errNoSearchBucket
	}
	return b.Delete(rid)
}

// wipeSearch zeroes and drops a compartment's in-memory search index.
func (c *openComp) wipeSearch() {
	if c.search != nil {
		c.search.wipe()
		c.search = nil
	}
}

var errNoSearchBucket = errors.New("store: the compartment file has no search index; it was altered outside Valv")

// loadSearch builds a compartment's in-memory search index from its
// sealed entries. In a migrated file (kSearchBackfill set) a customer
// without an entry gets one, made from the record, and the entries made
// are written in one transaction that clears the mark. Elsewhere a
// missing entry or one that does not open is an error: the file was
// altered.
func loadSearch(c *openComp, db *bolt.DB) error {
	if c.search != nil {
		return nil
	}
	var ix *searchIndex
	type made struct {
		rid    []byte
		ver    uint64
		sealed []byte
	}
	var backfill []made
	canFill := false
	err := db.View(func(tx *bolt.Tx) error {
		sb := tx.Bucket(bSearch)
		if sb == nil {
			return errNoSearchBucket
		}
		canFill = tx.Bucket(bMeta).Get(kSearchBackfill) != nil
		recs := tx.Bucket(bCustomers)
		ix = newSearchIndex(recs.Stats().KeyN)
		sc := sb.Cursor()
		sk, sv := sc.First()
		var buf, sbuf []byte
		var f searchFields
		rc := recs.Cursor()
		for rid, v := rc.First(); rid != nil; rid, v = rc.Next() {
			if len(v) < 8 || len(rid) != len(ID{}) {
				return errors.New("store: a customer record is malformed; the file was edited")
			}
			ver := binary.BigEndian.Uint64(v)
			for sk != nil && bytes.Compare(sk, rid) < 0 {
				sk, sv = sc.Next() // an entry without a record: never read
			}
			var p []byte
			if bytes.Equal(sk, rid) {
				var err error
				if p, err = c.kr.Open(buf[:0], seal.Index, searchRecordID(rid), ver, sv); err != nil {
					return errors.New("store: a search index entry does not open: it was altered, or is not the current version's")
				}
				buf = p
			} else {
				if !canFill {
					return errors.New("store: a customer has no search index entry; the file was altered outside Valv")
				}
				r, err := openRecord(c.kr, rid, ver, v[8:])
				if err != nil {
					return err
				}
				p = appendSearchEntry(buf[:0], &r.Customer)
				buf = p
				backfill = append(backfill, made{bytes.Clone(rid), ver, sealSearchEntry(c.kr, rid, ver, &r.Customer, &sbuf)})
			}
			err := decodeSearchEntry(p, &f)
			if err == nil && !customer.Code(f.code).Valid() {
				err = errMalformed
			}
			if err != nil {
				clear(p)
				return errors.New("store: a search index entry is malformed")
			}
			ix.add(ID(rid), &f)
			clear(p)
		}
		return nil
	})
	if err != nil {
		if ix != nil {
			ix.wipe()
		}
		return err
	}
	if canFill {
		err = db.Update(func(tx *bolt.Tx) error {
			m := tx.Bucket(bMeta)
			if m.Get(kSearchBackfill) == nil {
				return nil
			}
			sb, recs := tx.Bucket(bSearch), tx.Bucket(bCustomers)
			for _, e := range backfill {
				if v := recs.Get(e.rid); len(v) >= 8 && binary.BigEndian.Uint64(v) == e.ver {
					if err := sb.Put(e.rid, e.sealed); err != nil {
						return err
					}
				}
			}
			return m.Delete(kSearchBackfill)
		})
		if err != nil {
			ix.wipe()
			return fmt.Errorf("store: writing the search index: %w", err)
		}
	}
	for f := range ix.terms {
		ix.terms[f].merge()
	}
	c.search = ix
	return nil
}

// migrateSearch (format 1 → 2) makes the `search` bucket and marks the
// file so that the first search with the key builds the entries of the
// customers already there (a migration has no key).
func migrateSearch(tx *bolt.Tx) error {
	if _, err := tx.CreateBucketIfNotExists(bSearch); err != nil {
		return err
	}
	return tx.Bucket(bMeta).Put(kSearchBackfill, []byte{1})
}

// SearchCustomers finds customers in every compartment the session has
// unlocked, by code, personnummer or samordningsnummer (in any form:
// 19811218-9876, 198112189876, 811218-9876, 8112189876, 811218+9876 for
// someone 100 or older), or by words of the name, tags and notes. Words
// are compared folded (case, accents and diacritics ignored: "asa oberg"
// finds "Åsa Öberg", "muller" finds "Müller") and match the beginning of
// a word ("ås" finds "Åsa"); every word of the query must match.
//
// Hits come best first: by Score (code, then personnummer, then the whole
// name, name words, name prefixes, tags, notes), then by code. At most
// limit are returned (every hit if limit ≤ 0).
//
// The first search of a session in a compartment loads its index (about
// a second per 100 000 customers on a slow machine). Each search is
// logged in every compartment searched, with the number of its customers
// returned; the query is not logged.
func (s *Session) SearchCustomers(query string, limit int) ([]SearchHit, error) {
	if strings.TrimSpace(query) == "" {
		return nil, errors.New("store: type a code, personnummer, name, tag or word of the notes to search for")
	}
	if len(query) > maxSearchLen {
		return nil, fmt.Errorf("store: the search is too long; type at most %d characters", maxSearchLen)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		return nil, err
	}
	q := parseSearch(query, s.v.now())
	cids := s.sortedComps()
	var hits []SearchHit
	for _, cid := range cids {
		c, db, err := s.comp(cid)
		if err != nil {
			return nil, err
		}
		if err := loadSearch(c, db); err != nil {
			return nil, fmt.Errorf("%w (compartment %s)", err, cid)
		}
		for _, m := range c.search.search(&q, limit) {
			hits = append(hits, SearchHit{Code: c.search.docs[m.doc].code, Compartment: cid, Score: int(m.score), Field: scoreField(m.score)})
		}
	}
	slices.SortStableFunc(hits, func(a, b SearchHit) int {
		if a.Score != b.Score {
			return b.Score - a.Score
		}
		return strings.Compare(string(a.Code), string(b.Code))
	})
	if limit > 0 && len(hits) > limit {
		hits = hits[:limit]
	}
	counts := make(map[CompartmentID]int64)
	for _, h := range hits {
		counts[h.Compartment]++
	}
	now := s.v.now()
	for _, cid := range cids {
		c, db, err := s.comp(cid)
		if err != nil {
			return nil, err
		}
		err = db.Update(func(tx *bolt.Tx) error {
			return appendEntries(tx, c.kr, Entry{Time: now, Holder: s.actor, Action: ActionSearch, Count: counts[cid]})
		})
		if err != nil {
			return nil, err
		}
		s.touched[cid] = true
	}
	return hits, nil
}

// putSearchEntry writes a customer's search entry, as of version ver of
// its record, inside tx.
func putSearchEntry(tx *bolt.Tx, kr *seal.Keyring, rid []byte, ver uint64, c *customer.Customer) error {
	b := tx.Bucket(bSearch)
	if b == nil {
		return errNoSearchBucket
	}
	var buf []byte
	return b.Put(rid, sealSearchEntry(kr, rid, ver, c, &buf))
}
