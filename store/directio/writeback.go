package directio

import (
	"os"

	"golang.org/x/sys/unix"
)

// writebackWindow is how many bytes a WritebackFile writes before it
// starts their writeback.
const writebackWindow = 8 << 20

// A WritebackFile writes a file through the page cache, for a file
// system without O_DIRECT. Left to itself the kernel would hold all of a
// large file dirty in memory until the final fsync (the dirty limits are
// a tenth of the memory), then write it out while the caller waits, and
// keep it cached after, evicting what others had there. Instead:
//
//   - each window's writeback starts as soon as it is full
//     (sync_file_range SYNC_FILE_RANGE_WRITE, which does not wait), so the
//     disk writes while the next windows are made, and the final fsync
//     has little left to do;
//   - windows written out two windows ago are dropped from the cache
//     (fadvise DONTNEED; a page still under writeback is left).
//
// Both are hints: an error changes nothing but the speed.
type WritebackFile struct {
	f       *os.File
	off     int64 // end of the bytes written
	started int64 // writeback started up to here
	dropped int64 // dropped from the cache up to here
}

// NewWritebackFile writes f from offset off on.
func NewWritebackFile(f *os.File, off int64) *WritebackFile {
	return &WritebackFile{f: f, off: off, started: off, dropped: off}
}

// Write writes p at the end of what was written.
func (w *WritebackFile) Write(p []byte) (int, error) { return w.WriteAt(p, w.off) }

// WriteAt writes p at off, which must be the end of what was written.
func (w *WritebackFile) WriteAt(p []byte, off int64) (int, error) {
	n, err := w.f.WriteAt(p, off)
	w.off = off + int64(n)
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
