package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"filippo.io/age"
	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/crypto/compartmentkey"
	"github.com/valv-vault/valv/crypto/pivage"
	"github.com/valv-vault/valv/crypto/seal"
)

// CompartmentInfo describes a compartment as a session sees it.
type CompartmentInfo struct {
	ID CompartmentID
	// Name is the compartment's name, or "" if this session cannot read
	// it (an admin reads every name; a key holder those it is granted).
	Name string
	// Unlocked reports whether the session holds the compartment's key.
	Unlocked bool
	// Holders are the key holders granted the compartment.
	Holders []HolderID
	// Problem says why the compartment's file could not be read
	// (missing, damaged), or is "".
	Problem string
}

// MaxCompartmentName bounds a compartment name, in bytes.
const MaxCompartmentName = 200

func checkCompartmentName(name string) (string, error) {
	name = strings.Join(strings.Fields(name), " ")
	switch {
	case name == "":
		return "", errors.New("store: a compartment needs a name")
	case len(name) > MaxCompartmentName || !utf8.ValidString(name):
		return "", fmt.Errorf("store: a compartment name is valid UTF-8 of at most %d bytes", MaxCompartmentName)
	}
	return name, nil
}

// CreateCompartment makes a compartment (admins only): a new key, wrapped
// to the creating key holder and the recovery recipient, and a new file
// written under a temporary name and renamed into place. The name is
// sealed under the new key and under the directory key.
func (s *Session) CreateCompartment(name string) (CompartmentID, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkAdmin(); err != nil {
		return ID{}, err
	}
	name, err := checkCompartmentName(name)
	if err != nil {
		return ID{}, err
	}
	key, err := compartmentkey.New()
	if err != nil {
		return ID{}, err
	}
	kr, err := key.Keyring()
	if err != nil {
		return ID{}, err
	}
	cid := CompartmentID(key.ID())
	var grants []HolderID
	if s.actor != Recovery {
		grants = append(grants, s.actor)
	}
	now := s.v.now()
	err = s.writeCompartmentFile(cid, key, kr, name, grants, nil, func(db *bolt.DB) error {
		return db.Update(func(tx *bolt.Tx) error {
			return appendEntries(tx, kr, Entry{Time: now, Holder: s.actor, Action: ActionCreateCompartment, Object: cid.String()})
		})
	})
	if err != nil {
		key.Destroy()
		kr.Destroy()
		return ID{}, err
	}
	s.comps[cid] = &openComp{id: cid, key: key, kr: kr, name: name}
	s.touched[cid] = true
	var anchored *anchorStatement
	err = s.v.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bComps).Put(cid[:], nil); err != nil {
			return err
		}
		var err error
		if anchored, err = s.advanceAnchor(tx, setComp(anchorComp{ID: cid, Recipient: key.Recipient().String()}), nil); err != nil {
			return err
		}
		if err := tx.Bucket(bNames).Put(cid[:], sealName(s.dirKR, cid, name)); err != nil {
			return err
		}
		for _, h := range grants {
			if err := tx.Bucket(bGrants).Put(slices.Concat(cid[:], h[:]), nil); err != nil {
				return err
			}
		}
		return s.logDir(tx, Entry{Time: now, Holder: s.actor, Action: ActionCreateCompartment, Object: cid.String()})
	})
	if err == nil {
		s.commitAnchor(anchored)
	}
	return cid, err
}

// writeCompartmentFile makes the file of a compartment under a temporary
// name, fills it (meta and grants, then fill, which may commit as many
// transactions as it likes: nobody sees the file yet), renames it over the
// compartment's file (if any) and fsyncs the folder. Every bbolt commit
// has fsynced the file. The vault's open handle on the compartment, if
// any, is closed.
//
// old, if not nil, is a write transaction on that handle that the caller
// holds during fill, so that no other session commits to the old file
// meanwhile; writeCompartmentFile ends it (retire.go).
func (s *Session) writeCompartmentFile(cid CompartmentID, key *compartmentkey.Key, kr *seal.Keyring, name string, grants []HolderID, old *bolt.Tx, fill func(db *bolt.DB) error) error {
	path := compartmentPath(s.v.dir, cid)
	tmp := path + tmpSuffix
	os.Remove(tmp)
	db, err := openDB(tmp, true)
	if err != nil {
		if old != nil {
			old.Rollback()
		}
		return err
	}
	fail := func(err error) error {
		if old != nil {
			old.Rollback()
		}
		db.Close()
		os.Remove(tmp)
		return fmt.Errorf("store: writing compartment %s: %w", cid, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		wrapped, err := s.wrapCompartment(key, grants)
		if err != nil {
			return err
		}
		m, err := initMeta(tx, kindCompartment, CompartmentFormat)
		if err != nil {
			return err
		}
		for _, kv := range [][2][]byte{
			{kVaultID, s.v.id[:]},
			{kCompID, cid[:]},
			{kCompRecipient, []byte(key.Recipient().String())},
			{kCompKey, wrapped},
			{kCompName, sealName(kr, cid, name)},
		} {
			if err := m.Put(kv[0], kv[1]); err != nil {
				return err
			}
		}
		for _, b := range [][]byte{bGrants, bAudit, bCheckpoints, bCustomers, bHistory, bIndex, bCodes, bSearch} {
			if _, err := tx.CreateBucket(b); err != nil {
				return err
			}
		}
		return putGrants(tx, kr, grants)
	})
	if err == nil {
		err = fill(db)
	}
	if err != nil {
		return fail(err)
	}
	if old != nil {
		return s.swapHeld(cid, db, tmp, path, old)
	}
	// Swap the file in while no one uses the old handle.
	s.v.mu.Lock()
	defer s.v.mu.Unlock()
	if old := s.v.comps[cid]; old != nil {
		old.Close()
		delete(s.v.comps, cid)
	}
	if err := db.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("store: writing compartment %s: %w", cid, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("store: writing compartment %s: %w", cid, err)
	}
	if swapHook != nil {
		swapHook("renamed")
	}
	if err := syncDir(s.v.dir); err != nil {
		return err
	}
	return nil
}

// swapHook, if not nil, is called when writeCompartmentFile has renamed
// a new compartment file into place ("renamed"), before the folder is
// synced and before the caller's next step (Revoke's second anchor
// statement, CreateCompartment's directory entry). The crash test
// (anchor_crash_test.go) stops there to be killed.
var swapHook func(step string)

// swapHeld renames the new file over the compartment's while the caller's
// write transaction old keeps other writers off the old file, then ends
// old (retireOldFile: a writer waiting for it fails instead of writing
// into a file that is gone) and closes the old handle, outside v.mu as
// compactCompartment does.
func (s *Session) swapHeld(cid CompartmentID, db *bolt.DB, tmp, path string, old *bolt.Tx) error {
	if err := db.Close(); err != nil {
		old.Rollback()
		os.Remove(tmp)
		return fmt.Errorf("store: writing compartment %s: %w", cid, err)
	}
	s.v.mu.Lock()
	err := os.Rename(tmp, path)
	oldDB := old.DB()
	if err == nil && s.v.comps[cid] == oldDB {
		delete(s.v.comps, cid)
	}
	s.v.mu.Unlock()
	if err != nil {
		old.Rollback()
		return fmt.Errorf("store: writing compartment %s: %w", cid, err)
	}
	retireOldFile(old)
	oldDB.Close()
	if swapHook != nil {
		swapHook("renamed")
	}
	return syncDir(s.v.dir)
}

// wrapCompartment wraps a compartment key to the granted key holders and
// the recovery recipient. Each holder's record is checked against its
// keyed tag first, when the session can (admins), so that a recipient put
// into the directory by an intruder never receives a key.
func (s *Session) wrapCompartment(key *compartmentkey.Key, grants []HolderID) ([]byte, error) {
	rs := []age.Recipient{s.v.recovery}
	err := s.v.db.View(func(tx *bolt.Tx) error {
		for _, id := range grants {
			h, raw, err := s.v.holder(tx, id)
			if err != nil {
				return err
			}
			if s.dirKR != nil && !checkMAC(tx, s.dirKR, "holder", id[:], raw) {
				return fmt.Errorf("store: key holder %s was altered outside Valv; refusing to wrap a key to it", id)
			}
			r, err := pivage.ParseRecipient(h.Recipient)
			if err != nil {
				return err
			}
			rs = append(rs, r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return compartmentkey.Wrap(key, rs...)
}

func grantsTag(kr *seal.Keyring, grants []HolderID) []byte {
	sorted := slices.Clone(grants)
	slices.SortFunc(sorted, func(a, b HolderID) int { return bytes.Compare(a[:], b[:]) })
	var b []byte
	for _, h := range sorted {
		b = append(b, h[:]...)
	}
	return kr.LookupTag(nil, "grants", b)
}

// putGrants replaces the compartment file's grants and their keyed tag.
func putGrants(tx *bolt.Tx, kr *seal.Keyring, grants []HolderID) error {
	if err := tx.DeleteBucket(bGrants); err != nil {
		return err
	}
	b, err := tx.CreateBucket(bGrants)
	if err != nil {
		return err
	}
	for _, h := range grants {
		if err := b.Put(h[:], nil); err != nil {
			return err
		}
	}
	return tx.Bucket(bMeta).Put(kGrantsMAC, grantsTag(kr, grants))
}

// readGrants reads the compartment file's grants and checks their tag.
func readGrants(tx *bolt.Tx, kr *seal.Keyring) ([]HolderID, error) {
	var grants []HolderID
	err := tx.Bucket(bGrants).ForEach(func(k, _ []byte) error {
		var id HolderID
		if len(k) != len(id) {
			return errors.New("store: a grant is malformed")
		}
		copy(id[:], k)
		grants = append(grants, id)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(tx.Bucket(bMeta).Get(kGrantsMAC), grantsTag(kr, grants)) {
		return nil, errors.New("store: the compartment's grants were altered outside Valv")
	}
	return grants, nil
}

// Compartments lists the compartments this session knows of: every one
// for an admin (with names), the unlocked ones for a key holder.
func (s *Session) Compartments() ([]CompartmentInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		return nil, err
	}
	var out []CompartmentInfo
	err := s.v.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bComps).ForEach(func(k, _ []byte) error {
			var cid CompartmentID
			copy(cid[:], k)
			c := s.comps[cid]
			problem := s.problems[cid]
			if c == nil && s.dirKR == nil && problem == "" {
				return nil
			}
			info := CompartmentInfo{ID: cid, Unlocked: c != nil, Problem: problem}
			switch {
			case c != nil:
				info.Name = c.name
			case s.dirKR != nil:
				name, err := openName(s.dirKR, cid, tx.Bucket(bNames).Get(cid[:]))
				if err != nil {
					return err
				}
				info.Name = name
			}
			gc := tx.Bucket(bGrants).Cursor()
			for gk, _ := gc.Seek(cid[:]); gk != nil && bytes.HasPrefix(gk, cid[:]); gk, _ = gc.Next() {
				var h HolderID
				copy(h[:], gk[len(cid):])
				info.Holders = append(info.Holders, h)
			}
			out = append(out, info)
			return nil
		})
	})
	return out, err
}

// Grant gives a key holder a compartment (admins holding the
// compartment's key): the same key is wrapped again to the granted holders
// plus the new one and the recovery recipient.
func (s *Session) Grant(cid CompartmentID, holder HolderID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkAdmin(); err != nil {
		return err
	}
	c, db, err := s.comp(cid)
	if err != nil {
		return err
	}
	now := s.v.now()
	err = db.Update(func(tx *bolt.Tx) error {
		grants, err := readGrants(tx, c.kr)
		if err != nil {
			return err
		}
		if slices.Contains(grants, holder) {
			return fmt.Errorf("store: key holder %s already holds compartment %s", holder, cid)
		}
		if err := s.v.db.View(func(dtx *bolt.Tx) error {
			h, _, err := s.v.holder(dtx, holder)
			if err == nil && h.Inactive {
				err = ErrDeactivated
			}
			return err
		}); err != nil {
			return err
		}
		grants = append(grants, holder)
		wrapped, err := s.wrapCompartment(c.key, grants)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bMeta).Put(kCompKey, wrapped); err != nil {
			return err
		}
		if err := putGrants(tx, c.kr, grants); err != nil {
			return err
		}
		return appendEntries(tx, c.kr, Entry{Time: now, Holder: s.actor, Action: ActionGrant, Object: holder.String()})
	})
	if err != nil {
		return err
	}
	s.touched[cid] = true
	return s.v.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bGrants).Put(slices.Concat(cid[:], holder[:]), nil); err != nil {
			return err
		}
		return s.logDir(tx, Entry{Time: now, Holder: s.actor, Action: ActionGrant, Object: cid.String()})
	})
}

// Progress is told how far a long operation has come.
type Progress func(done, total int)

// rotateBatch is the number of values re-encrypted per transaction while
// rotating: small enough to bound memory, large enough to be fast.
const rotateBatch = 4096

// Revoke takes a compartment from a key holder (admins holding the
// compartment's key) by rotating its key: a new key (same compartment id)
// is wrapped to the remaining holders and the recovery recipient, and
// every sealed value (records, history, index, audit log, name) is
// re-encrypted under it into a new file, which replaces the old one by an
// atomic rename. Nothing in the new file opens with the old key. The old
// file is unlinked by the rename, not wiped: its blocks (free pages
// included) are freed by the file system and stay on the disk until
// reused.
//
// The index and lookup tags are rebuilt from the records. A record or
// history version that does not open under the old key (it was altered)
// cannot be carried over: it is left behind and counted in a
// rotate-dropped entry, so that a damaged file never blocks a revocation.
//
// The audit log is re-chained under the new key, with the same entry
// numbers, followed by a rotate and a revoke entry. Checkpoints signed
// over the old chain are dropped (backups keep them); the session signs a
// new one when locked. If the old log does not verify, the entries that
// open are carried over renumbered, and an audit-broken entry records
// where the old log first went wrong: revocation is never blocked by a
// damaged log.
//
// progress, if not nil, is called as values are re-encrypted. A crash
// before the rename leaves the old file (and key) in place; a crash after
// it leaves the directory's copy of the grants stale, which only affects
// listings.
//
// Other sessions of this process that have the compartment open must
// unlock again. While the new file is written they cannot commit to the
// old one (a write transaction is held on it), and a write that waited
// for it fails once the file is replaced (retire.go) instead of being
// lost with the old file.
func (s *Session) Revoke(cid CompartmentID, holder HolderID, progress Progress) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkAdmin(); err != nil {
		return err
	}
	c, db, err := s.comp(cid)
	if err != nil {
		return err
	}
	var grants []HolderID
	var report LogReport
	counts := 0
	err = db.View(func(tx *bolt.Tx) error {
		if grants, err = readGrants(tx, c.kr); err != nil {
			return err
		}
		report = verifyLog(tx, cid.String(), c.kr, s.v.id, s.signingKey)
		for _, b := range [][]byte{bCustomers, bHistory, bIndex, bAudit} {
			counts += tx.Bucket(b).Stats().KeyN
		}
		return nil
	})
	if err != nil {
		return err
	}
	i := slices.Index(grants, holder)
	if i < 0 {
		return fmt.Errorf("store: key holder %s does not hold compartment %s", holder, cid)
	}
	grants = slices.Delete(grants, i, i+1)

	newKey, err := compartmentkey.Rotate(c.key)
	if err != nil {
		return err
	}
	newKR, err := newKey.Keyring()
	if err != nil {
		return err
	}
	// The anchor names the new key as the compartment's next one before
	// the new file can replace the old (a crash in between leaves a file
	// the anchor vouches for), and as its key once it has.
	oldRecipient := c.key.Recipient().String()
	var anchored *anchorStatement
	err = s.v.db.Update(func(tx *bolt.Tx) (err error) {
		anchored, err = s.advanceAnchor(tx, setComp(anchorComp{ID: cid, Recipient: oldRecipient, Next: newKey.Recipient().String()}), nil)
		return err
	})
	s.commitAnchor(anchored)
	if err != nil {
		newKey.Destroy()
		newKR.Destroy()
		return err
	}
	now := s.v.now()
	var carried uint64
	done := 0
	tick := func(n int) {
		done += n
		if progress != nil {
			progress(min(done, counts), counts)
		}
	}
	// A write transaction on the old file keeps the other sessions of
	// this process from committing there during the copy (L5, retire.go).
	otx, err := db.Begin(true)
	if err != nil {
		newKey.Destroy()
		newKR.Destroy()
		return err
	}
	err = s.writeCompartmentFile(cid, newKey, newKR, c.name, grants, otx, func(ndb *bolt.DB) error {
		return func(otx *bolt.Tx) error {
			w := &batchWriter{db: ndb, tick: tick}
			dropped, err := reseal(otx, w, c.kr, newKR)
			if err != nil {
				return err
			}
			if err := w.flush(); err != nil {
				return err
			}
			// Documents: re-encrypted to the new key, chunk by chunk.
			droppedDocs, err := reencryptDocuments(context.Background(), otx, ndb, c.kr, c.key.Identity(), newKR, newKey.Recipient(), tick)
			if err != nil {
				return err
			}
			dropped += droppedDocs
			// Sealed intake: re-encrypted to the new key (intake_queue.go).
			imported, droppedIntake, err := reencryptIntake(context.Background(), otx, ndb, c.key.Identity(), newKey.Recipient(), now, tick)
			if err != nil {
				return err
			}
			dropped += droppedIntake
			// The audit log: every entry that opens, re-chained in order.
			var batch []Entry
			flush := func() error {
				err := ndb.Update(func(tx *bolt.Tx) error { return appendEntries(tx, newKR, batch...) })
				tick(len(batch))
				batch = batch[:0]
				return err
			}
			err = otx.Bucket(bAudit).ForEach(func(k, v []byte) error {
				if len(k) != 8 || len(v) < seal.LinkSize {
					return nil
				}
				p, err := c.kr.Open(nil, seal.Audit, entryRecordID(binary.BigEndian.Uint64(k)), 0, v[seal.LinkSize:])
				if err != nil {
					return nil
				}
				e, err := decodeEntry(p)
				if err != nil || checkObject(e.Object) != nil {
					return nil
				}
				batch = append(batch, e)
				carried++
				if len(batch) == rotateBatch {
					return flush()
				}
				return nil
			})
			if err != nil {
				return err
			}
			batch = append(batch, imported...)
			batch = append(batch, Entry{Time: now, Holder: s.actor, Action: ActionRotate, Count: int64(carried)})
			if report.Err != nil {
				batch = append(batch, Entry{Time: now, Holder: s.actor, Action: ActionAuditBroken, Count: int64(report.Err.Seq)})
			}
			if dropped > 0 {
				batch = append(batch, Entry{Time: now, Holder: s.actor, Action: ActionRotateDropped, Count: int64(dropped)})
			}
			batch = append(batch, Entry{Time: now, Holder: s.actor, Action: ActionRevoke, Object: holder.String()})
			return flush()
		}(otx)
	})
	if err != nil {
		newKey.Destroy()
		newKR.Destroy()
		return err
	}
	c.key.Destroy()
	c.kr.Destroy()
	c.key, c.kr = newKey, newKR
	s.touched[cid] = true
	err = s.v.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bGrants).Delete(slices.Concat(cid[:], holder[:])); err != nil {
			return err
		}
		var err error
		if anchored, err = s.advanceAnchor(tx, setComp(anchorComp{ID: cid, Recipient: newKey.Recipient().String()}), nil); err != nil {
			return err
		}
		return s.logDir(tx, Entry{Time: now, Holder: s.actor, Action: ActionRevoke, Object: cid.String()})
	})
	if err == nil {
		s.commitAnchor(anchored)
	}
	return err
}

// A batchWriter puts values into a new file in transactions of
// rotateBatch values.
type batchWriter struct {
	db   *bolt.DB
	tick func(int)
	ops  []batchOp
}

type batchOp struct{ bucket, k, v []byte }

func (w *batchWriter) put(bucket, k, v []byte) error {
	w.ops = append(w.ops, batchOp{bucket, bytes.Clone(k), v})
	if len(w.ops) >= rotateBatch {
		return w.flush()
	}
	return nil
}

func (w *batchWriter) flush() error {
	if len(w.ops) == 0 {
		return nil
	}
	err := w.db.Update(func(tx *bolt.Tx) error {
		for _, op := range w.ops {
			if err := tx.Bucket(op.bucket).Put(op.k, op.v); err != nil {
				return err
			}
		}
		return nil
	})
	n := 0
	for _, op := range w.ops {
		if !bytes.Equal(op.bucket, bCodes) && !bytes.Equal(op.bucket, bSearch) {
			n++
		}
	}
	w.tick(n)
	w.ops = w.ops[:0]
	return err
}

// reseal copies the sealed records and history of a compartment from otx
// (under the old keyring) to w (under the new one), and rebuilds the index
// lookup tags and search entries from the records. A value that does not open under the
// old key (it was altered) cannot be carried over; it is counted in
// dropped, so that a damaged file never blocks a revocation.
func reseal(otx *bolt.Tx, w *batchWriter, old, nkr *seal.Keyring) (dropped int, err error) {
	var buf []byte
	err = otx.Bucket(bCustomers).ForEach(func(k, v []byte) error {
		if len(v) < 8 {
			dropped++
			return nil
		}
		ver := binary.BigEndian.Uint64(v)
		r, err := openRecord(old, k, ver, v[8:])
		if err != nil {
			dropped++
			return nil
		}
		code := []byte(r.Customer.Code)
		if err := w.put(bCustomers, k, sealRecord(nkr, k, r)); err != nil {
			return err
		}
		if err := w.put(bIndex, k, nkr.Seal(nil, seal.Index, k, 0, code)); err != nil {
			return err
		}
		if err := w.put(bSearch, k, sealSearchEntry(nkr, k, ver, &r.Customer, &buf)); err != nil {
			return err
		}
		return w.put(bCodes, nkr.LookupTag(nil, "code", code), k)
	})
	if err != nil {
		return dropped, err
	}
	err = otx.Bucket(bHistory).ForEach(func(k, v []byte) error {
		if len(k) < 8 {
			dropped++
			return nil
		}
		rid, ver := k[:len(k)-8], binary.BigEndian.Uint64(k[len(k)-8:])
		p, err := old.Open(buf[:0], seal.Record, rid, ver, v)
		if err != nil {
			dropped++
			return nil
		}
		buf = p
		return w.put(bHistory, k, nkr.Seal(nil, seal.Record, rid, ver, p))
	})
	return dropped, err
}

// Grants lists the key holders granted a compartment, from its file
// (which is authoritative) if the session has it unlocked, else from the
// directory.
func (s *Session) Grants(cid CompartmentID) ([]HolderID, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		return nil, err
	}
	if c, db, err := s.comp(cid); err == nil {
		var grants []HolderID
		err := db.View(func(tx *bolt.Tx) (err error) {
			grants, err = readGrants(tx, c.kr)
			return err
		})
		return grants, err
	}
	if s.dirKR == nil {
		return nil, ErrNotGranted
	}
	var grants []HolderID
	err := s.v.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bGrants).Cursor()
		for k, _ := c.Seek(cid[:]); k != nil && bytes.HasPrefix(k, cid[:]); k, _ = c.Next() {
			var h HolderID
			copy(h[:], k[len(cid):])
			grants = append(grants, h)
		}
		return nil
	})
	return grants, err
}
