package store

import (
	"strings"
	"testing"
	"time"
	"slices"
)

func TestZZProbe(t *testing.T) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	cid, _ := s.CreateCompartment("A")
	cs := searchBenchCustomers(benchN)
	codes, _ := s.AddCustomers(cid, cs)
	queries := []string{
		string(codes[4711]),
		cs[123].PersonalNumber, strings.ReplaceAll(cs[9876].PersonalNumber, "-", ""), "19" + cs[555].PersonalNumber,
		"öberg", "lindq", "åsa ström", "märta åkesson 4711", "vip", "sanktionslistor", "zzz",
		strings.ToLower(strings.Fields(cs[77777].Name)[1]) + " 77777",
	}
	t0 := time.Now()
	s.SearchCustomers("x", 1)
	t.Logf("load %v", time.Since(t0))
	ix := s.comps[cid].search
	for _, q := range queries {
		var ts []time.Duration
		var n int
		for range 20 {
			t0 := time.Now()
			sq := parseSearch(q, time.Now())
			n = len(ix.search(&sq, 50))
			ts = append(ts, time.Since(t0))
		}
		slices.Sort(ts)
		var ts2 []time.Duration
		for range 5 {
			t0 := time.Now()
			s.SearchCustomers(q, 50)
			ts2 = append(ts2, time.Since(t0))
		}
		slices.Sort(ts2)
		t.Logf("%-25q n=%d mem p50 %v max %v | full p50 %v max %v", q, n, ts[10], ts[19], ts2[2], ts2[4])
	}
}
