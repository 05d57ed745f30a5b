package store

import (
	"errors"
	"slices"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/store/customer"
)

// M1: an older sealed version of a customer copied back over the current
// record opens (same record id, its own version in the associated data).
// A read refuses a current version that the history has already passed,
// and verification compares every record with the version its log
// recorded last (add: 1, edit: the new version), which also catches a
// rollback whose history was rolled back (deleted) with it.
func TestCustomerRollbackDetected(t *testing.T) {
	for _, variant := range []string{"history-copied", "history-deleted"} {
		t.Run(variant, func(t *testing.T) {
			tv := newTestVault(t)
			s := tv.unlock(t, tv.admin)
			cid, err := s.CreateCompartment("A")
			mustNoErr(t, err)
			code, err := s.AddCustomer(cid, testCustomer("Åsa Öberg"))
			mustNoErr(t, err)
			_, err = s.EditCustomer(code, func(c *customer.Customer) error { c.Notes = "sanktionerad"; return nil })
			mustNoErr(t, err)
			_, rid, err := s.locate(code)
			mustNoErr(t, err)
			mustNoErr(t, s.Lock())

			tv.v.Close()
			edit(t, compartmentPath(tv.dir, cid), func(tx *bolt.Tx) error {
				hk := slices.Concat(rid, u64(1))
				old := get(tx.Bucket(bHistory), hk)
				if old == nil {
					t.Fatal("no version 1 in the history")
				}
				if variant == "history-deleted" {
					if err := tx.Bucket(bHistory).Delete(hk); err != nil {
						return err
					}
				}
				return tx.Bucket(bCustomers).Put(rid, slices.Concat(u64(1), old))
			})
			tv.reopen(t)
			s = tv.unlock(t, tv.admin)
			rec, err := s.ViewCustomer(code)
			if variant == "history-copied" {
				if err == nil || !strings.Contains(err.Error(), "older") {
					t.Fatalf("view of a rolled-back record = %+v, %v", rec, err)
				}
			}
			_, err = s.VerifyAudit()
			var ae *AuditError
			if !errors.As(err, &ae) || ae.Log != cid.String() || !strings.Contains(ae.Reason, string(code)) || !strings.Contains(ae.Reason, "version 1") {
				t.Fatalf("VerifyAudit after a record rollback = %v", err)
			}
		})
	}
}

// Erasure undone: a deleted customer's record put back is found by
// verification (the log says it was deleted).
func TestDeletedCustomerRestoredDetected(t *testing.T) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	cid, err := s.CreateCompartment("A")
	mustNoErr(t, err)
	code, err := s.AddCustomer(cid, testCustomer("Åsa Öberg"))
	mustNoErr(t, err)
	_, rid, err := s.locate(code)
	mustNoErr(t, err)
	mustNoErr(t, s.Lock())
	tv.v.Close()
	saved := map[string][]byte{}
	codeTag := []byte(nil)
	edit(t, compartmentPath(tv.dir, cid), func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bCustomers, bIndex, bSearch} {
			saved[string(b)] = get(tx.Bucket(b), rid)
		}
		tx.Bucket(bCodes).ForEach(func(k, v []byte) error {
			if string(v) == string(rid) {
				codeTag = append([]byte(nil), k...)
			}
			return nil
		})
		return nil
	})
	tv.reopen(t)
	s = tv.unlock(t, tv.admin)
	mustNoErr(t, s.DeleteCustomer(code))
	mustNoErr(t, s.Lock())
	tv.v.Close()
	edit(t, compartmentPath(tv.dir, cid), func(tx *bolt.Tx) error {
		for b, v := range saved {
			if err := tx.Bucket([]byte(b)).Put(rid, v); err != nil {
				return err
			}
		}
		return tx.Bucket(bCodes).Put(codeTag, rid)
	})
	tv.reopen(t)
	s = tv.unlock(t, tv.admin)
	_, err = s.VerifyAudit()
	var ae *AuditError
	if !errors.As(err, &ae) || !strings.Contains(ae.Reason, string(code)) || !strings.Contains(ae.Reason, "deleted") {
		t.Fatalf("VerifyAudit after a deleted record was put back = %v", err)
	}
}
