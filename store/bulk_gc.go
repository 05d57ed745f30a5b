package store

import (
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"sync"
)

// GOGC during bulk work (see raiseGC): while a document's committer
// runs, and while a batch of at least bulkGCMin customers is added or
// imported.
//
// Each commit of an addition's spill allocates a fresh copy of its batch
// (bbolt's page buffers, 16 MiB), garbage as soon as the commit returns.
// With about 35 MiB live (the two batches) the collector ran every commit
// or two at the default of 100, about 75 times per GiB, and the runtime
// handed freed pages back to the kernel only to fault them in again in
// the next spill. At 200 it runs about half as often: adding 1 GiB took
// about 7 % less time (faster in 16 of 22 paired runs), and its peak RSS
// rose from 83–91 to 100–110 MiB (the goal is at most 128).
//
// A batch of customers allocates several values per customer (the
// normalized copy, sealed record, index, search and audit entries, the
// lookup tag, bbolt's node entries) that stay live until the commit: in
// a fresh process the heap grows to several times its size at the start,
// with a collection at each step, each marking everything allocated so
// far. Adding 100 000 customers in a fresh process took a median of 1.74
// s at 200 and 1.50 s at 400 (faster in 7 of 8 paired runs), with the
// same peak RSS (440–490 MiB), which the data live at the commit sets.
const (
	docGCPercent   = 200
	batchGCPercent = 400
	bulkGCMin      = 4096
)

// bulkGC holds the GOGC of the bulk operations running; GOGC is the
// process's.
var bulkGC struct {
	sync.Mutex
	active []int // the percents asked for
	before int   // GOGC before the first
}

// raiseGC sets GOGC to percent, unless it is higher or off already,
// until the function it returns is called. With several bulk operations
// running, the highest percent holds; after the last, GOGC is what it
// was before the first. GOGC is only ever set to the value it should
// have (setting it, even for a moment, to a lower one could start a
// collection, and turning it off waits for one that runs).
func raiseGC(percent int) (restore func()) {
	bulkGC.Lock()
	defer bulkGC.Unlock()
	if len(bulkGC.active) == 0 {
		bulkGC.before = gcPercent()
	}
	bulkGC.active = append(bulkGC.active, percent)
	setBulkGC()
	var once sync.Once
	return func() {
		once.Do(func() {
			bulkGC.Lock()
			defer bulkGC.Unlock()
			i := slices.Index(bulkGC.active, percent)
			bulkGC.active = slices.Delete(bulkGC.active, i, i+1)
			setBulkGC()
		})
	}
}

// setBulkGC sets GOGC to the highest percent asked for, or to the
// setting from before the first bulk operation if that is higher or off
// (or if none is running), unless it is that already.
func setBulkGC() {
	p := bulkGC.before
	if len(bulkGC.active) > 0 {
		if m := slices.Max(bulkGC.active); p >= 0 && p < m {
			p = m
		}
	}
	if p != gcPercent() {
		setGCPercent(p)
	}
}

// setGCPercent is debug.SetGCPercent (a test records the calls).
var setGCPercent = debug.SetGCPercent

// gcPercent returns GOGC (-1 for off) without setting it.
func gcPercent() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 100 // not reported: the default
	}
	return int(int64(s[0].Value.Uint64()))
}
