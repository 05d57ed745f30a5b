package store

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/store/customer"
)

const benchN = 100_000

func benchCustomers(n int) []customer.Customer {
	cs := make([]customer.Customer, n)
	for i := range cs {
		cs[i] = customer.Customer{
			Name:           fmt.Sprintf("Kund Nummer %d Svensson", i),
			PersonalNumber: "811228-9874",
			Addresses:      []string{fmt.Sprintf("Storgatan %d\n111 22 Stockholm", i%200)},
			Phone:          "070-123 45 67",
			Email:          fmt.Sprintf("kund%d@example.se", i),
			Cards:          []string{"4111 1111 1111 1111"},
			Accounts:       []string{"SE45 5000 0000 0583 9825 7466"},
			Notes:          "Kunden föredrar kontakt per e-post. Inga särskilda villkor.",
			Tags:           []string{"privat", "stockholm"},
			RetainUntil:    "2036-12-31",
		}
	}
	return cs
}

// BenchmarkInsert100k adds 100 000 customers to a compartment in one
// batch (validation, sealing, index, audit entries, one commit with
// fsync). Goal: at most 1.5 s.
func BenchmarkInsert100k(b *testing.B) {
	cs := benchCustomers(benchN)
	for b.Loop() {
		b.StopTimer()
		tv := newTestVault(b)
		s := tv.unlock(b, tv.admin)
		cid, err := s.CreateCompartment("A")
		mustNoErr(b, err)
		b.StartTimer()
		if _, err := s.AddCustomers(cid, cs); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		s.Lock()
		tv.v.Close()
		if fi, err := os.Stat(compartmentPath(tv.dir, cid)); err == nil {
			b.ReportMetric(float64(fi.Size())/(1<<20), "MiB")
		}
		b.StartTimer()
	}
}

// BenchmarkOpenFirstPage100k opens a vault whose compartment holds
// 100 000 customers and lists the first page of codes: Open, Unlock
// (with a software key, so card time is excluded), ListCustomers, Lock,
// Close. Goal: at most 300 ms.
func BenchmarkOpenFirstPage100k(b *testing.B) {
	tv := newTestVault(b)
	s := tv.unlock(b, tv.admin)
	cid, err := s.CreateCompartment("A")
	mustNoErr(b, err)
	_, err = s.AddCustomers(cid, benchCustomers(benchN))
	mustNoErr(b, err)
	mustNoErr(b, s.Lock())
	mustNoErr(b, tv.v.Close())
	for b.Loop() {
		v, err := Open(tv.dir)
		if err != nil {
			b.Fatal(err)
		}
		s, err := v.Unlock(tv.admin.identity, tv.admin.signer)
		if err != nil {
			b.Fatal(err)
		}
		codes, total, err := s.ListCustomers(cid, 0, 50)
		if err != nil || len(codes) != 50 || total != benchN {
			b.Fatal(err, len(codes), total)
		}
		s.Lock()
		v.Close()
	}
}

// BenchmarkRevealCustomer is one audited read of a customer by code.
func BenchmarkRevealCustomer(b *testing.B) {
	tv := newTestVault(b)
	s := tv.unlock(b, tv.admin)
	cid, err := s.CreateCompartment("A")
	mustNoErr(b, err)
	codes, err := s.AddCustomers(cid, benchCustomers(1000))
	mustNoErr(b, err)
	i := 0
	for b.Loop() {
		if _, err := s.RevealCustomer(codes[i%len(codes)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkInsert100kBaseline is the floor for BenchmarkInsert100k on the
// same machine and in the same run: plain bbolt, no validation and no
// cryptography, the same number of values of the same sizes (record,
// index entry, lookup tag, audit entry per customer) in one commit.
func BenchmarkInsert100kBaseline(b *testing.B) {
	rec, idx, tag, ent := make([]byte, 369), make([]byte, 52), make([]byte, 16), make([]byte, 118)
	for b.Loop() {
		b.StopTimer()
		db, err := openDB(filepath.Join(b.TempDir(), "base.valv"), true)
		mustNoErr(b, err)
		rids := make([]ID, benchN)
		tags := make([]ID, benchN)
		for i := range rids {
			rids[i], tags[i] = newID(), newID()
		}
		b.StartTimer()
		slices.SortFunc(rids, func(x, y ID) int { return bytes.Compare(x[:], y[:]) })
		slices.SortFunc(tags, func(x, y ID) int { return bytes.Compare(x[:], y[:]) })
		err = db.Update(func(tx *bolt.Tx) error {
			bs := make([]*bolt.Bucket, 4)
			for i, name := range []string{"c", "i", "t", "a"} {
				bs[i], _ = tx.CreateBucket([]byte(name))
				bs[i].FillPercent = bulkFill
			}
			for i := range benchN {
				bs[0].Put(rids[i][:], rec)
				bs[1].Put(rids[i][:], idx)
				bs[2].Put(append(tags[i][:], tags[i][:]...), tag)
				bs[3].Put(u64(uint64(i)), ent)
			}
			return nil
		})
		mustNoErr(b, err)
		b.StopTimer()
		db.Close()
		b.StartTimer()
	}
}
