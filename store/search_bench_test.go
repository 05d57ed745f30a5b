package store

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/store/customer"
)

var (
	benchFirst = []string{"Åsa", "Anna", "Björn", "Östen", "Märta", "Lars", "Karin", "Jörgen", "Elin", "Per", "Sofia", "Ängla", "Håkan", "Lena", "Göran", "Ida"}
	benchLast  = []string{"Öberg", "Lindqvist", "Andersson", "Müller", "Ström", "Åkesson", "Nilsson", "Bergström", "Sjögren", "Karlsson", "Hägglund", "Ek", "Lundgren", "Wästberg", "Öhman", "Forsberg", "Dahl", "Svensson", "Björk", "Nyström"}
	benchTags  = []string{"privat", "företag", "vip", "kredit", "stockholm", "göteborg", "malmö", "pep"}
	benchNotes = []string{"Kunden föredrar kontakt per e-post.", "Ring före kl. 10.", "Ny kund via filialen i Uppsala.", "Kontrollerad mot sanktionslistor.", ""}
)

// searchBenchCustomers are n customers with varied names (first name,
// surname and a running number), distinct personnummer, tags and notes.
func searchBenchCustomers(n int) []customer.Customer {
	cs := make([]customer.Customer, n)
	for i := range cs {
		day := 1 + i%28
		nine := fmt.Sprintf("%02d%02d%02d%03d", 40+i%60, 1+i/28%12, day, i%1000)
		cs[i] = customer.Customer{
			Name:           fmt.Sprintf("%s %s %d", benchFirst[i%len(benchFirst)], benchLast[i/len(benchFirst)%len(benchLast)], i),
			PersonalNumber: luhnPNR(nine),
			Email:          fmt.Sprintf("kund%d@example.se", i),
			Notes:          benchNotes[i%len(benchNotes)],
			Tags:           []string{benchTags[i%len(benchTags)], benchTags[i/7%len(benchTags)]},
		}
	}
	return cs
}

// BenchmarkSearch100k searches a compartment of 100 000 customers.
//
//   - index: Session.SearchCustomers with the index loaded (the first
//     search's load is reported once as load-ms), cycling through
//     queries by code, personnummer (three forms), surname, surname
//     prefix, first name plus surname, tag, note word and a miss; each
//     search includes its audit entry (a commit). Goal: p95 ≤ 10 ms.
//   - index-query-only: index without the audit commit.
//   - baseline-open-records: the same queries answered without an
//     index, by opening every sealed record in a read transaction and
//     comparing folded fields.
//   - baseline-contains: strings.Contains over the lower-cased names in
//     memory (no sealing, names only): the floor of a linear scan.
func BenchmarkSearch100k(b *testing.B) {
	tv := newTestVault(b)
	s := tv.unlock(b, tv.admin)
	cid, err := s.CreateCompartment("A")
	mustNoErr(b, err)
	cs := searchBenchCustomers(benchN)
	codes, err := s.AddCustomers(cid, cs)
	mustNoErr(b, err)
	queries := []string{
		string(codes[4711]),
		cs[123].PersonalNumber, strings.ReplaceAll(cs[9876].PersonalNumber, "-", ""), "19" + cs[555].PersonalNumber,
		"öberg", "lindq", "åsa ström", "märta åkesson 4711", "vip", "sanktionslistor", "zzz",
		strings.ToLower(strings.Fields(cs[77777].Name)[1]) + " 77777",
	}

	b.Run("index", func(b *testing.B) {
		s.comps[cid].wipeSearch()
		start := time.Now()
		_, err := s.SearchCustomers("ett", 50)
		mustNoErr(b, err)
		load := time.Since(start)
		var times []time.Duration
		i := 0
		for b.Loop() {
			t0 := time.Now()
			if _, err := s.SearchCustomers(queries[i%len(queries)], 50); err != nil {
				b.Fatal(err)
			}
			times = append(times, time.Since(t0))
			i++
		}
		reportPercentiles(b, times)
		b.ReportMetric(float64(load)/1e6, "load-ms")
	})

	// The in-memory part of index: the same queries without the audit
	// entry's commit.
	b.Run("index-query-only", func(b *testing.B) {
		ix := s.comps[cid].search
		var times []time.Duration
		i := 0
		for b.Loop() {
			t0 := time.Now()
			q := parseSearch(queries[i%len(queries)], time.Now())
			benchSink += len(ix.search(&q, 50))
			times = append(times, time.Since(t0))
			i++
		}
		reportPercentiles(b, times)
	})

	b.Run("baseline-open-records", func(b *testing.B) {
		c := s.comps[cid]
		db, err := tv.v.compartmentDB(cid)
		mustNoErr(b, err)
		var times []time.Duration
		i := 0
		for b.Loop() {
			t0 := time.Now()
			q := parseSearch(queries[i%len(queries)], time.Now())
			n := 0
			err := db.View(func(tx *bolt.Tx) error {
				return tx.Bucket(bCustomers).ForEach(func(k, v []byte) error {
					r, err := openRecord(c.kr, k, binary.BigEndian.Uint64(v), v[8:])
					if err != nil {
						return err
					}
					cu := &r.Customer
					if cu.Code == q.code || storedPersonalNumber(cu.PersonalNumber) == q.pnr ||
						(q.folded != "" && strings.Contains(string(appendFolded(nil, []byte(cu.Name+" "+strings.Join(cu.Tags, " ")+" "+cu.Notes))), q.folded)) {
						n++
					}
					return nil
				})
			})
			mustNoErr(b, err)
			times = append(times, time.Since(t0))
			i++
		}
		reportPercentiles(b, times)
	})

	b.Run("baseline-contains", func(b *testing.B) {
		names := make([]string, len(cs))
		for i := range cs {
			names[i] = strings.ToLower(cs[i].Name)
		}
		var times []time.Duration
		i := 0
		for b.Loop() {
			t0 := time.Now()
			q := strings.ToLower(queries[i%len(queries)])
			hits := 0
			for _, n := range names {
				if strings.Contains(n, q) {
					hits++
				}
			}
			times = append(times, time.Since(t0))
			benchSink += hits
			i++
		}
		reportPercentiles(b, times)
	})
}

var benchSink int

func reportPercentiles(b *testing.B, times []time.Duration) {
	if len(times) == 0 {
		return
	}
	slices.Sort(times)
	pct := func(p float64) float64 { return float64(times[min(len(times)-1, int(p*float64(len(times))))]) / 1e6 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.95), "p95-ms")
}
