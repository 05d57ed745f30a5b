package backup

import (
	"crypto/sha256"
	"hash"
	"io"
	"sync/atomic"
)

// A fileCopier streams one vault file's snapshot into the archive and
// computes its SHA-256 beside, with no copy of the bytes in between.
// bbolt's Tx.WriteTo copies the file's data pages with io.Copy, which
// leaves the reading to the writer's ReadFrom. Three goroutines share
// the work, so that the two cores are busy with the two expensive parts
// (SHA-256 and age's encryption) and neither waits for the third:
//
//   - a reader reads the file in blocks of copyBlock bytes (one pread
//     each), ahead of the others;
//   - a hasher hashes each block;
//   - the caller writes each block to the archive (tar, then age, which
//     copies it into its chunk and encrypts it there).
//
// Neither the hasher nor the caller writes to a block, so both may read
// it at once. A block goes back to the pool (and is read into again)
// only when both are done with it: it counts its users.
//
// Restoring and verifying use the same copier the other way round: the
// reader then reads a tar entry (age decrypts on that goroutine), the
// caller writes the bytes to the restored file, or discards them.
type fileCopier struct {
	w    io.Writer
	pool *blockPool
	work chan *block
	done chan struct{}
	h    hash.Hash
	n    int64
}

// copyBlock is the size of a read of a vault file. 256 KiB blocks stay
// in the CPU's cache between the read, the hash and the encryption (a
// larger buffer costs more: see the export's writes in store).
// copyBlocks of them let the reader run that far ahead.
const (
	copyBlock  = 256 << 10
	copyBlocks = 8
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

// newFileCopier starts a copier that writes to w. Call Sum or Close.
func (p *blockPool) newFileCopier(w io.Writer) *fileCopier {
	c := &fileCopier{w: w, pool: p, work: make(chan *block, copyBlocks), done: make(chan struct{}), h: sha256.New()}
	go func() {
		defer close(c.done)
		for b := range c.work {
			c.h.Write(b.buf)
			p.release(b)
		}
	}()
	return c
}

// send hashes and writes a block taken from the pool, and gives it back.
func (c *fileCopier) send(b *block) error {
	b.refs.Store(2) // the hasher and this write
	c.work <- b
	n, err := c.w.Write(b.buf)
	c.n += int64(n)
	c.pool.release(b)
	return err
}

// Write copies p into blocks (bbolt writes its two meta pages so).
func (c *fileCopier) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		b := <-c.pool.free
		k := copy(b.buf[:cap(b.buf)], p)
		b.buf = b.buf[:k]
		p = p[k:]
		if err := c.send(b); err != nil {
			return total - len(p) - k, err
		}
	}
	return total, nil
}

// A readBlock is what the reader of ReadFrom read: a block (nil if it
// read nothing) and the error the read ended with.
type readBlock struct {
	b   *block
	err error
}

// ReadFrom reads r to its end (io.EOF) in blocks, each read straight
// into a block, on a goroutine of its own, and writes and hashes them in
// order. Any other error of r is returned as it is (a truncated tar
// entry's io.ErrUnexpectedEOF too). When it returns, r is no longer
// read.
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
			}
			blocks <- readBlock{b, err}
			if err != nil {
				return
			}
		}
	}()
	var err error
	stopped := false
	for rb := range blocks {
		if rb.b != nil {
			if err == nil {
				err = c.send(rb.b)
			} else {
				c.pool.free <- rb.b
			}
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

// Sum waits for the hash of everything written and returns it.
func (c *fileCopier) Sum() []byte {
	c.Close()
	return c.h.Sum(nil)
}

// Close stops the hashing goroutine (after the blocks sent to it).
func (c *fileCopier) Close() {
	if c.work != nil {
		close(c.work)
		<-c.done
		c.work = nil
	}
}
