package store

import (
	"bytes"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/store/customer"
)

// TestSearchMovedEntryRefused (review round 2, found sound): someone who
// edits the file swaps two customers' sealed search entries, or puts an
// entry of an older version back (so that a search by a former name
// still finds a customer, or finds the wrong one). Each entry is sealed
// to its record id and the record's version, so the search refuses the
// file instead of answering.
func TestSearchMovedEntryRefused(t *testing.T) {
	for name, alter := range map[string]func(t *testing.T, tv *testVault, s *Session, cid CompartmentID, codes []customer.Code) func(*bolt.Tx) error{
		"swapped": func(t *testing.T, tv *testVault, s *Session, cid CompartmentID, codes []customer.Code) func(*bolt.Tx) error {
			return func(tx *bolt.Tx) error {
				b := tx.Bucket(bSearch)
				c := b.Cursor()
				k1, v1 := c.First()
				k2, v2 := c.Next()
				k1, v1, k2, v2 = bytes.Clone(k1), bytes.Clone(v1), bytes.Clone(k2), bytes.Clone(v2)
				if err := b.Put(k1, v2); err != nil {
					return err
				}
				return b.Put(k2, v1)
			}
		},
		"older version": func(t *testing.T, tv *testVault, s *Session, cid CompartmentID, codes []customer.Code) func(*bolt.Tx) error {
			db, err := tv.v.compartmentDB(cid)
			mustNoErr(t, err)
			var k, old []byte
			db.View(func(tx *bolt.Tx) error {
				k, old = tx.Bucket(bSearch).Cursor().First()
				k, old = bytes.Clone(k), bytes.Clone(old)
				return nil
			})
			_, err = s.EditCustomer(codes[0], func(c *customer.Customer) error { c.Name = "Nytt Namn"; return nil })
			mustNoErr(t, err)
			_, err = s.EditCustomer(codes[1], func(c *customer.Customer) error { c.Name = "Annat Namn"; return nil })
			mustNoErr(t, err)
			return func(tx *bolt.Tx) error { return tx.Bucket(bSearch).Put(k, old) }
		},
	} {
		t.Run(name, func(t *testing.T) {
			tv := newTestVault(t)
			s := tv.unlock(t, tv.admin)
			cid, err := s.CreateCompartment("A")
			mustNoErr(t, err)
			codes, err := s.AddCustomers(cid, []customer.Customer{{Name: "Ett Ettsson"}, {Name: "Två Tvåsson"}})
			mustNoErr(t, err)
			fn := alter(t, tv, s, cid, codes)
			mustNoErr(t, s.Lock())
			tv.v.Close()
			edit(t, compartmentPath(tv.dir, cid), fn)
			tv.reopen(t)
			s = tv.unlock(t, tv.admin)
			if hits, err := s.SearchCustomers("ett", 0); err == nil || !strings.Contains(err.Error(), "altered") {
				t.Fatalf("search of a file with a moved entry: %v %v", hits, err)
			}
		})
	}
}
