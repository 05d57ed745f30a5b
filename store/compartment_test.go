package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/crypto/compartmentkey"
	"github.com/valv-vault/valv/crypto/seal"
	"github.com/valv-vault/valv/store/customer"
)

func TestGrantAndRevoke(t *testing.T) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	cid, err := s.CreateCompartment("Företag")
	mustNoErr(t, err)
	h := newTestHolder(t, "Hanna", RoleHolder)
	hid, err := s.Enrol(h.info)
	mustNoErr(t, err)
	k := newTestHolder(t, "Karl", RoleHolder)
	kid, err := s.Enrol(k.info)
	mustNoErr(t, err)
	mustNoErr(t, s.Grant(cid, hid))
	mustNoErr(t, s.Grant(cid, kid))
	if err := s.Grant(cid, hid); err == nil {
		t.Error("granted twice")
	}
	mustNoErr(t, s.Lock())

	// Hanna adds and edits customers.
	hs := tv.unlock(t, h)
	var codes []customer.Code
	for i := range 5 {
		c, err := hs.AddCustomer(cid, testCustomer(fmt.Sprintf("Kund %d", i)))
		mustNoErr(t, err)
		codes = append(codes, c)
	}
	_, err = hs.EditCustomer(codes[0], func(c *customer.Customer) error { c.Notes = "ändrad"; return nil })
	mustNoErr(t, err)
	old := hs.comps[cid]
	oldKey := old.key
	oldKR, err := oldKey.Keyring()
	mustNoErr(t, err)
	oldWrapped := wrappedKey(t, tv, cid)
	mustNoErr(t, hs.Lock())

	// The admin revokes Hanna.
	s = tv.unlock(t, tv.admin)
	before, err := s.VerifyAudit()
	mustNoErr(t, err)
	var calls, last, total int
	mustNoErr(t, s.Revoke(cid, hid, func(done, tot int) { calls++; last, total = done, tot }))
	if calls == 0 || last != total || total == 0 {
		t.Errorf("progress: %d calls, last %d of %d", calls, last, total)
	}
	if err := s.Revoke(cid, hid, nil); err == nil {
		t.Error("revoked twice")
	}
	grants, err := s.Grants(cid)
	mustNoErr(t, err)
	if len(grants) != 2 { // the admin and Karl
		t.Errorf("grants after revoke: %v", grants)
	}
	// The data is all there, history included, under the new key.
	r, err := s.RevealCustomer(codes[0])
	mustNoErr(t, err)
	if r.Customer.Notes != "ändrad" || r.Version != 2 {
		t.Fatalf("after rotation: %+v", r)
	}
	hist, err := s.CustomerHistory(codes[0], true)
	mustNoErr(t, err)
	if len(hist) != 2 || hist[1].Customer.Notes != "anteckning" {
		t.Fatalf("history after rotation: %+v", hist)
	}
	after, err := s.VerifyAudit()
	mustNoErr(t, err)
	for i := range after {
		if after[i].Log == cid.String() && after[i].Entries < before[i].Entries+3 {
			t.Errorf("audit log after rotation has %d entries, before %d", after[i].Entries, before[i].Entries)
		}
	}
	mustNoErr(t, s.Lock())

	// Hanna opens nothing any more; Karl still does.
	hs = tv.unlock(t, h)
	if cs, _ := hs.Compartments(); len(cs) != 0 {
		t.Fatalf("revoked holder still sees %+v", cs)
	}
	if _, err := hs.RevealCustomer(codes[1]); !errors.Is(err, ErrNoCustomer) {
		t.Errorf("revoked holder reads a customer: %v", err)
	}
	mustNoErr(t, hs.Lock())
	ks := tv.unlock(t, k)
	if _, err := ks.RevealCustomer(codes[1]); err != nil {
		t.Errorf("remaining holder: %v", err)
	}
	mustNoErr(t, ks.Lock())

	// Her old wrapped key (which she may have kept) still unwraps to the
	// old key, but that key opens nothing in the new file.
	if _, err := compartmentkey.UnwrapFor(cid, oldWrapped, h.identity); err != nil {
		t.Fatalf("old wrapped key: %v", err)
	}
	if _, err := compartmentkey.UnwrapFor(cid, wrappedKey(t, tv, cid), h.identity); !errors.Is(err, compartmentkey.ErrNotGranted) {
		t.Fatalf("new wrapped key opens for the revoked holder: %v", err)
	}
	opened := 0
	db, err := tv.v.compartmentDB(cid)
	mustNoErr(t, err)
	db.View(func(tx *bolt.Tx) error {
		tx.Bucket(bCustomers).ForEach(func(k, v []byte) error {
			if _, err := oldKR.Open(nil, seal.Record, k, binary.BigEndian.Uint64(v), v[8:]); err == nil {
				opened++
			}
			return nil
		})
		tx.Bucket(bHistory).ForEach(func(k, v []byte) error {
			if _, err := oldKR.Open(nil, seal.Record, k[:16], binary.BigEndian.Uint64(k[16:]), v); err == nil {
				opened++
			}
			return nil
		})
		tx.Bucket(bIndex).ForEach(func(k, v []byte) error {
			if _, err := oldKR.Open(nil, seal.Index, k, 0, v); err == nil {
				opened++
			}
			return nil
		})
		tx.Bucket(bAudit).ForEach(func(k, v []byte) error {
			if _, err := oldKR.Open(nil, seal.Audit, entryRecordID(binary.BigEndian.Uint64(k)), 0, v[32:]); err == nil {
				opened++
			}
			return nil
		})
		for _, c := range codes {
			if tx.Bucket(bCodes).Get(oldKR.LookupTag(nil, "code", []byte(c))) != nil {
				opened++
			}
		}
		if _, err := openName(oldKR, cid, tx.Bucket(bMeta).Get(kCompName)); err == nil {
			opened++
		}
		return nil
	})
	if opened != 0 {
		t.Errorf("the old key opens %d values of the rotated compartment", opened)
	}
	if bytes.Contains(readFile(t, compartmentPath(tv.dir, cid)), []byte(oldKey.Recipient().String())) {
		t.Error("the old recipient is still in the file")
	}
}

func wrappedKey(t *testing.T, tv *testVault, cid CompartmentID) []byte {
	t.Helper()
	db, err := tv.v.compartmentDB(cid)
	mustNoErr(t, err)
	var w []byte
	db.View(func(tx *bolt.Tx) error { w = get(tx.Bucket(bMeta), kCompKey); return nil })
	return w
}

// A record altered in the file cannot be re-encrypted; revocation still
// goes through, leaves it behind and says so in the log.
func TestRevokeWithDamagedRecord(t *testing.T) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	cid, err := s.CreateCompartment("A")
	mustNoErr(t, err)
	h := newTestHolder(t, "Hanna", RoleHolder)
	hid, err := s.Enrol(h.info)
	mustNoErr(t, err)
	mustNoErr(t, s.Grant(cid, hid))
	good, err := s.AddCustomer(cid, testCustomer("Hel"))
	mustNoErr(t, err)
	bad, err := s.AddCustomer(cid, testCustomer("Trasig"))
	mustNoErr(t, err)
	_, rid, err := s.locate(bad)
	mustNoErr(t, err)
	mustNoErr(t, s.Lock())
	tv.v.Close()
	edit(t, compartmentPath(tv.dir, cid), func(tx *bolt.Tx) error {
		v := get(tx.Bucket(bCustomers), rid)
		v[len(v)-1] ^= 1
		return tx.Bucket(bCustomers).Put(rid, v)
	})
	tv.reopen(t)
	s = tv.unlock(t, tv.admin)
	mustNoErr(t, s.Revoke(cid, hid, nil))
	if _, err := s.RevealCustomer(good); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevealCustomer(bad); !errors.Is(err, ErrNoCustomer) {
		t.Fatalf("damaged record after rotation: %v", err)
	}
	var dropped int64
	mustNoErr(t, s.ExportAudit(func(e ExportedEntry) error {
		if e.Action == ActionRotateDropped {
			dropped = e.Count
		}
		return nil
	}))
	if dropped != 1 {
		t.Fatalf("rotate-dropped count %d", dropped)
	}
	if _, total, _ := s.ListCustomers(cid, 0, 0); total != 1 {
		t.Fatalf("%d customers listed", total)
	}
}

// A swapped public recipient (what sealed intake and pending audit
// entries encrypt to) is caught at unlock.
func TestSwappedRecipientsDetected(t *testing.T) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	cid, err := s.CreateCompartment("Norr")
	mustNoErr(t, err)
	mustNoErr(t, s.Lock())
	attacker, err := age.GenerateX25519Identity()
	mustNoErr(t, err)

	tv.v.Close()
	edit(t, compartmentPath(tv.dir, cid), func(tx *bolt.Tx) error {
		return tx.Bucket(bMeta).Put(kCompRecipient, []byte(attacker.Recipient().String()))
	})
	tv.reopen(t)
	s = tv.unlock(t, tv.admin)
	cs, err := s.Compartments()
	mustNoErr(t, err)
	if len(cs) != 1 || cs[0].Unlocked || !strings.Contains(cs[0].Problem, "recipient") {
		t.Fatalf("a swapped compartment recipient went unnoticed: %+v", cs)
	}
	mustNoErr(t, s.Lock())

	tv.v.Close()
	edit(t, filepath.Join(tv.dir, DirectoryFile), func(tx *bolt.Tx) error {
		return tx.Bucket(bMeta).Put(kDirRecipient, []byte(attacker.Recipient().String()))
	})
	tv.reopen(t)
	if _, err := tv.v.Unlock(tv.admin.identity, tv.admin.signer); err == nil || !strings.Contains(err.Error(), "recipient") {
		t.Fatalf("a swapped directory recipient went unnoticed: %v", err)
	}
}
