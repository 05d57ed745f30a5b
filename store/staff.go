package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/crypto/seal"
)

// The staff register: the people who may hold keys. A staff member's
// record (name, title, screening, NDA, active flag, linked key holders)
// is sealed under the directory key, so only admins and the recovery key
// read it; only its random id is in the clear. The signed NDA is kept in
// the directory file too, sealed in chunks of at most NDAChunk bytes.
//
// Nobody is enrolled as a key holder unless their staff record has a
// passed screening and an NDA on file ([Session.Enrol]).

// A StaffID names a staff member. It is random and stored in the clear.
type StaffID = ID

// A ScreeningStatus is the outcome of a person's security screening.
type ScreeningStatus string

// The screening states.
const (
	ScreeningPending ScreeningStatus = "pending"
	ScreeningPassed  ScreeningStatus = "passed"
	ScreeningFailed  ScreeningStatus = "failed"
)

// Audit actions of the staff register. The object is always the staff id.
const (
	ActionStaffAdd        Action = "staff-add"
	ActionStaffScreen     Action = "staff-screen" // Count: 1 passed, 0 pending, -1 failed
	ActionStaffNDA        Action = "staff-nda"    // Count: the document's size
	ActionStaffNDAOpen    Action = "staff-nda-open"
	ActionStaffDeactivate Action = "staff-deactivate"
	ActionStaffLink       Action = "staff-link" // a key holder linked to the staff member
	ActionStaffList       Action = "staff-list" // Count: records listed
)

// Limits of the staff register.
const (
	MaxStaffText = 200      // bytes of a name, title or screener's name
	MaxNDASize   = 10 << 20 // bytes of a signed NDA document
	NDAChunk     = 1 << 20  // bytes per sealed chunk of the NDA
)

var (
	// ErrNotScreened is returned when enrolling a person without a passed
	// screening.
	ErrNotScreened = errors.New("is not screened")
	// ErrNoNDA is returned when enrolling a person without an NDA on file.
	ErrNoNDA = errors.New("has no signed NDA on file")
	// ErrDeactivated is returned for a deactivated staff member or key
	// holder.
	ErrDeactivated = errors.New("store: this key holder was deactivated; it opens nothing")
)

// A Screening records a person's security screening.
type Screening struct {
	Status ScreeningStatus `json:"status"`
	Date   time.Time       `json:"date,omitzero"` // the day it was decided
	By     string          `json:"by,omitempty"`  // who screened
}

// An NDA describes the signed NDA on file for a staff member. The
// document itself is read with [Session.NDADocument].
type NDA struct {
	Signed  time.Time `json:"signed"`
	Size    int64     `json:"size"`
	SHA256  []byte    `json:"sha256"`
	Chunks  int       `json:"chunks"`
	Version uint64    `json:"version"` // sealed into each chunk: a new NDA does not open with an old chunk
}

// StaffInfo describes a staff member to add. Screening and NDA are
// optional for [Session.AddStaff]; a first admin ([Create]) or a person
// enrolled with [HolderInfo.Staff] needs both.
type StaffInfo struct {
	Name  string
	Title string // role or job title
	// Screening, if Status is set, is recorded with the person.
	Screening Screening
	// NDASigned and NDADocument, if NDADocument is not nil, record the
	// signed NDA (at most MaxNDASize bytes).
	NDASigned   time.Time
	NDADocument []byte
}

// A StaffMember is a record of the staff register.
type StaffMember struct {
	ID        StaffID
	Name      string
	Title     string
	Screening Screening
	NDA       *NDA // nil if none is on file
	Active    bool
	Holders   []HolderID // key holders (cards) of this person
	Added     time.Time
}

// staffRecord is the sealed form of a staff member (JSON).
type staffRecord struct {
	Name      string     `json:"name"`
	Title     string     `json:"title,omitempty"`
	Screening Screening  `json:"screening"`
	NDA       *NDA       `json:"nda,omitempty"`
	Inactive  bool       `json:"inactive,omitempty"`
	Holders   []HolderID `json:"holders,omitempty"`
	Added     time.Time  `json:"added"`
}

func checkStaffText(what, s string, required bool) (string, error) {
	s = strings.Join(strings.Fields(s), " ")
	switch {
	case s == "" && required:
		return "", fmt.Errorf("store: a staff member needs a %s", what)
	case len(s) > MaxStaffText || !utf8.ValidString(s):
		return "", fmt.Errorf("store: a staff member's %s is valid UTF-8 of at most %d bytes", what, MaxStaffText)
	}
	return s, nil
}

// day truncates a time to its UTC calendar day.
func day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func checkDate(what string, t, now time.Time) (time.Time, error) {
	if t.IsZero() {
		return t, fmt.Errorf("store: the %s date is missing", what)
	}
	if t.After(now.Add(24 * time.Hour)) {
		return t, fmt.Errorf("store: the %s date %s is in the future", what, t.Format(time.DateOnly))
	}
	return day(t), nil
}

func checkScreening(sc Screening, now time.Time) (Screening, error) {
	switch sc.Status {
	case ScreeningPending:
		by, err := checkStaffText("screener's name", sc.By, false)
		sc.By = by
		if !sc.Date.IsZero() {
			sc.Date = day(sc.Date)
		}
		return sc, err
	case ScreeningPassed, ScreeningFailed:
	default:
		return sc, fmt.Errorf("store: screening status %q: want pending, passed or failed", sc.Status)
	}
	var err error
	if sc.By, err = checkStaffText("screener's name", sc.By, true); err != nil {
		return sc, err
	}
	sc.Date, err = checkDate("screening", sc.Date, now)
	return sc, err
}

// staffRecordID is the associated data of a staff record.
func staffRecordID(id StaffID) []byte { return slices.Concat([]byte("staff/"), id[:]) }

func ndaKey(id StaffID, chunk int) []byte {
	return binary.BigEndian.AppendUint32(slices.Clone(id[:]), uint32(chunk))
}

func ndaRecordID(id StaffID, chunk int) []byte {
	return slices.Concat([]byte("nda/"), ndaKey(id, chunk))
}

func putStaff(tx *bolt.Tx, kr *seal.Keyring, id StaffID, r *staffRecord) error {
	p, err := json.Marshal(r)
	if err != nil {
		return err
	}
	b, err := tx.CreateBucketIfNotExists(bStaff)
	if err != nil {
		return err
	}
	return b.Put(id[:], kr.Seal(nil, seal.Record, staffRecordID(id), 0, pad(p, 64)))
}

func getStaff(tx *bolt.Tx, kr *seal.Keyring, id StaffID) (*staffRecord, error) {
	var v []byte
	if b := tx.Bucket(bStaff); b != nil {
		v = b.Get(id[:])
	}
	if v == nil {
		return nil, fmt.Errorf("store: no staff member %s", id)
	}
	p, err := kr.Open(nil, seal.Record, staffRecordID(id), 0, v)
	if err != nil {
		return nil, fmt.Errorf("store: the record of staff member %s does not open; it was altered", id)
	}
	var r staffRecord
	if err := json.Unmarshal(unpad(p), &r); err != nil {
		return nil, fmt.Errorf("store: the record of staff member %s is malformed", id)
	}
	return &r, nil
}

// readNDA reads and checks a signed NDA document.
func readNDA(r io.Reader) ([]byte, error) {
	if r == nil {
		return nil, errors.New("store: no NDA document")
	}
	doc, err := io.ReadAll(io.LimitReader(r, MaxNDASize+1))
	if err != nil {
		return nil, fmt.Errorf("store: reading the NDA document: %w", err)
	}
	switch {
	case len(doc) == 0:
		return nil, errors.New("store: the NDA document is empty")
	case len(doc) > MaxNDASize:
		return nil, fmt.Errorf("store: the NDA document is larger than %d MiB", MaxNDASize>>20)
	}
	return doc, nil
}

// putNDA replaces a staff member's NDA document with doc, sealed in
// chunks, and sets r.NDA.
func putNDA(tx *bolt.Tx, kr *seal.Keyring, id StaffID, r *staffRecord, signed time.Time, doc []byte) error {
	b, err := tx.CreateBucketIfNotExists(bStaffNDA)
	if err != nil {
		return err
	}
	if err := deleteNDA(b, id); err != nil {
		return err
	}
	version := uint64(1)
	if r.NDA != nil {
		version = r.NDA.Version + 1
	}
	sum := sha256.Sum256(doc)
	n := 0
	for off := 0; off < len(doc); off += NDAChunk {
		chunk := doc[off:min(off+NDAChunk, len(doc))]
		if err := b.Put(ndaKey(id, n), kr.Seal(nil, seal.Record, ndaRecordID(id, n), version, chunk)); err != nil {
			return err
		}
		n++
	}
	r.NDA = &NDA{Signed: day(signed), Size: int64(len(doc)), SHA256: sum[:], Chunks: n, Version: version}
	return nil
}

func deleteNDA(b *bolt.Bucket, id StaffID) error {
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(id[:]); k != nil && bytes.HasPrefix(k, id[:]); k, _ = c.Next() {
		keys = append(keys, slices.Clone(k))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// clearedForEnrolment says what keeps a person from holding a key, or nil.
func (r *staffRecord) clearedForEnrolment(id StaffID) error {
	return r.cleared("staff member "+id.String(), "with `valv staff screen` first", "with `valv staff nda` first")
}

// cleared is clearedForEnrolment with the person named by who and the
// remedies spelled out by screenHow and ndaHow.
func (r *staffRecord) cleared(who, screenHow, ndaHow string) error {
	switch {
	case r.Inactive:
		return fmt.Errorf("store: %s was deactivated and cannot be enrolled", who)
	case r.Screening.Status == ScreeningFailed:
		return fmt.Errorf("store: %s %w (the screening failed) and cannot be enrolled", who, ErrNotScreened)
	case r.Screening.Status != ScreeningPassed:
		return fmt.Errorf("store: %s %w: record a passed screening %s", who, ErrNotScreened, screenHow)
	case r.NDA == nil:
		return fmt.Errorf("store: %s %w: record it %s", who, ErrNoNDA, ndaHow)
	}
	return nil
}

// newStaff checks info and makes its record, reading the NDA document.
// With cleared (who, how to screen, how to record the NDA), the person
// must be screened and have an NDA.
func newStaff(info *StaffInfo, now time.Time, cleared []string) (*staffRecord, []byte, error) {
	name, err := checkStaffText("name", info.Name, true)
	if err != nil {
		return nil, nil, err
	}
	title, err := checkStaffText("title", info.Title, false)
	if err != nil {
		return nil, nil, err
	}
	r := &staffRecord{Name: name, Title: title, Screening: Screening{Status: ScreeningPending}, Added: now.UTC()}
	if info.Screening.Status != "" {
		if r.Screening, err = checkScreening(info.Screening, now); err != nil {
			return nil, nil, err
		}
	}
	var doc []byte
	if info.NDADocument != nil {
		if _, err := checkDate("NDA signing", info.NDASigned, now); err != nil {
			return nil, nil, err
		}
		if doc, err = readNDA(bytes.NewReader(info.NDADocument)); err != nil {
			return nil, nil, err
		}
		r.NDA = &NDA{} // filled by putNDA
	}
	if cleared != nil {
		if err := r.cleared(cleared[0], cleared[1], cleared[2]); err != nil {
			return nil, nil, err
		}
	}
	r.NDA = nil
	return r, doc, nil
}

// addStaff stores a new staff record (and its NDA) and logs it.
func addStaff(tx *bolt.Tx, kr *seal.Keyring, a *appender, id StaffID, info *StaffInfo, r *staffRecord, doc []byte, actor HolderID, now time.Time) error {
	entries := []Entry{{Time: now, Holder: actor, Action: ActionStaffAdd, Object: id.String()}}
	if info.Screening.Status != "" {
		entries = append(entries, screeningEntry(now, actor, id, r.Screening.Status))
	}
	if doc != nil {
		if err := putNDA(tx, kr, id, r, info.NDASigned, doc); err != nil {
			return err
		}
		entries = append(entries, Entry{Time: now, Holder: actor, Action: ActionStaffNDA, Object: id.String(), Count: int64(len(doc))})
	}
	if err := putStaff(tx, kr, id, r); err != nil {
		return err
	}
	for _, e := range entries {
		if err := a.add(e); err != nil {
			return err
		}
	}
	return nil
}

func screeningEntry(now time.Time, actor HolderID, id StaffID, st ScreeningStatus) Entry {
	n := int64(0)
	switch st {
	case ScreeningPassed:
		n = 1
	case ScreeningFailed:
		n = -1
	}
	return Entry{Time: now, Holder: actor, Action: ActionStaffScreen, Object: id.String(), Count: n}
}

// linkHolder records holder as one of the staff member's key holders,
// unlinking it from anyone else, after checking the person is cleared.
func linkHolder(tx *bolt.Tx, kr *seal.Keyring, staff StaffID, r *staffRecord, holder HolderID) error {
	if err := r.clearedForEnrolment(staff); err != nil {
		return err
	}
	if b := tx.Bucket(bStaff); b != nil {
		var others []StaffID
		b.ForEach(func(k, _ []byte) error {
			var id StaffID
			if copy(id[:], k) == len(id) && id != staff {
				others = append(others, id)
			}
			return nil
		})
		for _, o := range others {
			or, err := getStaff(tx, kr, o)
			if err != nil {
				return err
			}
			if i := slices.Index(or.Holders, holder); i >= 0 {
				or.Holders = slices.Delete(or.Holders, i, i+1)
				if err := putStaff(tx, kr, o, or); err != nil {
					return err
				}
			}
		}
	}
	if !slices.Contains(r.Holders, holder) {
		r.Holders = append(r.Holders, holder)
	}
	return putStaff(tx, kr, staff, r)
}

// StaffIDs lists the staff register's ids (public data: random ids only).
func (v *Vault) StaffIDs() ([]StaffID, error) {
	var ids []StaffID
	err := v.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bStaff)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, _ []byte) error {
			var id StaffID
			if len(k) != len(id) {
				return errors.New("store: the staff register is damaged")
			}
			copy(id[:], k)
			ids = append(ids, id)
			return nil
		})
	})
	return ids, err
}

// staffUpdate runs fn on a staff record in a directory transaction with
// an appender, and stores the record if fn succeeds.
func (s *Session) staffUpdate(id StaffID, fn func(tx *bolt.Tx, r *staffRecord, a *appender) error) error {
	if err := s.checkAdmin(); err != nil {
		return err
	}
	return s.v.db.Update(func(tx *bolt.Tx) error {
		r, err := getStaff(tx, s.dirKR, id)
		if err != nil {
			return err
		}
		a, err := newAppender(tx, s.dirKR)
		if err != nil {
			return err
		}
		if err := fn(tx, r, a); err != nil {
			return err
		}
		if err := putStaff(tx, s.dirKR, id, r); err != nil {
			return err
		}
		s.touched[ID{}] = true
		return a.flush()
	})
}

// AddStaff adds a person to the staff register (admins only) and returns
// their id. A screening and the signed NDA may be given at once, or
// recorded later with Screen and RecordNDA.
func (s *Session) AddStaff(info StaffInfo) (StaffID, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkAdmin(); err != nil {
		return ID{}, err
	}
	now := s.v.now()
	r, doc, err := newStaff(&info, now, nil)
	if err != nil {
		return ID{}, err
	}
	id := newID()
	err = s.v.db.Update(func(tx *bolt.Tx) error {
		a, err := newAppender(tx, s.dirKR)
		if err != nil {
			return err
		}
		if err := addStaff(tx, s.dirKR, a, id, &info, r, doc, s.actor, now); err != nil {
			return err
		}
		s.touched[ID{}] = true
		return a.flush()
	})
	if err != nil {
		return ID{}, err
	}
	return id, nil
}

// Screen records the outcome of a staff member's screening (admins only).
func (s *Session) Screen(id StaffID, sc Screening) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.v.now()
	sc, err := checkScreening(sc, now)
	if err != nil {
		return err
	}
	return s.staffUpdate(id, func(_ *bolt.Tx, r *staffRecord, a *appender) error {
		if r.Inactive {
			return fmt.Errorf("store: staff member %s was deactivated", id)
		}
		r.Screening = sc
		return a.add(screeningEntry(now, s.actor, id, sc.Status))
	})
}

// RecordNDA stores the signed NDA of a staff member (admins only): the
// signing date and the document (at most MaxNDASize bytes), which
// replaces any earlier one.
func (s *Session) RecordNDA(id StaffID, signed time.Time, doc io.Reader) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.v.now()
	if _, err := checkDate("NDA signing", signed, now); err != nil {
		return err
	}
	if err := s.checkAdmin(); err != nil {
		return err
	}
	p, err := readNDA(doc)
	if err != nil {
		return err
	}
	return s.staffUpdate(id, func(tx *bolt.Tx, r *staffRecord, a *appender) error {
		if r.Inactive {
			return fmt.Errorf("store: staff member %s was deactivated", id)
		}
		if err := putNDA(tx, s.dirKR, id, r, signed, p); err != nil {
			return err
		}
		return a.add(Entry{Time: now, Holder: s.actor, Action: ActionStaffNDA, Object: id.String(), Count: int64(len(p))})
	})
}

// NDADocument writes a staff member's signed NDA to w (admins only),
// checking it whole against its SHA-256 before writing anything. The read
// is logged.
func (s *Session) NDADocument(id StaffID, w io.Writer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var doc []byte
	err := s.staffUpdate(id, func(tx *bolt.Tx, r *staffRecord, a *appender) error {
		if r.NDA == nil {
			return fmt.Errorf("store: staff member %s %w", id, ErrNoNDA)
		}
		b := tx.Bucket(bStaffNDA)
		if b == nil {
			return fmt.Errorf("store: the NDA of staff member %s is missing", id)
		}
		h := sha256.New()
		for i := range r.NDA.Chunks {
			p, err := s.dirKR.Open(nil, seal.Record, ndaRecordID(id, i), r.NDA.Version, b.Get(ndaKey(id, i)))
			if err != nil {
				return fmt.Errorf("store: chunk %d of the NDA of staff member %s does not open; it was altered", i, id)
			}
			h.Write(p)
			doc = append(doc, p...)
		}
		if int64(len(doc)) != r.NDA.Size || !bytes.Equal(h.Sum(nil), r.NDA.SHA256) {
			return fmt.Errorf("store: the NDA of staff member %s is incomplete or altered", id)
		}
		return a.add(Entry{Time: s.v.now(), Holder: s.actor, Action: ActionStaffNDAOpen, Object: id.String()})
	})
	if err != nil {
		return err
	}
	_, err = w.Write(doc)
	clear(doc)
	return err
}

// Staff lists the staff register (admins only). The listing is logged.
func (s *Session) Staff() ([]StaffMember, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkAdmin(); err != nil {
		return nil, err
	}
	var out []StaffMember
	err := s.v.db.Update(func(tx *bolt.Tx) error {
		out = out[:0]
		if b := tx.Bucket(bStaff); b != nil {
			var ids []StaffID
			b.ForEach(func(k, _ []byte) error {
				var id StaffID
				copy(id[:], k)
				ids = append(ids, id)
				return nil
			})
			for _, id := range ids {
				r, err := getStaff(tx, s.dirKR, id)
				if err != nil {
					return err
				}
				out = append(out, StaffMember{ID: id, Name: r.Name, Title: r.Title, Screening: r.Screening,
					NDA: r.NDA, Active: !r.Inactive, Holders: r.Holders, Added: r.Added})
			}
		}
		return s.logDir(tx, Entry{Time: s.v.now(), Holder: s.actor, Action: ActionStaffList, Count: int64(len(out))})
	})
	return out, err
}

// CheckEnrolment says whether a staff member may be enrolled as a key
// holder now (admins only): nil, or an error naming what is missing. Call
// it before touching a card; Enrol checks again.
func (s *Session) CheckEnrolment(staff StaffID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkAdmin(); err != nil {
		return err
	}
	return s.v.db.View(func(tx *bolt.Tx) error {
		r, err := getStaff(tx, s.dirKR, staff)
		if err != nil {
			return err
		}
		return r.clearedForEnrolment(staff)
	})
}

// LinkHolder records an enrolled key holder as the card of a staff
// member (admins only), e.g. for a holder enrolled before the staff
// register existed. The person must be screened and have an NDA.
func (s *Session) LinkHolder(holder HolderID, staff StaffID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkAdmin(); err != nil {
		return err
	}
	return s.v.db.Update(func(tx *bolt.Tx) error {
		h, _, err := s.v.holder(tx, holder)
		if err != nil {
			return err
		}
		if h.Inactive {
			return ErrDeactivated
		}
		r, err := getStaff(tx, s.dirKR, staff)
		if err != nil {
			return err
		}
		if err := linkHolder(tx, s.dirKR, staff, r, holder); err != nil {
			return err
		}
		return s.logDir(tx, Entry{Time: s.v.now(), Holder: s.actor, Action: ActionStaffLink, Object: staff.String()})
	})
}

// Deactivate marks a staff member inactive (admins only): their key
// holders are marked inactive (they can no longer unlock, and an admin
// among them loses the directory key) and every compartment granted to
// them is revoked, rotating its key (see Revoke).
//
// A compartment this session cannot open is not revoked: the error names
// it, and running Deactivate again with the recovery key (or a holder of
// that compartment) finishes the job. progress is passed to Revoke.
func (s *Session) Deactivate(id StaffID, progress Progress) error {
	s.mu.Lock()
	var holders []HolderID
	var anchored *anchorStatement
	adminGone := false
	now := s.v.now()
	err := s.staffUpdate(id, func(tx *bolt.Tx, r *staffRecord, a *appender) error {
		holders = slices.Clone(r.Holders)
		if slices.Contains(holders, s.actor) {
			return errors.New("store: a key holder cannot deactivate themselves; use another admin or the recovery key")
		}
		admin := false
		for _, hid := range holders {
			h, raw, err := s.v.holder(tx, hid)
			if err != nil {
				return err
			}
			if !checkMAC(tx, s.dirKR, "holder", hid[:], raw) {
				return fmt.Errorf("store: key holder %s was altered outside Valv", hid)
			}
			if h.Inactive {
				continue
			}
			admin = admin || h.Role == RoleAdmin
			var rec holderRecord
			if err := json.Unmarshal(raw, &rec); err != nil {
				return err
			}
			rec.Inactive = true
			p, err := json.Marshal(rec)
			if err != nil {
				return err
			}
			if err := tx.Bucket(bHolders).Put(hid[:], p); err != nil {
				return err
			}
			if err := putMAC(tx, s.dirKR, "holder", hid[:], p); err != nil {
				return err
			}
		}
		if admin {
			if err := s.rewrapDirectory(tx); err != nil {
				return err
			}
			var err error
			if anchored, err = s.advanceAnchor(tx, nil, nil); err != nil {
				return err
			}
			adminGone = true
		}
		if r.Inactive {
			return nil // finishing an earlier deactivation
		}
		r.Inactive = true
		return a.add(Entry{Time: now, Holder: s.actor, Action: ActionStaffDeactivate, Object: id.String()})
	})
	if err != nil {
		s.mu.Unlock()
		return err
	}
	s.commitAnchor(anchored)
	if adminGone {
		// The deactivated admin's card could unwrap the directory key:
		// a new one, so that it cannot recompute the holders' tags.
		if err := s.rotateDirectory(); err != nil {
			s.mu.Unlock()
			return err
		}
	}
	// The grants: from each open compartment's file (authoritative), else
	// from the directory's copy.
	type grant struct{ cid, holder ID }
	var todo, unreachable []grant
	err = s.v.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bGrants).ForEach(func(k, _ []byte) error {
			var g grant
			if len(k) != 2*len(g.cid) {
				return nil
			}
			copy(g.cid[:], k)
			copy(g.holder[:], k[len(g.cid):])
			if slices.Contains(holders, g.holder) && s.comps[g.cid] == nil {
				unreachable = append(unreachable, g)
			}
			return nil
		})
	})
	for cid, c := range s.comps {
		if err != nil {
			break
		}
		db, derr := s.v.compartmentDB(cid)
		if derr != nil {
			err = derr
			break
		}
		err = db.View(func(tx *bolt.Tx) error {
			grants, err := readGrants(tx, c.kr)
			for _, h := range grants {
				if slices.Contains(holders, h) {
					todo = append(todo, grant{cid, h})
				}
			}
			return err
		})
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	var errs []error
	for _, g := range todo {
		if err := s.Revoke(g.cid, g.holder, progress); err != nil {
			errs = append(errs, fmt.Errorf("store: revoking compartment %s from key holder %s: %w", g.cid, g.holder, err))
		}
	}
	for _, g := range unreachable {
		errs = append(errs, fmt.Errorf("store: staff member %s is deactivated, but compartment %s (granted to key holder %s) is not open to this key: run the deactivation again with the recovery key", id, g.cid, g.holder))
	}
	return errors.Join(errs...)
}

// firstAdminCleared names the first admin in the errors of Create.
var firstAdminCleared = []string{"the first admin", "(who screened them, and when)", "(the document and its signing date)"}

// CheckFirstAdmin checks the first admin's staff record as Create will:
// a passed screening and the signed NDA. A caller can so refuse before
// touching a card.
func CheckFirstAdmin(info *StaffInfo) error {
	if info == nil {
		return errors.New("store: the first admin needs a staff record with a passed screening and the signed NDA")
	}
	_, _, err := newStaff(info, time.Now(), firstAdminCleared)
	return err
}
