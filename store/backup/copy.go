package backup

import (
	"crypto/sha256"
	"hash"
	"io"
	"sync/atomic"
)

// A fileCopier streams one vault file between a source and the archive
// and computes its SHA-256 on the way, with no copy of the bytes in
// between. bbolt's Tx.WriteTo copies a file's data pages with io.Copy,
// which leaves the reading to the writer's ReadFrom; tar's reader is
// read the same way when a backup is verified or restored.
//
// ReadFrom reads the source in blocks of copyBlock bytes on a goroutine
// of its own, while the caller writes the blocks already read to the
// destination, in order. The SHA-256 runs on whichever of the two does
// the lighter work, so that the two cores are busy with the two
// expensive parts and nothing waits for a third goroutine to be
// scheduled:
//
//   - writing a backup (hashOnRead), the reader reads the vault file
//     (one pread per block) and hashes the block, while the caller
//     encrypts it (tar, then age, which copies it into its chunk and
//     encrypts it there);
//   - verifying or restoring one, the reader reads the tar entry (age
//     decrypts on that goroutine) and the caller hashes the block and
//     writes it to the restored file, or discards it.
//
// Nobody writes to a block while both read it. A block goes back to the
// pool (and is read into again) only when both are done with it: it
// counts its users.
type fileCopier struct {
	w          io.Writer
	pool       *blockPool
	hashOnRead bool
	h          hash.Hash
	n          int64
}

// copyBlock is the size of a read. 256 KiB blocks stay in the CPU's
// cache between the read, the hash and the encryption (a larger buffer
// costs more: see the export's writes in store). copyBlocks of them let
// the reader run that far ahead.
const (
	copyBlock  = 256 << 10
	copyBlocks = 16
)

// A block is a buffer of a blockPool in use.
type block struct {
	buf  []byte // cap copyBlock; len: the bytes in it
	refs atomic.Int32
}

// A blockPool holds the blocks of a backup's fileCopiers.
type blockPool struct{ free chan *block }

func newBlockPool() *blockPool {
	p := &blockPool{free: make(chan *block, copyBlocks)}
	for range copyBlocks {
		p.free <- &block{buf: make([]byte, 0, copyBlock)}
	}
	return p
}

// release ends one user's use of b, and returns it to the pool if that
// was the last.
func (p *blockPool) release(b *block) {
	if b.refs.Add(-1) == 0 {
		b.buf = b.buf[:0]
		p.free <- b
	}
}

// newFileCopier returns a copier that writes to w, hashing on the
// reader's goroutine if hashOnRead. Call Sum for the hash.
func (p *blockPool) newFileCopier(w io.Writer, hashOnRead bool) *fileCopier {
	return &fileCopier{w: w, pool: p, hashOnRead: hashOnRead, h: sha256.New()}
}

// Write hashes and writes p (bbolt writes its two meta pages so).
func (c *fileCopier) Write(p []byte) (int, error) {
	c.h.Write(p)
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// A readBlock is what the reader of ReadFrom read: a block (nil if it
// read nothing) and the error the read ended with.
type readBlock struct {
	b   *block
	err error
}

// ReadFrom reads r to its end (io.EOF) in blocks, on a goroutine of its
// own, and writes and hashes them in order. Any other error of r is
// returned as it is (a truncated tar entry's io.ErrUnexpectedEOF too).
// When it returns, r is no longer read and every block read is hashed.
func (c *fileCopier) ReadFrom(r io.Reader) (int64, error) {
	start := c.n
	blocks := make(chan readBlock, copyBlocks)
	stop := make(chan struct{})
	go func() {
		defer close(blocks)
		for {
			var b *block
			select {
			case <-stop:
				return
			default:
			}
			select {
			case b = <-c.pool.free:
			case <-stop:
				return
			}
			k, err := fill(r, b.buf[:cap(b.buf)])
			b.buf = b.buf[:k]
			if k == 0 {
				c.pool.free <- b
				b = nil
			} else {
				b.refs.Store(2) // the writer, and this goroutine
			}
			blocks <- readBlock{b, err}
			if b != nil {
				if c.hashOnRead {
					c.h.Write(b.buf)
				}
				c.pool.release(b)
			}
			if err != nil {
				return
			}
		}
	}()
	var err error
	stopped := false
	for rb := range blocks {
		if b := rb.b; b != nil {
			if err == nil {
				var n int
				n, err = c.w.Write(b.buf)
				c.n += int64(n)
				if !c.hashOnRead {
					c.h.Write(b.buf[:n])
				}
			}
			c.pool.release(b)
		}
		if err == nil && rb.err != io.EOF {
			err = rb.err
		}
		if err != nil && !stopped {
			close(stop)
			stopped = true
		}
	}
	return c.n - start, err
}

// fill reads into b until it is full or r returns an error (io.EOF at
// its end), like io.ReadFull but passing r's errors on unchanged.
func fill(r io.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := r.Read(b[n:])
		n += k
		if err != nil {
			return n, err
		}
		if k == 0 {
			return n, io.ErrNoProgress
		}
	}
	return n, nil
}

// Sum returns the hash of everything written.
func (c *fileCopier) Sum() []byte { return c.h.Sum(nil) }
