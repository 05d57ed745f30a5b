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

// A dropBehindReader reads a file from its offset on and drops what it
// has read from the page cache, a window at a time.
type dropBehindReader struct {
	f       *os.File
	off     int64 // the file's offset
	dropped int64 // dropped from the cache from where it began up to here
}

// newDropBehindReader reads f from off, where f's offset must be.
func newDropBehindReader(f *os.File, off int64) *dropBehindReader {
	unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_SEQUENTIAL) // a larger readahead
	return &dropBehindReader{f: f, off: off, dropped: off}
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

// A backup is read directBlocks blocks of directBlock bytes ahead of
// the decryption: one direct read at a time (this disk read no faster
// with more), on a goroutine of its own, so that the disk reads the next
// block while the caller decrypts and hashes this one. Read one after the
// other, the read-back took the disk's time plus the decryption's.
const (
	directBlock  = 1 << 20
	directBlocks = 4
)

// openBackup opens a backup file to read it once from its start: with
// O_DIRECT where the file system allows it, else through the page cache,
// dropping what was read. If the reader is an io.Closer, it must be
// closed.
func openBackup(path string) (*os.File, io.Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	d, err := os.OpenFile(path, os.O_RDONLY|unix.O_DIRECT, 0)
	if err != nil {
		return f, newDropBehindReader(f, 0), nil
	}
	return f, newDirectReader(d, f, directBuffers(), unix.Pread), nil
}

// directBuffers are a directReader's aligned buffers.
func directBuffers() [][]byte {
	bufs := make([][]byte, directBlocks)
	for i := range bufs {
		bufs[i] = directio.AlignedBuffer(directBlock)
	}
	return bufs
}

// A directReader reads a file with O_DIRECT, ahead of its caller, into
// aligned buffers. If a direct read fails with EINVAL (a file system that
// accepts the flag but not the read), it goes on through the page cache
// from where that read was.
type directReader struct {
	d, f *os.File // d: opened with O_DIRECT (closed by Close); f: the file

	full chan directRead // what the goroutine read, in file order
	free chan []byte     // buffers to read into
	stop chan struct{}   // closed by Close
	done chan struct{}   // closed when the goroutine has ended

	pread func(fd int, p []byte, off int64) (int, error) // unix.Pread

	cur      directRead // the block being read from: cur.buf[r:]
	r        int
	err      error // the error the reader ended with (io.EOF at the end)
	fallback io.Reader
	closed   bool
}

// A directRead is a block the goroutine read at off, or, with no bytes,
// how its reading ended: io.EOF, an error, or EINVAL (the caller then
// reads on from off through the page cache).
type directRead struct {
	buf []byte
	off int64
	err error
}

// newDirectReader reads d (f opened with O_DIRECT) from its start into
// bufs, in turn, with pread (unix.Pread; tests fail it); each buffer must
// be aligned and as long as the others.
func newDirectReader(d, f *os.File, bufs [][]byte, pread func(fd int, p []byte, off int64) (int, error)) *directReader {
	r := &directReader{d: d, f: f, full: make(chan directRead, len(bufs)+1), free: make(chan []byte, len(bufs)),
		stop: make(chan struct{}), done: make(chan struct{}), pread: pread}
	for _, b := range bufs {
		r.free <- b
	}
	go r.run()
	return r
}

// run reads the file in order until its end, an error, or Close. It
// holds at most every buffer, so a send on full (one more than the
// buffers) never waits.
func (r *directReader) run() {
	defer close(r.done)
	var off int64
	for {
		var buf []byte
		select {
		case buf = <-r.free:
		case <-r.stop:
			return
		}
		select {
		case <-r.stop: // both were ready: Close wins
			return
		default:
		}
		buf = buf[:cap(buf)]
		n, err := r.pread(int(r.d.Fd()), buf, off)
		for errors.Is(err, unix.EINTR) {
			n, err = r.pread(int(r.d.Fd()), buf, off)
		}
		switch {
		case err != nil:
			r.full <- directRead{off: off, err: err}
			return
		case n == 0:
			r.full <- directRead{off: off, err: io.EOF}
			return
		}
		r.full <- directRead{buf: buf[:n], off: off}
		off += int64(n)
	}
}

func (r *directReader) Read(p []byte) (int, error) {
	if r.fallback != nil {
		return r.fallback.Read(p)
	}
	if r.closed {
		return 0, os.ErrClosed
	}
	for r.r == len(r.cur.buf) {
		if r.err != nil {
			return 0, r.err
		}
		if r.cur.buf != nil {
			r.free <- r.cur.buf
		}
		r.cur, r.r = <-r.full, 0
		switch err := r.cur.err; {
		case errors.Is(err, unix.EINVAL):
			// Accepted at open, refused at a read: go on without.
			r.Close()
			if _, err := r.f.Seek(r.cur.off, io.SeekStart); err != nil {
				r.err = err
				return 0, err
			}
			r.fallback = newDropBehindReader(r.f, r.cur.off)
			return r.fallback.Read(p)
		case err != nil:
			r.err = err
			return 0, err
		}
	}
	n := copy(p, r.cur.buf[r.r:])
	r.r += n
	return n, nil
}

// Close stops the reading ahead and closes the direct file (the caller
// closes the other).
func (r *directReader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	close(r.stop)
	<-r.done
	return r.d.Close()
}
