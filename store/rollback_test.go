package store

import (
	"bytes"
	"crypto"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/crypto/seal"
	"github.com/valv-vault/valv/store/customer"
)

// copyFile copies a vault file (the vault must be closed).
func copyFile(t testing.TB, from, to string) {
	t.Helper()
	mustNoErr(t, os.WriteFile(to, readFile(t, from), 0o600))
}

// rolledBackVault makes a vault with one compartment, keeps a genuine copy
// of the compartment's file, uses the compartment some more (logged,
// checkpointed at Lock), and puts the old copy back, as someone who can
// write the vault folder would to undo what was done since.
func rolledBackVault(t *testing.T) (*testVault, CompartmentID) {
	tv, cid := auditVault(t, 2)
	tv.v.Close()
	old := filepath.Join(t.TempDir(), "old.valv")
	copyFile(t, compartmentPath(tv.dir, cid), old)
	tv.reopen(t)
	s := tv.unlock(t, tv.admin)
	for range 3 {
		_, err := s.AddCustomer(cid, testCustomer("Senare"))
		mustNoErr(t, err)
	}
	mustNoErr(t, s.Lock())
	tv.v.Close()
	copyFile(t, old, compartmentPath(tv.dir, cid))
	tv.reopen(t)
	return tv, cid
}

// H1: a compartment file replaced by an older genuine copy of itself is
// reported at the admin's unlock (not opened, nothing appended to it), and
// by the recovery key's audit verification, naming the file and how far
// behind it is.
func TestCompartmentRollbackDetected(t *testing.T) {
	tv, cid := rolledBackVault(t)
	s := tv.unlock(t, tv.admin)
	cs, err := s.Compartments()
	mustNoErr(t, err)
	if len(cs) != 1 || cs[0].Unlocked || !strings.Contains(cs[0].Problem, "older copy") || !strings.Contains(cs[0].Problem, "behind") {
		t.Fatalf("after rollback: %+v", cs)
	}
	reports, err := s.VerifyAudit()
	var ae *AuditError
	if !errors.As(err, &ae) || ae.Log != cid.String() || !strings.Contains(ae.Reason, "behind") {
		t.Fatalf("VerifyAudit = %v (%+v)", err, reports)
	}
	mustNoErr(t, s.Lock())
	// The admin's checkpoint at Lock must not bless the old copy.
	s = tv.unlock(t, tv.admin)
	cs, err = s.Compartments()
	mustNoErr(t, err)
	if cs[0].Unlocked || cs[0].Problem == "" {
		t.Fatalf("second unlock after rollback: %+v", cs)
	}
	mustNoErr(t, s.Lock())
	r, err := tv.v.Unlock(tv.recovery, nil)
	mustNoErr(t, err)
	defer r.Lock()
	if _, err := r.VerifyAudit(); !errors.As(err, &ae) || ae.Log != cid.String() {
		t.Fatalf("recovery VerifyAudit = %v", err)
	}
}

// H1: the directory file alone put back to an older genuine copy is
// refused at an admin's unlock: a compartment's checkpoint recorded more
// of the directory's log than the file holds.
func TestDirectoryRollbackDetected(t *testing.T) {
	tv, _ := auditVault(t, 1)
	tv.v.Close()
	dir := filepath.Join(tv.dir, DirectoryFile)
	old := filepath.Join(t.TempDir(), "old.valv")
	copyFile(t, dir, old)
	tv.reopen(t)
	for range 2 { // two more admin sessions, each checkpointing the compartment
		s := tv.unlock(t, tv.admin)
		_, err := s.AddCustomer(s.sortedComps()[0], testCustomer("Senare"))
		mustNoErr(t, err)
		mustNoErr(t, s.Lock())
	}
	tv.v.Close()
	copyFile(t, old, dir)
	tv.reopen(t)
	_, err := tv.v.Unlock(tv.admin.identity, tv.admin.signer)
	if !errors.Is(err, ErrRolledBack) || !strings.Contains(err.Error(), "behind") {
		t.Fatalf("admin unlock of a rolled-back directory = %v", err)
	}
	if _, err := tv.v.Unlock(tv.recovery, nil); !errors.Is(err, ErrRolledBack) {
		t.Fatalf("recovery unlock of a rolled-back directory = %v", err)
	}
}

// H1: checkpoints are chained, and the sealed log head names the newest:
// deleting any checkpoint (the newest, or one in the middle) is found by
// verification.
func TestCheckpointDeletionDetected(t *testing.T) {
	for _, which := range []string{"newest", "middle", "oldest"} {
		t.Run(which, func(t *testing.T) {
			tv, cid := auditVault(t, 1)
			for range 2 {
				s := tv.unlock(t, tv.admin)
				_, err := s.AddCustomer(cid, testCustomer("Senare"))
				mustNoErr(t, err)
				mustNoErr(t, s.Lock())
			}
			tv.v.Close()
			edit(t, compartmentPath(tv.dir, cid), func(tx *bolt.Tx) error {
				b := tx.Bucket(bCheckpoints)
				var keys [][]byte
				b.ForEach(func(k, _ []byte) error { keys = append(keys, append([]byte(nil), k...)); return nil })
				if len(keys) != 3 {
					t.Fatalf("%d checkpoints", len(keys))
				}
				i := map[string]int{"newest": 2, "middle": 1, "oldest": 0}[which]
				return b.Delete(keys[i])
			})
			tv.reopen(t)
			_, err := verifyComp(t, tv, cid)
			var ae *AuditError
			if !errors.As(err, &ae) || !strings.Contains(ae.Reason, "checkpoint") {
				t.Fatalf("verify after deleting the %s checkpoint = %v", which, err)
			}
		})
	}
}

// H1: a checkpoint is also kept when the log goes on: a genuine checkpoint
// chain verifies across sessions, revocation (new key, new chain) and
// erasure (the file compacted, checkpoints copied as they are).
func TestCheckpointChainAcrossRevokeAndErase(t *testing.T) {
	tv, cid := auditVault(t, 2)
	s := tv.unlock(t, tv.admin)
	h := newTestHolder(t, "Hanna", RoleHolder)
	hid, err := s.Enrol(h.info)
	mustNoErr(t, err)
	mustNoErr(t, s.Grant(cid, hid))
	mustNoErr(t, s.Lock())
	hs := tv.unlock(t, h)
	code, err := hs.AddCustomer(cid, testCustomer("Hannas kund"))
	mustNoErr(t, err)
	mustNoErr(t, hs.Lock())

	s = tv.unlock(t, tv.admin)
	_, err = s.VerifyAudit()
	mustNoErr(t, err)
	_, err = s.EraseCustomers([]customer.Code{code}, nil)
	mustNoErr(t, err)
	mustNoErr(t, s.Lock())
	s = tv.unlock(t, tv.admin)
	_, err = s.VerifyAudit()
	mustNoErr(t, err)
	mustNoErr(t, s.Revoke(cid, hid, nil))
	_, err = s.VerifyAudit()
	mustNoErr(t, err)
	mustNoErr(t, s.Lock())
	s = tv.unlock(t, tv.admin)
	cs, err := s.Compartments()
	mustNoErr(t, err)
	if !cs[0].Unlocked {
		t.Fatalf("after revoke: %+v", cs)
	}
	reports, err := s.VerifyAudit()
	mustNoErr(t, err)
	for _, r := range reports {
		if len(r.Checkpoints) == 0 {
			t.Errorf("log %s has no checkpoint", r.Log)
		}
	}
}

// writeV1Checkpoint stores a checkpoint as format 2 wrote it (version 1,
// unchained) and a log head that names none.
func writeV1Checkpoint(t *testing.T, tx *bolt.Tx, kr *seal.Keyring, vault ID, log string, holder HolderID, signer crypto.Signer) {
	t.Helper()
	h, err := readHead(tx.Bucket(bMeta), kr)
	mustNoErr(t, err)
	c := Checkpoint{Log: log, Size: h.size, Head: h.link[:], Time: time.Now().UTC(), Holder: holder}
	c.Signature, err = sign(signer, c.Message(vault))
	mustNoErr(t, err)
	p, err := json.Marshal(c)
	mustNoErr(t, err)
	mustNoErr(t, tx.DeleteBucket(bCheckpoints))
	b, err := tx.CreateBucket(bCheckpoints)
	mustNoErr(t, err)
	k := checkpointKey(c.Size, holder)
	mustNoErr(t, b.Put(k, kr.Seal(nil, seal.Audit, slices.Concat([]byte("c"), k), 0, p)))
	h.cp = nil
	mustNoErr(t, putHead(tx.Bucket(bMeta), kr, &h, nil))
}

// Format 2 → 3: files with version 1 checkpoints and a head that names no
// checkpoint are migrated (nothing converted), still verify, and the
// first chained checkpoint follows the old ones.
func TestMigrateFormat2ChainedCheckpoints(t *testing.T) {
	tv, cid := auditVault(t, 1)
	s := tv.unlock(t, tv.admin)
	admin := s.Actor()
	c, db, err := s.comp(cid)
	mustNoErr(t, err)
	mustNoErr(t, db.Update(func(tx *bolt.Tx) error {
		writeV1Checkpoint(t, tx, c.kr, tv.v.id, cid.String(), admin, tv.admin.signer)
		return tx.Bucket(bMeta).Put(kFormat, u32(2))
	}))
	mustNoErr(t, tv.v.db.Update(func(tx *bolt.Tx) error {
		writeV1Checkpoint(t, tx, s.dirKR, tv.v.id, DirectoryLog, admin, tv.admin.signer)
		return tx.Bucket(bMeta).Put(kFormat, u32(2))
	}))
	s.signer = nil // no new checkpoint at Lock
	mustNoErr(t, s.Lock())
	tv.reopen(t)
	var format []byte
	tv.v.db.View(func(tx *bolt.Tx) error { format = get(tx.Bucket(bMeta), kFormat); return nil })
	if string(format) != string(u32(3)) {
		t.Fatalf("directory format after migration = %x", format)
	}
	s = tv.unlock(t, tv.admin)
	_, db, err = s.comp(cid)
	mustNoErr(t, err)
	db.View(func(tx *bolt.Tx) error { format = get(tx.Bucket(bMeta), kFormat); return nil })
	if string(format) != string(u32(3)) {
		t.Fatalf("compartment format after migration = %x", format)
	}
	reports, err := s.VerifyAudit()
	mustNoErr(t, err)
	for _, r := range reports {
		if len(r.Checkpoints) != 1 || r.Checkpoints[0].Version != 0 {
			t.Fatalf("log %s before a new checkpoint: %+v", r.Log, r.Checkpoints)
		}
	}
	mustNoErr(t, s.Lock())
	s = tv.unlock(t, tv.admin)
	reports, err = s.VerifyAudit()
	mustNoErr(t, err)
	for _, r := range reports {
		if len(r.Checkpoints) != 2 || r.Checkpoints[1].Version != 2 || !bytes.Equal(r.Checkpoints[1].Previous, r.Checkpoints[0].hash(tv.v.id)) {
			t.Fatalf("log %s after a new checkpoint: %+v", r.Log, r.Checkpoints)
		}
	}
}
