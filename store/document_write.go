package store

import (
	"cmp"
	"context"
	"slices"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// The write pipeline of AddDocument runs on three goroutines, so that the
// two cores and the disk work at the same time:
//
//   - the caller reads the content and hashes it (SHA-256), in blocks;
//   - an encryptor runs the age stream over each block (while the caller
//     hashes the same block and reads the next) and cuts the ciphertext
//     into chunks (chunkWriter.Write);
//   - a committer (chunkCommitter) commits each full batch of chunks in a
//     transaction of its own (bbolt copies the chunks into its pages,
//     writes them and fsyncs twice), while the encryptor fills the next.
//
// Memory is bounded by the batches: one being committed (with bbolt's
// copy of it in pages) and one being filled. The order of commits is the
// order of the chunks, and a document still becomes visible only in the
// final transaction, which AddDocument runs itself after the committer
// has finished (chunkWriter.close).

// A chunkCommitter commits the batches of one chunkWriter on a goroutine
// of its own.
type chunkCommitter struct {
	batches chan chunkBatch
	freed   chan [][]byte // buffers of committed batches, for reuse
	done    chan struct{} // closed when the goroutine has ended

	mu     sync.Mutex
	err    error // the first failed commit; later batches are dropped
	closed bool  // batches is closed
}

type chunkBatch struct {
	first  uint64 // index of chunks[0]
	chunks [][]byte
}

// start moves the commits of full batches to a goroutine of their own.
// The writer must then be closed (close) or aborted (abort), which wait
// for the goroutine.
func (w *chunkWriter) start() {
	c := &chunkCommitter{
		batches: make(chan chunkBatch),
		freed:   make(chan [][]byte, 4),
		done:    make(chan struct{}),
	}
	w.async = c
	go c.run(w.ctx, w)
}

func (c *chunkCommitter) run(ctx context.Context, w *chunkWriter) {
	defer close(c.done)
	defer raiseGC(docGCPercent)()
	pacer := startDiskPacer(w.db.Path())
	defer pacer.stop()
	var behind dropTracker
	for b := range c.batches {
		if c.failed() == nil {
			pacer.reserve(2 * int64(docTx))
			if err := putChunks(ctx, w.db, w.chunkBucket(), w.id, b.first, b.chunks, true, nil); err != nil {
				c.mu.Lock()
				c.err = err
				c.mu.Unlock()
			} else if pacer != nil {
				pacer.dropBehind(behind.after(w.db, w.chunkBucket(), w.id, b.first+uint64(len(b.chunks))))
			}
		}
		select {
		case c.freed <- b.chunks:
		default: // the writer stopped taking them: the GC will
		}
	}
}

func (c *chunkCommitter) failed() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// send hands a batch to the committer; it waits while the committer is
// still busy with the previous one.
func (c *chunkCommitter) send(ctx context.Context, first uint64, chunks [][]byte) error {
	if err := c.failed(); err != nil {
		return err
	}
	select {
	case c.batches <- chunkBatch{first, chunks}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// recycled appends to spare the buffers of a committed batch, if one is
// waiting.
func (c *chunkCommitter) recycled(spare [][]byte) [][]byte {
	select {
	case b := <-c.freed:
		return append(spare, b...)
	default:
		return spare
	}
}

// wait ends the committer (if started) after the batches handed to it,
// and returns the error of a failed commit. It may be called again.
func (w *chunkWriter) wait() error {
	c := w.async
	if c == nil {
		return nil
	}
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.batches)
	}
	c.mu.Unlock()
	<-c.done
	if err := c.failed(); err != nil {
		w.err = err
		return err
	}
	return nil
}

// A mapRange is a range of the file, by offset, that a transaction read
// through bbolt's map.
type mapRange struct{ off, n int64 }

// leafNeighbours returns where the values next to key (up to leafSpan on
// either side, as many as a leaf of chunks holds) lie in the file: the
// values that a Put of key may make bbolt rewrite (batch marks, having
// none, count against leafSpan: after them, nothing is rewritten). Values
// that are not in the map (small ones, or not yet committed) are left
// out.
func leafNeighbours(tx *bolt.Tx, b *bolt.Bucket, key []byte) []mapRange {
	m := txMap{tx}
	var out []mapRange
	add := func(v []byte) {
		if off, ok := m.offset(v); ok && len(v) >= 2*pageSize {
			out = append(out, mapRange{off, int64(len(v))})
		}
	}
	c := b.Cursor()
	k, v := c.Seek(key)
	for i := 0; i < leafSpan && k != nil; i++ {
		add(v)
		k, v = c.Next()
	}
	c.Seek(key)
	k, v = c.Prev()
	for i := 0; i < leafSpan && k != nil; i++ {
		add(v)
		k, v = c.Prev()
	}
	return out
}

// leafSpan is how many values on either side of a Put leafNeighbours
// looks at: bbolt's leaves of large values hold at most 4 (it splits a
// node into pieces of at least 2 and leaves one of at most 4 whole).
const leafSpan = 4

// A dropTracker finds, after each commit of an addition, the ranges of
// the file whose pages the pacer may drop from the page cache (see
// diskPacer): the chunks committed so far but the last leafSpan (which
// a commit without batch marks before it would rewrite, reading them back
// from the disk), and the gaps of less than dropGap between them.
// The gaps count because the kernel caches a file in folios of up to
// 2 MiB and drops only a folio that lies whole inside the range it is
// given: dropping each batch's chunks on their own would leave the
// folios at both ends of every batch in the cache. A gap holds keys and
// bbolt's pages of earlier commits that later ones replaced, but may
// also hold pages that are read again (the chunk bucket's branches,
// other data in a file with free pages, another addition's chunks):
// those are read from the disk then, about one page per commit when
// adding 1 GiB on the development machine. Dropping is only a hint; what
// is read is the same.
type dropTracker struct {
	next uint64   // the first chunk not yet handed on
	tail mapRange // the last range handed on (its last folio may have stayed)
}

// Ranges less than dropGap apart merge into one (see mergeRanges).
const dropGap = 2 << 20

// after returns the ranges to drop after a commit of the chunks of id up
// to end, in a read transaction of its own. It drops their pages from
// this process's map first: reading the keys faults in the pages around
// them, and the kernel does not drop a page that is mapped.
func (d *dropTracker) after(db *bolt.DB, bucket []byte, id ID, end uint64) []mapRange {
	if end <= d.next+leafSpan {
		return nil
	}
	var out []mapRange
	db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if b == nil {
			return nil
		}
		m := txMap{tx}
		var drop, keep []mapRange
		c := b.Cursor()
		i := d.next
		for k, v := c.Seek(chunkKey(id, i)); k != nil && i < end; k, v = c.Next() {
			if len(k) != docKeySize {
				continue // a batch mark
			}
			if off, ok := m.offset(v); ok {
				if i < end-leafSpan {
					drop = append(drop, mapRange{off, int64(len(v))})
				} else {
					keep = append(keep, mapRange{off, int64(len(v))})
				}
			}
			i++
		}
		// The last range again, for the folio at its end; unless bbolt
		// has since written chunks to keep into pages of its gaps.
		if d.tail.n > 0 && !slices.ContainsFunc(keep, d.tail.overlaps) {
			drop = append(drop, d.tail)
		}
		out = mergeRanges(drop, keep, dropGap)
		for _, r := range out {
			dropPages(m, r.off, r.n)
		}
		return nil
	})
	d.next = end - leafSpan
	if len(out) > 0 {
		d.tail = out[len(out)-1]
	}
	return out
}

// overlaps reports whether r and o have a byte in common.
func (r mapRange) overlaps(o mapRange) bool { return r.off < o.off+o.n && o.off < r.off+r.n }

// mergeRanges sorts rs by offset and merges neighbours that overlap or
// lie less than gap apart, unless a range of keep lies between them.
func mergeRanges(rs, keep []mapRange, gap int64) []mapRange {
	slices.SortFunc(rs, func(a, b mapRange) int { return cmp.Compare(a.off, b.off) })
	var out []mapRange
	for _, r := range rs {
		if j := len(out) - 1; j >= 0 {
			last := &out[j]
			end := last.off + last.n
			between := mapRange{min(r.off, end), max(r.off, end) - min(r.off, end)}
			if r.off-end < gap && !slices.ContainsFunc(keep, between.overlaps) {
				last.n = max(end, r.off+r.n) - last.off
				continue
			}
		}
		out = append(out, r)
	}
	return out
}

// dropRewritten drops the pages of rs from this process's map (see
// dropPages), in a read transaction of its own: the map may have
// moved since the transaction that found them.
func dropRewritten(db *bolt.DB, rs []mapRange) {
	if len(rs) == 0 {
		return
	}
	db.View(func(tx *bolt.Tx) error {
		for _, r := range rs {
			dropPages(txMap{tx}, r.off, r.n)
		}
		return nil
	})
}

// The chunk buffers of an addition (two batches: the one being committed
// and the one being filled) live outside Go's heap, in memory mapped for
// the addition and unmapped after its last commit. On the heap they
// would count in the garbage collector's pacing: the live heap during a
// commit is both batches and bbolt's copy of one in pages, and the heap
// may grow to twice the live heap before a collection, so that an
// addition would peak at about six batches of resident memory; this
// way bbolt's pages (which it allocates for each commit) are the only
// large objects on the heap and the peak is about four.

// useSlab gives the writer its chunk buffers from a mapped slab. release
// must be called once the writer is done (after its last commit or
// abort): bbolt reads the buffers until its commits return.
func (w *chunkWriter) useSlab() {
	per := (docTx + docChunk - 1) / docChunk
	w.slab = allocSlab(2 * per * docChunk)
	for b := w.slab; len(b) >= docChunk; b = b[docChunk:] {
		w.spare = append(w.spare, b[:0:docChunk])
	}
}

// release unmaps the slab.
func (w *chunkWriter) release() {
	if w.slab != nil {
		w.wait()
		w.spare, w.ready, w.chunk = nil, nil, nil
		freeSlab(w.slab)
		w.slab = nil
	}
}
