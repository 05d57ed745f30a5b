package store

import (
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/crypto/compartmentkey"
)

// A deactivated admin kept the directory key they had (a copy of the
// file unwraps with their card). With it they swap a key holder's
// recipient for their own and recompute its tag; the next Grant must not
// wrap a compartment key to them: deactivating an admin rotates the
// directory key.
func TestDeactivatedAdminCannotForgeHolder(t *testing.T) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	cid, err := s.CreateCompartment("A")
	mustNoErr(t, err)
	b := newTestHolder(t, "Berit", RoleAdmin)
	bid, err := s.Enrol(b.info)
	mustNoErr(t, err)
	h := newTestHolder(t, "Hugo", RoleHolder)
	hid, err := s.Enrol(h.info)
	mustNoErr(t, err)
	// Berit's copy of the wrapped directory key, from before.
	var oldWrapped []byte
	tv.v.db.View(func(tx *bolt.Tx) error { oldWrapped = get(tx.Bucket(bMeta), kDirKey); return nil })
	mustNoErr(t, s.Deactivate(staffOf(t, s, bid), nil))
	var newID []byte
	tv.v.db.View(func(tx *bolt.Tx) error { newID = get(tx.Bucket(bMeta), kDirID); return nil })
	if oldID := old0(t, oldWrapped, tv); string(newID) == string(oldID[:]) {
		t.Fatal("deactivating an admin kept the directory key")
	}
	// The rotated directory still reads and verifies.
	if _, err := s.VerifyAudit(); err != nil {
		t.Fatalf("VerifyAudit after the rotation: %v", err)
	}
	mustNoErr(t, s.Lock())
	s2 := tv.unlock(t, tv.admin)
	hs, err := s2.Holders()
	mustNoErr(t, err)
	for _, x := range hs {
		if x.Name == "" {
			t.Fatalf("holder %s has no name after the rotation", x.ID)
		}
	}
	if _, err := s2.Staff(); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.VerifyAudit(); err != nil {
		t.Fatalf("VerifyAudit after the rotation: %v", err)
	}
	mustNoErr(t, s2.Lock())
	r, err := tv.v.Unlock(tv.recovery, nil)
	mustNoErr(t, err)
	mustNoErr(t, r.Lock())

	old, err := compartmentkey.Unwrap(oldWrapped, b.identity)
	mustNoErr(t, err)
	kr, err := old.Keyring()
	mustNoErr(t, err)
	tv.v.Close()
	edit(t, filepath.Join(tv.dir, DirectoryFile), func(tx *bolt.Tx) error {
		hb := tx.Bucket(bHolders)
		v := strings.Replace(string(hb.Get(hid[:])), h.info.Recipient.String(), b.info.Recipient.String(), 1)
		hb.Put(hid[:], []byte(v))
		return putMAC(tx, kr, "holder", hid[:], []byte(v))
	})
	tv.reopen(t)
	s, err = tv.v.Unlock(tv.admin.identity, tv.admin.signer)
	if err != nil {
		return // refused: fine
	}
	defer s.Lock()
	if err := s.Grant(cid, hid); err == nil {
		db, _ := tv.v.compartmentDB(cid)
		var wrapped []byte
		db.View(func(tx *bolt.Tx) error { wrapped = get(tx.Bucket(bMeta), kCompKey); return nil })
		if k, err := compartmentkey.UnwrapFor(cid, wrapped, b.identity); err == nil {
			k.Destroy()
			t.Fatal("the deactivated admin unwrapped a compartment key granted after their deactivation")
		}
	}
}

// old0 returns the id of a wrapped directory key (via the recovery key).
func old0(t *testing.T, wrapped []byte, tv *testVault) [16]byte {
	t.Helper()
	k, err := compartmentkey.Unwrap(wrapped, tv.recovery)
	mustNoErr(t, err)
	defer k.Destroy()
	return k.ID()
}
