package store

import (
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	bolt "go.etcd.io/bbolt"
)

// dirActions returns the directory log's actions with their holders.
func dirActions(t *testing.T, s *Session) []string {
	t.Helper()
	var out []string
	mustNoErr(t, s.ExportAudit(func(e ExportedEntry) error {
		if e.Log == DirectoryLog {
			out = append(out, string(e.Action)+":"+e.Holder.Short())
		}
		return nil
	}))
	return out
}

// H2: anyone can encrypt to the directory's public recipient. A pending
// unlock entry is signed by the key holder's card (slot 9C) when the
// session has it, and verified when chained: an unsigned one (forged, or
// from a session without its signer) is logged as unlock-unsigned, one
// with a bad signature and a genuine one copied back after it was chained
// (older than the log's last entry) as pending-damaged. A failed PIN
// names the card it was tried on, which must be the holder's.
func TestForgedPendingUnlockRejected(t *testing.T) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	admin := s.Actor()
	h := newTestHolder(t, "Hanna", RoleHolder)
	hid, err := s.Enrol(h.info)
	mustNoErr(t, err)
	mustNoErr(t, s.Lock())

	// A genuine, signed unlock by Hanna, kept to be replayed.
	hs := tv.unlock(t, h)
	mustNoErr(t, hs.Lock())
	var genuine [][2][]byte
	tv.v.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bPending).ForEach(func(k, v []byte) error {
			genuine = append(genuine, [2][]byte{append([]byte(nil), k...), append([]byte(nil), v...)})
			return nil
		})
	})
	if len(genuine) != 1 {
		t.Fatalf("%d pending entries", len(genuine))
	}
	s = tv.unlock(t, tv.admin)
	before := dirActions(t, s)
	if got := before[len(before)-2]; got != "unlock:"+hid.Short() {
		t.Fatalf("the signed unlock was chained as %s", got)
	}
	mustNoErr(t, s.Lock())

	now := time.Now()
	mustNoErr(t, tv.v.db.Update(func(tx *bolt.Tx) error {
		forged := []pendingRecord{
			{Entry: Entry{Time: now, Holder: hid, Action: ActionUnlock}},                                         // unsigned
			{Entry: Entry{Time: now, Holder: hid, Action: ActionUnlock}, Signature: []byte("not a signature")},   // bad signature
			{Entry: Entry{Time: now, Holder: hid, Action: ActionPINFailed, Count: 1}, Serial: h.info.Serial + 7}, // another card
		}
		for _, p := range forged {
			if err := putPendingRecord(tx, tv.v.dirRecipient, &p); err != nil {
				return err
			}
		}
		// The genuine entry, replayed.
		return tx.Bucket(bPending).Put(genuine[0][0], genuine[0][1])
	}))
	s = tv.unlock(t, tv.admin)
	after := dirActions(t, s)
	var got []string // what the last unlock chained
	for _, a := range after[len(before):] {
		if !strings.HasPrefix(a, string(ActionAuditExport)) && a != "unlock:"+admin.Short() {
			got = append(got, a)
		}
	}
	joined := strings.Join(got, " ")
	want := map[string]int{"unlock-unsigned:" + hid.Short(): 1, string(ActionPendingDamaged) + ":" + (HolderID{}).Short(): 3}
	for w, n := range want {
		if c := strings.Count(joined, w); c != n {
			t.Errorf("%q appears %d times in %s; want %d", w, c, joined, n)
		}
	}
	if strings.Count(joined, "unlock:"+hid.Short()) != 0 || strings.Contains(joined, "pin-failed") {
		t.Fatalf("a forged or replayed entry was chained as genuine: %s", joined)
	}
}

// putPendingRecord stores a pending record as an intruder would.
func putPendingRecord(tx *bolt.Tx, to *age.X25519Recipient, r *pendingRecord) error {
	id := newID()
	return putPending(tx, to, id[:], r)
}
