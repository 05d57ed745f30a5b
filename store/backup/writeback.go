package backup

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// The page cache and a backup: the backup file is written once and read
// once (back, to verify it), and nobody needs its pages after that. Left
// to itself the kernel would hold all of it dirty in memory until the
// final fsync (the dirty limits are a tenth of the memory), then write
// it out while the backup waits, and keep it cached after, evicting what
// the vault and everything else had there. Instead:
//
//   - writing starts the disk writing each window as soon as it is full
//     (sync_file_range SYNC_FILE_RANGE_WRITE, which does not wait), so
//     the disk writes while the next windows are encrypted, and the
//     final fsync has little left to do;
//   - windows written out two windows ago are dropped from the cache
//     (fadvise DONTNEED; a page still under writeback is left, and the
//     drop after the fsync takes it);
//   - after the fsync the whole file is dropped, so the read-back reads
//     the medium, not memory (dropCache);
//   - reading a backup drops what it has read (a dropBehindReader).
//
// All of these are hints: an error (a file system without them) changes
// nothing but the speed. The fsync after writing is what makes it
// durable, and it reports every error.

// writebackWindow is how many bytes are written before their writeback
// is started.
const writebackWindow = 8 << 20

// A writebackFile writes to a file, starting each window's writeback as
// it fills.
type writebackFile struct {
	f       *os.File
	off     int64 // bytes written
	started int64 // writeback started up to here
	dropped int64 // dropped from the cache up to here
}

func (w *writebackFile) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.off += int64(n)
	if w.off-w.started >= writebackWindow {
		fd := int(w.f.Fd())
		unix.SyncFileRange(fd, w.started, w.off-w.started, unix.SYNC_FILE_RANGE_WRITE)
		if w.started-w.dropped >= 2*writebackWindow {
			end := w.started - writebackWindow
			unix.Fadvise(fd, w.dropped, end-w.dropped, unix.FADV_DONTNEED)
			w.dropped = end
		}
		w.started = w.off
	}
	return n, err
}

// A dropBehindReader reads a file from its start and drops what it has
// read from the page cache, a window at a time.
type dropBehindReader struct {
	f       *os.File
	off     int64
	dropped int64
}

func newDropBehindReader(f *os.File) *dropBehindReader {
	unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_SEQUENTIAL) // a larger readahead
	return &dropBehindReader{f: f}
}

func (r *dropBehindReader) Read(p []byte) (int, error) {
	n, err := r.f.Read(p)
	r.off += int64(n)
	if r.off-r.dropped >= writebackWindow || (err == io.EOF && r.off > r.dropped) {
		unix.Fadvise(int(r.f.Fd()), r.dropped, r.off-r.dropped, unix.FADV_DONTNEED)
		r.dropped = r.off
	}
	return n, err
}
