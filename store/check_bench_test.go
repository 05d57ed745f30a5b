package store

import (
	"testing"

	bolt "go.etcd.io/bbolt"
)

// BenchmarkCheck100k measures bbolt's structural check (Tx.Check: every
// page reachable once, freelist consistent, keys ordered) of a compartment
// file with 100 000 customers, to decide whether Open can afford it on
// files this process did not write (docs/security-review-2026-11.md, M3).
// The file is in the page cache, as it is right after a restore.
func BenchmarkCheck100k(b *testing.B) {
	tv := newTestVault(b)
	s := tv.unlock(b, tv.admin)
	cid, err := s.CreateCompartment("A")
	mustNoErr(b, err)
	_, err = s.AddCustomers(cid, benchCustomers(benchN))
	mustNoErr(b, err)
	mustNoErr(b, s.Lock())
	db, err := tv.v.compartmentDB(cid)
	mustNoErr(b, err)
	var size int64
	db.View(func(tx *bolt.Tx) error { size = tx.Size(); return nil })
	for b.Loop() {
		db.View(func(tx *bolt.Tx) error {
			if ae := checkPages(tx, "bench"); ae != nil {
				b.Fatal(ae)
			}
			return nil
		})
	}
	b.ReportMetric(float64(size)/(1<<20), "MiB")
}
