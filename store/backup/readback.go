package backup

import (
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/valv-vault/valv/store/directio"
)

// Reading a backup back: the read-back must come from the medium, not
// from memory, and nobody needs the file's pages after it. So a backup
// is read directly (O_DIRECT, in blocks of directBlock bytes: the
// kernel skips the page cache, which on a virtual machine here cost more
// CPU than decrypting), or where the file system does not allow that,
// through the page cache, dropping what was read (a dropBehindReader).
// Writing it goes around the page cache too (store/directio), and the
// file is dropped from the cache after its fsync (dropCache).
//
// All of these are hints: an error (a file system without them) changes
// nothing but the speed.

// readWindow is how many bytes a dropBehindReader reads before it drops
// them.
const readWindow = 8 << 20

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
	if r.off-r.dropped >= readWindow || (err == io.EOF && r.off > r.dropped) {
		unix.Fadvise(int(r.f.Fd()), r.dropped, r.off-r.dropped, unix.FADV_DONTNEED)
		r.dropped = r.off
	}
	return n, err
}

// directBlock is the size of a direct read.
const directBlock = 1 << 20

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
	return f, &directReader{d: d, f: f, buf: directio.AlignedBuffer(directBlock)}, nil
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
