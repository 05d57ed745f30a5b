package store

import (
	"testing"
	"time"
)

// retentionFixture is a compartment of 100 000 customers, one in ten of
// them past its retention date on 2026-06-01.
func retentionFixture(b *testing.B) (*testVault, *Session, CompartmentID) {
	tv := newTestVault(b)
	s := tv.unlock(b, tv.admin)
	cid, err := s.CreateCompartment("A")
	mustNoErr(b, err)
	cs := benchCustomers(benchN)
	for i := range cs {
		if i%10 == 0 {
			cs[i].RetainUntil = "2020-01-31"
		}
	}
	_, err = s.AddCustomers(cid, cs)
	mustNoErr(b, err)
	return tv, s, cid
}

var retentionDay = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// BenchmarkPastRetention100k lists the customers past their retention
// date in a compartment of 100 000: every sealed record is opened (in
// parallel), then the listing is logged.
func BenchmarkPastRetention100k(b *testing.B) {
	_, s, _ := retentionFixture(b)
	for b.Loop() {
		due, err := s.PastRetention(retentionDay)
		if err != nil || len(due) != benchN/10 {
			b.Fatal(err, len(due))
		}
	}
}

// BenchmarkPastRetention100kIndexFloor is what a sealed retention index
// would cost at least: opening 100 000 small sealed values (here the
// code index, which has one per customer), single-threaded as loadIndex
// does. A retention index saves only the difference in bytes decrypted,
// and would have to be kept up by every writer of records.
func BenchmarkPastRetention100kIndexFloor(b *testing.B) {
	tv, s, cid := retentionFixture(b)
	c := s.comps[cid]
	db, err := tv.v.compartmentDB(cid)
	mustNoErr(b, err)
	for b.Loop() {
		c.index = nil
		if err := loadIndex(c, db); err != nil || len(c.index.codes) != benchN {
			b.Fatal(err)
		}
	}
}

// BenchmarkErase100k erases one customer from a compartment of 100 000:
// the removal, its audit entry and the compaction of the whole file
// (copy, one fsync, rename, folder fsync).
func BenchmarkErase100k(b *testing.B) {
	tv, s, cid := retentionFixture(b)
	codes, _, err := s.ListCustomers(cid, 0, -1)
	mustNoErr(b, err)
	i := 0
	for b.Loop() {
		if err := s.EraseCustomer(codes[i], nil); err != nil {
			b.Fatal(err)
		}
		i++
	}
	db, err := tv.v.compartmentDB(cid)
	mustNoErr(b, err)
	b.ReportMetric(float64(pagesInUse(db))/(1<<20), "MiB")
}
