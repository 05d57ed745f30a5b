package store

import (
	"errors"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// M2: an intruder swaps the public recipient in a compartment file for
// their own, so that sealed intake and backups are encrypted to them.
// The recipient a session gives is the one the directory anchor vouches
// for, whatever the file says.
func TestSwappedRecipientNotPrinted(t *testing.T) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	cid, err := s.CreateCompartment("A")
	mustNoErr(t, err)
	want, err := s.CompartmentRecipient(cid)
	mustNoErr(t, err)
	mustNoErr(t, s.Lock())

	tv.v.Close()
	edit(t, compartmentPath(tv.dir, cid), func(tx *bolt.Tx) error {
		other, _ := compartmentKeyWithID(cid)
		return tx.Bucket(bMeta).Put(kCompRecipient, []byte(other.Recipient().String()))
	})
	tv.reopen(t)
	if r, _ := tv.v.CompartmentRecipient(cid.String()); r == want {
		t.Fatal("the file's recipient was not swapped")
	}
	s = tv.unlock(t, tv.admin)
	got, err := s.CompartmentRecipient(cid)
	if err == nil && got != want {
		t.Fatalf("the session gives the swapped recipient %s, want %s", got, want)
	}
	mustNoErr(t, err)

	// A key holder who is not an admin checks no anchor: refused.
	h := newTestHolder(t, "Hugo", RoleHolder)
	_, err = s.Enrol(h.info)
	mustNoErr(t, err)
	mustNoErr(t, s.Lock())
	hs := tv.unlock(t, h)
	if _, err := hs.CompartmentRecipient(cid); !errors.Is(err, ErrNotAdmin) {
		t.Fatalf("a key holder's CompartmentRecipient = %v", err)
	}
}
