package store

import (
	"bytes"
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

// skipOnTmpfs skips a test of dropping pages from the page cache where
// dir is on tmpfs, whose pages are the files themselves and stay.
func skipOnTmpfs(t *testing.T, dir string) {
	t.Helper()
	var st unix.Statfs_t
	if unix.Statfs(dir, &st) == nil && st.Type == unix.TMPFS_MAGIC {
		t.Skipf("%s is on tmpfs, whose pages cannot be dropped", dir)
	}
}

// TestDiskPacerDropsBehind: pages of a range handed to dropBehind leave
// the page cache (by stop at the latest), as far as the kernel's folios
// allow (it drops only a folio that lies whole inside the range: up to
// 2 MiB); pages outside it stay.
func TestDiskPacerDropsBehind(t *testing.T) {
	dir := t.TempDir()
	skipOnTmpfs(t, dir)
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
}

// TestDocumentAddDropsBehind: after a long addition the page cache holds
// the chunks of about its last two batches, not the whole document (see
// diskPacer), and the document reads back whole.
func TestDocumentAddDropsBehind(t *testing.T) {
	docKnobs(t, 64<<10, 1<<20)
	f := newDocFixture(t)
	skipOnTmpfs(t, f.tv.dir)
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
