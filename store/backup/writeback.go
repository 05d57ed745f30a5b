package backup

import (
	"errors"
	"io"
	"os"
	"unsafe"

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
//   - reading a backup reads the medium directly (O_DIRECT, in blocks of
//     directBlock bytes: the read-back is sure to come from the medium,
//     not from memory, and the kernel skips the page cache, which on a
//     virtual machine here cost more CPU than decrypting), or where the
//     file system does not allow that, drops what it has read (a
//     dropBehindReader).
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

// directBlock is the size of a direct read.
const directBlock = 1 << 20

// directAlign is the alignment O_DIRECT asks of the buffer, the file
// offset and the length (the logical block size: 4096 bytes covers every
// disk, SD card and USB stick in use).
const directAlign = 4096

// openBackup opens a backup file to read it once from its start: with
// O_DIRECT where the file system allows it, else through the page cache,
// dropping what was read.
func openBackup(path string) (*os.File, io.Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	d, err := os.OpenFile(path, os.O_RDONLY|unix.O_DIRECT, 0)
	if err != nil {
		return f, newDropBehindReader(f), nil
	}
	return f, &directReader{d: d, f: f, buf: alignedBuffer(directBlock)}, nil
}

// alignedBuffer returns n bytes aligned for O_DIRECT.
func alignedBuffer(n int) []byte {
	buf := make([]byte, n+directAlign)
	off := int(uintptr(unsafe.Pointer(&buf[0])) & (directAlign - 1))
	if off != 0 {
		off = directAlign - off
	}
	return buf[off : off+n]
}

// A directReader reads a file with O_DIRECT into an aligned buffer. If a
// direct read fails with EINVAL (a file system that accepts the flag but
// not the read), it goes on through the page cache from where it was.
type directReader struct {
	d, f     *os.File // d: opened with O_DIRECT (closed at the end); f: the file
	buf      []byte   // aligned
	r, w     int      // unread bytes: buf[r:w]
	off      int64    // file offset of buf[w]
	eof      bool
	fallback io.Reader
}

func (r *directReader) Read(p []byte) (int, error) {
	if r.fallback != nil {
		return r.fallback.Read(p)
	}
	if r.r == r.w {
		if r.eof {
			return 0, io.EOF
		}
		n, err := unix.Pread(int(r.d.Fd()), r.buf, r.off)
		for errors.Is(err, unix.EINTR) {
			n, err = unix.Pread(int(r.d.Fd()), r.buf, r.off)
		}
		switch {
		case errors.Is(err, unix.EINVAL):
			r.d.Close()
			if _, err := r.f.Seek(r.off, io.SeekStart); err != nil {
				return 0, err
			}
			r.fallback = newDropBehindReader(r.f)
			return r.fallback.Read(p)
		case err != nil:
			return 0, err
		case n == 0:
			r.eof = true
			r.d.Close()
			return 0, io.EOF
		}
		r.r, r.w = 0, n
		r.off += int64(n)
	}
	n := copy(p, r.buf[r.r:r.w])
	r.r += n
	return n, nil
}

// Close closes the direct file (the caller closes the other).
func (r *directReader) Close() error {
	if !r.eof && r.fallback == nil {
		return r.d.Close()
	}
	return nil
}
