// Package directio writes large files around the page cache.
//
// Valv writes a few large files whose bytes nobody reads again soon: a
// backup (read back once, from the medium), an exported document (handed
// to another program, often on a USB stick). Through the page cache such
// a write costs the CPU more than encrypting or decrypting the bytes
// does: the kernel allocates and accounts for every page (and for a new
// file's blocks) as it copies the bytes in, and the disk starts only
// when told to. On a virtual machine whose free memory goes back to the
// host, the cost also varies from run to run by two to three times, as
// new pages come from the host or not. A direct write (O_DIRECT) hands
// the disk the buffer itself and returns once the disk has it: 1 GiB
// took 0.6–0.8 s and 0.1–0.2 CPU seconds so on the development machine,
// against 0.45–0.55 CPU seconds (to 2.4 s on a bad run) for the page
// cache's copies alone, and 0.8–0.9 s for cp + sync.
//
// A Writer gathers the bytes into aligned blocks and writes each full
// block from a goroutine of its own, while the caller produces the next.
// Where the file system refuses O_DIRECT (at open, or EINVAL at a
// write), the blocks go through the page cache instead, starting their
// writeback early and dropping them behind (WritebackFile): slower, the
// same bytes. Either way the caller still fsyncs the file for
// durability: a direct write may sit in the disk's own cache.
package directio

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Align is the alignment O_DIRECT asks of buffers, file offsets and
// lengths (the logical block size: 4096 bytes covers every disk, SD card
// and USB stick in use).
const Align = 4096

// AlignedBuffer returns n bytes aligned for O_DIRECT.
func AlignedBuffer(n int) []byte {
	buf := make([]byte, n+Align)
	off := int(uintptr(unsafe.Pointer(&buf[0])) & (Align - 1))
	if off != 0 {
		off = Align - off
	}
	return buf[off : off+n : off+n]
}

// Block sizes of a Writer: blocks of 4 MiB written one at a time cost
// the least CPU in the measurements above; three let the caller fill
// one while one is written and one waits.
const (
	writerBlock  = 8 << 20
	writerBlocks = 3
)

// A Writer writes a file from its current offset, in order, around the
// page cache where it can. Close must be called; it writes the last,
// partial block (through the page cache: O_DIRECT takes whole blocks
// only) and leaves the file's offset at the end of what was written.
// The first error of a write is returned by the next Write, or by Close;
// after it nothing more is written.
type Writer struct {
	f    *os.File // the file (the tail; the fallback)
	d    *os.File // the same file with O_DIRECT, or nil
	fall *WritebackFile

	buf  []byte      // the block being filled (len: bytes in it)
	free chan []byte // empty blocks
	full chan blockAt
	done chan struct{}
	off  int64 // file offset of buf[0]

	mu  sync.Mutex
	err error // the first error of a write
}

type blockAt struct {
	b   []byte
	off int64
}

// NewWriter starts writing f (a regular file, opened for writing) at
// its current offset. Anything else is refused, as is a file opened for
// appending (O_APPEND, which has no offsets to write at): the caller
// then writes it as it is.
func NewWriter(f *os.File) (*Writer, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, errors.New("directio: not a regular file")
	}
	if fl, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0); err != nil {
		return nil, err
	} else if fl&unix.O_APPEND != 0 {
		return nil, errors.New("directio: the file is open for appending")
	}
	off, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, err
	}
	w := &Writer{f: f, off: off, free: make(chan []byte, writerBlocks), full: make(chan blockAt, writerBlocks), done: make(chan struct{})}
	if off%Align == 0 {
		w.d = openDirect(f, st)
	}
	if w.d == nil {
		w.fall = NewWritebackFile(f, off)
	}
	for range writerBlocks {
		w.free <- AlignedBuffer(writerBlock)[:0]
	}
	w.buf = <-w.free
	go w.run()
	return w, nil
}

// openDirect opens f (whose FileInfo is fst) again with O_DIRECT, or
// returns nil.
func openDirect(f *os.File, fst os.FileInfo) *os.File {
	d, err := os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", f.Fd()), os.O_WRONLY|unix.O_DIRECT, 0)
	if err != nil {
		d, err = os.OpenFile(f.Name(), os.O_WRONLY|unix.O_DIRECT, 0)
	}
	if err != nil {
		return nil
	}
	if st, err := d.Stat(); err != nil || !os.SameFile(st, fst) {
		d.Close()
		return nil
	}
	return d
}

// run writes the full blocks in order.
func (w *Writer) run() {
	defer close(w.done)
	for blk := range w.full {
		if w.failed() == nil {
			if err := w.writeAt(blk.b, blk.off); err != nil {
				w.mu.Lock()
				w.err = err
				w.mu.Unlock()
			}
		}
		w.free <- blk.b[:0]
	}
}

func (w *Writer) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// writeAt writes one whole block at off: directly, or, once the file
// system has refused that, through the page cache.
func (w *Writer) writeAt(b []byte, off int64) error {
	if w.d != nil {
		n, err := w.d.WriteAt(b, off)
		if err == nil || !errors.Is(err, unix.EINVAL) || n != 0 {
			return err
		}
		// Accepted at open, refused at the write: go on without.
		w.d.Close()
		w.d = nil
		w.fall = NewWritebackFile(w.f, off)
	}
	_, err := w.fall.WriteAt(b, off)
	return err
}

func (w *Writer) Write(p []byte) (int, error) {
	if w.full == nil {
		return 0, errors.New("directio: write after Close")
	}
	total := len(p)
	for len(p) > 0 {
		k := copy(w.buf[len(w.buf):cap(w.buf)], p)
		w.buf = w.buf[:len(w.buf)+k]
		p = p[k:]
		if len(w.buf) == cap(w.buf) {
			w.full <- blockAt{w.buf, w.off}
			w.off += int64(len(w.buf))
			w.buf = <-w.free
			if err := w.failed(); err != nil {
				return total - len(p), err
			}
		}
	}
	return total, nil
}

// Direct says whether the blocks written so far went around the page
// cache.
func (w *Writer) Direct() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.fall == nil
}

// Close writes what is left, waits for the writes, and sets the file's
// offset to their end. It returns the first error. It neither fsyncs nor
// closes the file.
func (w *Writer) Close() error {
	if w.full == nil {
		return w.failed()
	}
	close(w.full)
	<-w.done // the goroutine has ended: what it set is this goroutine's now
	w.full = nil
	if w.d != nil {
		if err := w.d.Close(); w.err == nil {
			w.err = err
		}
	}
	if w.err == nil && len(w.buf) > 0 {
		_, w.err = w.f.WriteAt(w.buf, w.off)
		w.off += int64(len(w.buf))
	}
	if w.err == nil {
		_, w.err = w.f.Seek(w.off, io.SeekStart)
	}
	return w.err
}

// SetProcessors gives Go one processor (GOMAXPROCS) more than it takes
// by default, unless the environment sets GOMAXPROCS. A goroutine in a
// direct write (8 MiB: milliseconds) holds its processor until the
// runtime's monitor takes it back from the system call, which may be
// milliseconds later; with as many processors as cores, a core then
// idles while the encryption waits for a processor. On the development
// machine (2 cores) a backup's write phase took 1.24–1.64 s with 2
// processors and 1.06–1.23 s with 3; adding a document took the same
// time with either. A program that writes through a Writer calls it once,
// at its start.
func SetProcessors() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + 1)
	}
}
