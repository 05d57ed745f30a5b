package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/crypto/seal"
	"github.com/valv-vault/valv/store/customer"
)

// auditVault makes a vault with one compartment and a log of n+ entries
// in it, locked (so a checkpoint is signed), and returns the compartment.
func auditVault(t *testing.T, n int) (*testVault, CompartmentID) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	cid, err := s.CreateCompartment("A")
	mustNoErr(t, err)
	for range n {
		_, err := s.AddCustomer(cid, testCustomer("Kund"))
		mustNoErr(t, err)
	}
	mustNoErr(t, s.Lock())
	return tv, cid
}

func verifyComp(t *testing.T, tv *testVault, cid CompartmentID) (LogReport, error) {
	t.Helper()
	s, err := tv.v.Unlock(tv.recovery, nil) // no signer: no new checkpoints
	mustNoErr(t, err)
	defer s.Lock()
	reports, err := s.VerifyAudit()
	for _, r := range reports {
		if r.Log == cid.String() {
			return r, err
		}
	}
	t.Fatal("no report for the compartment")
	return LogReport{}, nil
}

func TestAuditVerifiesWithCheckpoints(t *testing.T) {
	tv, cid := auditVault(t, 3)
	r, err := verifyComp(t, tv, cid)
	mustNoErr(t, err)
	// create, 3 adds; then the recovery unlock.
	if r.Entries != 5 || len(r.Checkpoints) != 1 || r.Checkpoints[0].Size != 4 || r.Checkpoints[0].Holder == Recovery {
		t.Fatalf("report %+v", r)
	}
	// Unlock by the admin again, and lock: a second checkpoint.
	s := tv.unlock(t, tv.admin)
	reports, err := s.VerifyAudit()
	mustNoErr(t, err)
	if len(reports) != 2 || reports[0].Log != DirectoryLog {
		t.Fatalf("reports %+v", reports)
	}
	mustNoErr(t, s.Lock())
	r, err = verifyComp(t, tv, cid)
	mustNoErr(t, err)
	if len(r.Checkpoints) != 2 {
		t.Fatalf("checkpoints %+v", r.Checkpoints)
	}
}

// tamper edits the compartment's audit bucket with the vault closed, then
// verifies and returns the error.
func tamper(t *testing.T, tv *testVault, cid CompartmentID, fn func(b *bolt.Bucket, meta *bolt.Bucket)) *AuditError {
	t.Helper()
	tv.v.Close()
	edit(t, compartmentPath(tv.dir, cid), func(tx *bolt.Tx) error {
		fn(tx.Bucket(bAudit), tx.Bucket(bMeta))
		return nil
	})
	tv.reopen(t)
	_, err := verifyComp(t, tv, cid)
	var ae *AuditError
	if !errors.As(err, &ae) {
		t.Fatalf("verify after tampering = %v; want an AuditError", err)
	}
	if ae.Log != cid.String() {
		t.Errorf("error names log %s", ae.Log)
	}
	return ae
}

func TestAuditTamperFlipByte(t *testing.T) {
	for _, where := range []string{"entry", "link"} {
		t.Run(where, func(t *testing.T) {
			tv, cid := auditVault(t, 3)
			ae := tamper(t, tv, cid, func(b, _ *bolt.Bucket) {
				v := get(b, u64(2))
				if where == "entry" {
					v[len(v)-5] ^= 1
				} else {
					v[3] ^= 0x80
				}
				b.Put(u64(2), v)
			})
			if ae.Seq != 2 || !strings.Contains(ae.Reason, "altered") {
				t.Fatalf("got %v", ae)
			}
		})
	}
}

func TestAuditTamperDelete(t *testing.T) {
	tv, cid := auditVault(t, 3)
	ae := tamper(t, tv, cid, func(b, _ *bolt.Bucket) { b.Delete(u64(1)) })
	if ae.Seq != 1 || !strings.Contains(ae.Reason, "missing") {
		t.Fatalf("got %v", ae)
	}
}

func TestAuditTamperTruncate(t *testing.T) {
	tv, cid := auditVault(t, 3)
	ae := tamper(t, tv, cid, func(b, _ *bolt.Bucket) {
		b.Delete(u64(3))
		b.Delete(u64(2))
	})
	// (The unlock that verifies appends an entry after the gap.)
	if ae.Seq != 2 || !strings.Contains(ae.Reason, "missing") {
		t.Fatalf("got %v", ae)
	}
}

// Truncating and putting back an older (valid) head is caught by a later
// signed checkpoint.
func TestAuditTamperRollback(t *testing.T) {
	tv, cid := auditVault(t, 1)
	tv.v.Close()
	var oldHead []byte
	var oldSize int
	edit(t, compartmentPath(tv.dir, cid), func(tx *bolt.Tx) error {
		oldHead = get(tx.Bucket(bMeta), kAuditHead)
		oldSize = tx.Bucket(bAudit).Stats().KeyN
		return nil
	})
	tv.reopen(t)
	s := tv.unlock(t, tv.admin)
	_, err := s.AddCustomer(cid, testCustomer("Gömd"))
	mustNoErr(t, err)
	mustNoErr(t, s.Lock()) // signs a checkpoint over the new entries
	ae := tamper(t, tv, cid, func(b, meta *bolt.Bucket) {
		for i := oldSize; i < oldSize+10; i++ {
			b.Delete(u64(uint64(i)))
		}
		meta.Put(kAuditHead, oldHead)
	})
	if ae.Seq != uint64(oldSize) || !strings.Contains(ae.Reason, "checkpoint") {
		t.Fatalf("got %v", ae)
	}
}

// A byte flipped in the file itself (not through bbolt) is found too.
func TestAuditTamperRawFile(t *testing.T) {
	tv, cid := auditVault(t, 3)
	tv.v.Close()
	var entry []byte
	edit(t, compartmentPath(tv.dir, cid), func(tx *bolt.Tx) error {
		entry = get(tx.Bucket(bAudit), u64(1))
		return nil
	})
	path := compartmentPath(tv.dir, cid)
	raw := readFile(t, path)
	// Older copies of the page may be in free pages: flip every copy.
	n := 0
	for i := bytes.Index(raw, entry); i >= 0; i = bytes.Index(raw, entry) {
		raw[i+len(entry)-20] ^= 0x01
		n++
	}
	if n == 0 {
		t.Fatal("entry not found in the file")
	}
	mustNoErr(t, os.WriteFile(path, raw, 0o600))
	tv.reopen(t)
	_, err := verifyComp(t, tv, cid)
	var ae *AuditError
	if !errors.As(err, &ae) || ae.Seq != 1 {
		t.Fatalf("verify = %v; want entry 1", err)
	}
}

// A sealed entry moved to another position does not verify.
func TestAuditTamperMoveEntry(t *testing.T) {
	tv, cid := auditVault(t, 3)
	ae := tamper(t, tv, cid, func(b, _ *bolt.Bucket) {
		e1, e2 := get(b, u64(1)), get(b, u64(2))
		b.Put(u64(1), e2)
		b.Put(u64(2), e1)
	})
	if ae.Seq != 1 {
		t.Fatalf("got %v", ae)
	}
}

func TestAuditForgedCheckpoint(t *testing.T) {
	tv, cid := auditVault(t, 1)
	// Re-sign the compartment's checkpoint with a stranger's key under the
	// admin's name: the signature does not verify.
	stranger := newTestHolder(t, "Mallory", RoleHolder)
	s := tv.unlock(t, tv.admin)
	c, db, err := s.comp(cid)
	mustNoErr(t, err)
	mustNoErr(t, db.Update(func(tx *bolt.Tx) error {
		return writeCheckpoint(tx, c.kr, tv.v.id, cid.String(), tv.admin.info.idFor(t, tv), stranger.signer, tv.v.now(), nil)
	}))
	s.signer = nil
	mustNoErr(t, s.Lock())
	_, err = verifyComp(t, tv, cid)
	var ae *AuditError
	if !errors.As(err, &ae) || !strings.Contains(ae.Reason, "signature") {
		t.Fatalf("verify = %v", err)
	}
}

// idFor finds the holder id of an enrolled holder.
func (h HolderInfo) idFor(t *testing.T, tv *testVault) HolderID {
	hs, err := tv.v.Holders()
	mustNoErr(t, err)
	for _, x := range hs {
		if x.Recipient == h.Recipient.String() {
			return x.ID
		}
	}
	t.Fatal("holder not enrolled")
	return HolderID{}
}

func TestPendingEntries(t *testing.T) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	cid, err := s.CreateCompartment("A")
	mustNoErr(t, err)
	h := newTestHolder(t, "Hanna", RoleHolder)
	hid, err := s.Enrol(h.info)
	mustNoErr(t, err)
	mustNoErr(t, s.Grant(cid, hid))
	mustNoErr(t, s.Lock())

	mustNoErr(t, tv.v.ReportFailedPIN(h.info.Serial, 2))
	if err := tv.v.ReportFailedPIN(424242, 2); err == nil {
		t.Error("ReportFailedPIN for an unknown card succeeded")
	}
	hs := tv.unlock(t, h) // a pending unlock entry in the directory
	mustNoErr(t, hs.Lock())

	s = tv.unlock(t, tv.admin)
	var dir []ExportedEntry
	mustNoErr(t, s.ExportAudit(func(e ExportedEntry) error {
		if e.Log == DirectoryLog {
			dir = append(dir, e)
		}
		return nil
	}))
	var got []string
	for _, e := range dir {
		got = append(got, string(e.Action)+":"+e.Holder.Short())
	}
	want := []string{"pin-failed:" + hid.Short(), "unlock:" + hid.Short(), "unlock:" + s.Actor().Short()}
	if g := strings.Join(got[len(got)-3:], " "); g != strings.Join(want, " ") {
		t.Fatalf("directory log ends %s; want %s", g, strings.Join(want, " "))
	}
	if dir[len(dir)-3].Count != 2 {
		t.Errorf("retries left = %d", dir[len(dir)-3].Count)
	}
	mustNoErr(t, s.v.db.View(func(tx *bolt.Tx) error {
		if n := tx.Bucket(bPending).Stats().KeyN; n != 0 {
			t.Errorf("%d pending entries left", n)
		}
		return nil
	}))
}

func TestAuditObjectGuard(t *testing.T) {
	for _, bad := range []string{"Åsa Öberg", "19811228-9874", "recovery", "4111111111111111"} {
		if checkObject(bad) == nil {
			t.Errorf("checkObject(%q) accepted", bad)
		}
	}
	kr, err := seal.NewKeyring(make([]byte, 32), [16]byte{1})
	mustNoErr(t, err)
	tv := newTestVault(t)
	tv.v.Close()
	edit(t, filepath.Join(tv.dir, DirectoryFile), func(tx *bolt.Tx) error {
		// Under a key that is not the directory's, the head does not open.
		if err := appendEntries(tx, kr, Entry{Action: ActionView, Object: "Åsa"}); err == nil {
			t.Error("appendEntries accepted a name as object")
		}
		return nil
	})
}

// Anyone can encrypt to the directory's public recipient: a forged pending
// entry claiming an admin deleted a customer must not enter the log as
// such, nor with a time in the future.
func TestForgedPendingEntryRejected(t *testing.T) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	admin := s.Actor()
	mustNoErr(t, s.Lock())

	future := time.Now().Add(48 * time.Hour)
	mustNoErr(t, tv.v.db.Update(func(tx *bolt.Tx) error {
		if err := addPending(tx, tv.v, Entry{Time: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), Holder: admin, Action: ActionDelete, Object: newID().String()}, 0, nil); err != nil {
			return err
		}
		return addPending(tx, tv.v, Entry{Time: future, Holder: admin, Action: ActionUnlock}, 0, nil)
	}))

	s = tv.unlock(t, tv.admin)
	var actions []string
	mustNoErr(t, s.ExportAudit(func(e ExportedEntry) error {
		if e.Log == DirectoryLog {
			actions = append(actions, string(e.Action))
			if e.Time.After(time.Now().Add(time.Minute)) {
				t.Errorf("entry %d (%s) is dated in the future: %v", e.Seq, e.Action, e.Time)
			}
		}
		return nil
	}))
	joined := strings.Join(actions, " ")
	if strings.Contains(joined, string(ActionDelete)) {
		t.Fatalf("a forged delete entered the log: %s", joined)
	}
	if !strings.Contains(joined, string(ActionPendingDamaged)) {
		t.Fatalf("the forged entry left no trace: %s", joined)
	}
}

// An insider who deletes a compartment's whole log (entries, checkpoints
// and head) must not get a log that verifies, even after the next unlock
// starts a new one.
func TestAuditEmptiedLogDetected(t *testing.T) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	cid, err := s.CreateCompartment("Norr")
	mustNoErr(t, err)
	_, err = s.AddCustomer(cid, customer.Customer{Name: "Åsa Öberg"})
	mustNoErr(t, err)
	mustNoErr(t, s.Lock())

	tv.v.Close()
	edit(t, compartmentPath(tv.dir, cid), func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bAudit, bCheckpoints} {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
			if _, err := tx.CreateBucket(b); err != nil {
				return err
			}
		}
		return tx.Bucket(bMeta).Delete(kAuditHead)
	})
	tv.reopen(t)
	s = tv.unlock(t, tv.admin)
	reports, err := s.VerifyAudit()
	if err == nil {
		t.Fatal("an emptied compartment log verified")
	}
	found := false
	for _, r := range reports {
		if r.Log == cid.String() && r.Err != nil && r.Err.Seq == 0 {
			found = true
		}
	}
	if !found {
		t.Fatalf("verify did not name entry 0 of the emptied log: %v", err)
	}
}

// A panic inside bbolt while reading a damaged file becomes a report that
// names the log, not a crash.
func TestVerifyLogSafelyTurnsPanicIntoReport(t *testing.T) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	var r LogReport
	mustNoErr(t, tv.v.db.View(func(tx *bolt.Tx) error {
		// A keyring of nil makes verifyLog dereference nil: a stand-in
		// for bbolt's own panics on damaged pages.
		r = verifyLogSafely(tx, DirectoryLog, nil, tv.v.id, s.signingKey)
		return nil
	}))
	if r.Err == nil || !strings.Contains(r.Err.Reason, "damaged") {
		t.Fatalf("report = %+v", r)
	}
}
