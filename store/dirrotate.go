package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/crypto/compartmentkey"
	"github.com/valv-vault/valv/crypto/seal"
)

// ActionRotateDirectory records a new directory key (Count: entries
// carried over into the re-chained log).
const ActionRotateDirectory Action = "directory-rotate"

// rotateDirectory replaces the directory key, in one transaction, after
// an admin was deactivated: that admin's card could unwrap the old key,
// and with it recompute the keyed tags over key holders (swap a holder's
// recipient for their own) or read the sealed names. Pending entries are
// chained first (they are encrypted to the old key's recipient); then
// every name, tag, staff record, NDA chunk and the audit log is sealed
// again under the new key (the log re-chained with the same numbers;
// checkpoints, signed over the old chain, dropped), the new key is wrapped
// to the active admins and the recovery recipient, and a new anchor
// statement names it. The old pages are freed, not wiped.
//
// Other sessions of this process that hold the old key must unlock again.
func (s *Session) rotateDirectory() error {
	newKey, err := compartmentkey.New()
	if err != nil {
		return err
	}
	newKR, err := newKey.Keyring()
	if err != nil {
		newKey.Destroy()
		return err
	}
	oldKey, oldKR := s.dirKey, s.dirKR
	var anchored *anchorStatement
	err = s.v.db.Update(func(tx *bolt.Tx) error {
		now := s.v.now()
		pending, err := drainPending(tx, oldKey.Identity(), oldKR, s.v.id, now)
		if err != nil {
			return err
		}
		if err := resealDirectory(tx, oldKR, newKR); err != nil {
			return err
		}
		var entries []Entry
		if err := readEntries(tx, oldKR, func(e Entry) error { entries = append(entries, e); return nil }); err != nil {
			return err
		}
		for _, b := range [][]byte{bAudit, bCheckpoints} {
			if tx.Bucket(b) == nil {
				continue
			}
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bMeta).Delete(kAuditHead); err != nil {
			return err
		}
		a, err := newAppender(tx, newKR)
		if err != nil {
			return err
		}
		carried := int64(len(entries))
		entries = append(entries, pending...)
		entries = append(entries, Entry{Time: now, Holder: s.actor, Action: ActionRotateDirectory, Count: carried})
		if err := a.addBatch(entries); err != nil {
			return err
		}
		if err := a.flush(); err != nil {
			return err
		}
		// From here on the session's directory key is the new one.
		s.dirKey, s.dirKR = newKey, newKR
		m := tx.Bucket(bMeta)
		id := newKey.ID()
		if err := m.Put(kDirID, id[:]); err != nil {
			return err
		}
		if err := m.Put(kDirRecipient, []byte(newKey.Recipient().String())); err != nil {
			return err
		}
		if err := s.rewrapDirectory(tx); err != nil {
			return err
		}
		anchored, err = s.advanceAnchor(tx, nil, nil)
		return err
	})
	if err != nil {
		s.dirKey, s.dirKR = oldKey, oldKR
		newKey.Destroy()
		newKR.Destroy()
		return fmt.Errorf("store: rotating the directory key: %w", err)
	}
	s.commitAnchor(anchored)
	s.v.dirID, s.v.dirRecipient = ID(newKey.ID()), newKey.Recipient()
	s.touched[ID{}] = true
	oldKey.Destroy()
	oldKR.Destroy()
	return nil
}

// resealDirectory seals the directory's names, tags, staff records and
// NDA chunks under nkr instead of old. A value that does not open under
// old was altered: the rotation stops and says which.
func resealDirectory(tx *bolt.Tx, old, nkr *seal.Keyring) error {
	names := tx.Bucket(bNames)
	var ids []ID
	names.ForEach(func(k, _ []byte) error {
		var id ID
		if copy(id[:], k) == len(id) && len(k) == len(id) {
			ids = append(ids, id)
		}
		return nil
	})
	for _, id := range ids {
		name, err := openName(old, id, names.Get(id[:]))
		if err != nil {
			return err
		}
		if err := names.Put(id[:], sealName(nkr, id, name)); err != nil {
			return err
		}
	}
	if err := tx.DeleteBucket(bMACs); err != nil {
		return err
	}
	if _, err := tx.CreateBucket(bMACs); err != nil {
		return err
	}
	if err := putMAC(tx, nkr, "recovery", nil, get(tx.Bucket(bMeta), kRecovery)); err != nil {
		return err
	}
	type kv struct{ k, v []byte }
	var holders []kv
	tx.Bucket(bHolders).ForEach(func(k, v []byte) error {
		holders = append(holders, kv{append([]byte(nil), k...), append([]byte(nil), v...)})
		return nil
	})
	for _, h := range holders {
		if err := putMAC(tx, nkr, "holder", h.k, h.v); err != nil {
			return err
		}
	}
	var staff []StaffID
	if b := tx.Bucket(bStaff); b != nil {
		b.ForEach(func(k, _ []byte) error {
			var id StaffID
			if len(k) == len(id) {
				copy(id[:], k)
				staff = append(staff, id)
			}
			return nil
		})
	}
	for _, id := range staff {
		r, err := getStaff(tx, old, id)
		if err != nil {
			return err
		}
		if err := putStaff(tx, nkr, id, r); err != nil {
			return err
		}
		if r.NDA == nil {
			continue
		}
		b := tx.Bucket(bStaffNDA)
		for i := range r.NDA.Chunks {
			if b == nil {
				return fmt.Errorf("store: the NDA of staff member %s is missing", id)
			}
			p, err := old.Open(nil, seal.Record, ndaRecordID(id, i), r.NDA.Version, b.Get(ndaKey(id, i)))
			if err != nil {
				return fmt.Errorf("store: chunk %d of the NDA of staff member %s does not open; it was altered", i, id)
			}
			if err := b.Put(ndaKey(id, i), nkr.Seal(nil, seal.Record, ndaRecordID(id, i), r.NDA.Version, p)); err != nil {
				return err
			}
		}
	}
	return nil
}
