package store

import (
	"runtime/debug"
	"slices"
	"testing"
)

// TestRaiseGC: GOGC is the highest percent of the bulk operations
// running, and what it was once the last has ended; a higher setting, or
// off, stays throughout and is never set, not even for a moment (a lower
// percent could start a collection; turning GOGC off waits for one).
// gcPercent reads GOGC without setting it.
func TestRaiseGC(t *testing.T) {
	orig := debug.SetGCPercent(100)
	defer debug.SetGCPercent(orig)
	var set []int
	setGCPercent = func(p int) int { set = append(set, p); return debug.SetGCPercent(p) }
	defer func() { setGCPercent = debug.SetGCPercent }()
	for _, tc := range []struct {
		before int
		want   []int // the values GOGC is set to, in order
	}{
		{100, []int{docGCPercent, batchGCPercent, docGCPercent, 100}},
		{50, []int{docGCPercent, batchGCPercent, docGCPercent, 50}},
		{300, []int{batchGCPercent, 300}},
		{500, nil},
		{-1, nil},
	} {
		debug.SetGCPercent(tc.before)
		if p := gcPercent(); p != tc.before {
			t.Fatalf("gcPercent() = %d after SetGCPercent(%d)", p, tc.before)
		}
		set = nil
		want := func(p int) int {
			if tc.before < 0 || tc.before > p {
				return tc.before
			}
			return p
		}
		doc := raiseGC(docGCPercent)
		if p := gcPercent(); p != want(docGCPercent) {
			t.Errorf("GOGC %d, an addition: %d, want %d", tc.before, p, want(docGCPercent))
		}
		batch := raiseGC(batchGCPercent)
		doc2 := raiseGC(docGCPercent)
		if p := gcPercent(); p != want(batchGCPercent) {
			t.Errorf("GOGC %d, two additions and a batch: %d, want %d", tc.before, p, want(batchGCPercent))
		}
		batch()
		batch() // a second call does nothing
		if p := gcPercent(); p != want(docGCPercent) {
			t.Errorf("GOGC %d, the batch ended: %d, want %d", tc.before, p, want(docGCPercent))
		}
		doc()
		doc2()
		if p := gcPercent(); p != tc.before {
			t.Errorf("GOGC %d, all ended: %d", tc.before, p)
		}
		if !slices.Equal(set, tc.want) {
			t.Errorf("GOGC %d: set to %v, want %v", tc.before, set, tc.want)
		}
	}
}
