package store

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"unsafe"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// cachedBytes returns how many bytes of the whole pages inside the mapped
// memory [p, p+n) are in the page cache (mincore).
func cachedBytes(t *testing.T, p unsafe.Pointer, n int) int64 {
	t.Helper()
	ps := uintptr(pageSize)
	start := (uintptr(p) + ps - 1) &^ (ps - 1)
	end := (uintptr(p) + uintptr(n)) &^ (ps - 1)
	if end <= start {
		return 0
	}
	vec := make([]byte, (end-start)/ps)
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, start, end-start, uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		t.Fatalf("mincore: %v", e)
	}
	var in int64
	for _, v := range vec {
		in += int64(v & 1)
	}
	return in * int64(ps)
}

// skipUnlessDroppable skips a test of dropping pages from the page cache
// where the file system in dir keeps them anyway (tmpfs, whose pages are
// the files themselves, or an overlay on it): it writes, syncs and drops
// a probe file there and looks.
func skipUnlessDroppable(t *testing.T, dir string) {
	t.Helper()
	f, err := os.CreateTemp(dir, "probe")
	mustNoErr(t, err)
	defer os.Remove(f.Name())
	defer f.Close()
	_, err = f.Write(make([]byte, 4<<20))
	mustNoErr(t, err)
	mustNoErr(t, f.Sync())
	mustNoErr(t, unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED))
	m, err := unix.Mmap(int(f.Fd()), 0, 4<<20, unix.PROT_READ, unix.MAP_SHARED)
	mustNoErr(t, err)
	defer unix.Munmap(m)
	if got := cachedBytes(t, unsafe.Pointer(&m[0]), len(m)); got > 2<<20 {
		t.Skipf("the file system of %s keeps dropped pages cached (%d of 4 MiB)", dir, got)
	}
}

// TestDiskPacerDropsBehind: pages of a range handed to dropBehind leave
// the page cache (by stop at the latest), as far as the kernel's folios
// allow (it drops only a folio that lies whole inside the range: up to
// 2 MiB); pages outside it stay.
func TestDiskPacerDropsBehind(t *testing.T) {
	dir := t.TempDir()
	skipUnlessDroppable(t, dir)
	path := filepath.Join(dir, "f")
	f, err := os.Create(path)
	mustNoErr(t, err)
	defer f.Close()
	_, err = f.Write(randomBytes(3, 12<<20))
	mustNoErr(t, err)
	mustNoErr(t, f.Sync()) // clean pages, as after a commit
	m, err := unix.Mmap(int(f.Fd()), 0, 12<<20, unix.PROT_READ, unix.MAP_SHARED)
	mustNoErr(t, err)
	defer unix.Munmap(m)
	cached := func(off, n int) int64 { return cachedBytes(t, unsafe.Pointer(&m[off]), n) }
	if got := cached(0, 12<<20); got < 10<<20 {
		t.Skipf("only %d bytes of a file just written are in the page cache", got)
	}
	p := startDiskPacer(path)
	p.dropBehind([]mapRange{{2<<20 + 100, 8 << 20}})
	p.stop()
	if got := cached(2<<20+100, 8<<20); got > 4<<20 {
		t.Errorf("%d bytes of the 8 MiB range are still cached", got)
	}
	if got := cached(0, 2<<20); got < 1<<20 {
		t.Errorf("only %d bytes of the 2 MiB before the range are still cached", got)
	}
}

// TestMergeRanges: ranges less than the gap apart merge, unless a range
// to keep lies between them.
func TestMergeRanges(t *testing.T) {
	got := mergeRanges(
		[]mapRange{{300, 50}, {0, 100}, {120, 100}, {1000, 10}, {230, 20}, {600, 10}, {420, 10}, {440, 10}},
		[]mapRange{{380, 10}}, 100)
	want := []mapRange{{0, 350}, {420, 30}, {600, 10}, {1000, 10}}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if got := mergeRanges(nil, nil, 100); got != nil {
		t.Errorf("no ranges: %v", got)
	}
	// A gap of exactly gap stays; overlapping and nested ranges merge.
	got = mergeRanges([]mapRange{{240, 30}, {0, 100}, {220, 10}, {200, 50}}, nil, 100)
	want = []mapRange{{0, 100}, {200, 70}}
	if !slices.Equal(got, want) {
		t.Errorf("edges: got %v, want %v", got, want)
	}
}

// TestDropTracker: after each commit of a long addition, the ranges
// handed on never cover a whole page of the last leafSpan chunks (which
// the next commit reads back), and by the end every chunk before those
// lies whole in ranges handed on. No page cache is looked at: this holds
// on any file system.
func TestDropTracker(t *testing.T) {
	docKnobs(t, 64<<10, 1<<20)
	f := newDocFixture(t)
	db, err := f.tv.v.compartmentDB(f.cid)
	mustNoErr(t, err)
	id := newID()
	const per = 16 // chunks per batch
	batch := make([][]byte, per)
	for i := range batch {
		batch[i] = randomBytes(uint64(i), docChunk)
	}
	locations := func(end uint64) []mapRange {
		var out []mapRange
		mustNoErr(t, db.View(func(tx *bolt.Tx) error {
			m := txMap{tx}
			for i := range end {
				v := tx.Bucket(bDocChunks).Get(chunkKey(id, i))
				off, ok := m.offset(v)
				if !ok {
					t.Fatalf("chunk %d is not in the map", i)
				}
				out = append(out, mapRange{off, int64(len(v))})
			}
			return nil
		}))
		return out
	}
	wholePage := func(r, c mapRange) bool { // r covers a whole page of c
		ps := int64(pageSize)
		lo, hi := max(r.off, c.off), min(r.off+r.n, c.off+c.n)
		return (hi &^ (ps - 1)) > (lo+ps-1)&^(ps-1)
	}
	var d dropTracker
	var handed []mapRange
	for k := range uint64(12) {
		end := (k + 1) * per
		mustNoErr(t, putChunks(context.Background(), db, bDocChunks, id, k*per, batch, true, nil))
		rs := d.after(db, bDocChunks, id, end)
		handed = append(handed, rs...)
		locs := locations(end)
		for _, c := range locs[end-leafSpan:] {
			for _, r := range rs {
				if wholePage(r, c) {
					t.Fatalf("batch %d: range %v covers a page of chunk at %v, which the next commit reads", k, r, c)
				}
			}
		}
	}
	locs := locations(12 * per)
	for i, c := range locs[:len(locs)-leafSpan] {
		if !slices.ContainsFunc(handed, func(r mapRange) bool { return r.off <= c.off && c.off+c.n <= r.off+r.n }) {
			t.Errorf("chunk %d (at %v) was never handed on whole", i, c)
		}
	}
}

// TestDocumentAddDropsBehind: after a long addition the page cache holds
// the chunks of about its last two batches, not the whole document (see
// diskPacer), and the document reads back whole.
func TestDocumentAddDropsBehind(t *testing.T) {
	docKnobs(t, 64<<10, 1<<20)
	f := newDocFixture(t)
	skipUnlessDroppable(t, f.tv.dir)
	data := randomBytes(14, 32<<20) // 32 batches
	id := f.add(t, "scan.tiff", data, DocumentOptions{})
	db, err := f.tv.v.compartmentDB(f.cid)
	mustNoErr(t, err)
	var chunks, cached int64
	mustNoErr(t, db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bDocChunks).Cursor()
		for k, v := c.Seek(id[:]); k != nil && bytes.HasPrefix(k, id[:]); k, v = c.Next() {
			chunks += int64(len(v))
			cached += cachedBytes(t, unsafe.Pointer(unsafe.SliceData(v)), len(v))
		}
		return nil
	}))
	if chunks < int64(len(data)) {
		t.Fatalf("%d bytes of chunks for %d of content", chunks, len(data))
	}
	t.Logf("%d of %d bytes of chunks are in the page cache", cached, chunks)
	// Left: the last batch (AddDocument commits it itself), the chunks
	// the committer keeps for the next commit, and the folios at the end
	// of what it dropped.
	if limit := int64(2*docTx + leafSpan*docChunk + 2*dropGap); cached > limit {
		t.Errorf("%d of %d bytes of chunks are in the page cache, want at most %d", cached, chunks, limit)
	}
	got, _, err := f.export(f.s, id, DocumentOptions{})
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("export: %v", err)
	}
}
