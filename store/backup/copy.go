package backup

import (
	"crypto/sha256"
	"hash"
	"io"
)

// A fileCopier streams one vault file's snapshot into the archive and
// computes its SHA-256 beside, with no copy of the bytes in between.
// bbolt's Tx.WriteTo copies the file's data pages with io.Copy, which
// leaves the reading to the writer's ReadFrom: it reads the file in
// blocks of copyBlock bytes (one pread each), hands each block to a
// goroutine that hashes it (on the other core, while this one encrypts)
// and writes the same block to the archive (tar, then age, which copies
// it into its chunk and encrypts it there). A block is read into again
// only after the hash is done with it (it comes back through the pool)
// and the archive's Write has returned; neither writes to it, so the two
// may read it at once.
type fileCopier struct {
	w    io.Writer
	pool *blockPool
	work chan []byte
	done chan struct{}
	h    hash.Hash
	n    int64
}

// copyBlock is the size of a read of a vault file. 256 KiB blocks stay
// in the CPU's cache between the read, the hash and the encryption (a
// larger buffer costs more: see the export's writes in store).
const (
	copyBlock  = 256 << 10
	copyBlocks = 4
)

// A blockPool holds the blocks of a backup's fileCopiers.
type blockPool struct{ free chan []byte }

func newBlockPool() *blockPool {
	p := &blockPool{free: make(chan []byte, copyBlocks)}
	for range copyBlocks {
		p.free <- make([]byte, copyBlock)
	}
	return p
}

// newFileCopier starts a copier that writes to w. Call Sum or Close.
func (p *blockPool) newFileCopier(w io.Writer) *fileCopier {
	c := &fileCopier{w: w, pool: p, work: make(chan []byte, copyBlocks), done: make(chan struct{}), h: sha256.New()}
	go func() {
		defer close(c.done)
		for b := range c.work {
			c.h.Write(b)
			p.free <- b[:cap(b)]
		}
	}()
	return c
}

// send hashes and writes a block taken from the pool.
func (c *fileCopier) send(b []byte) error {
	c.work <- b
	n, err := c.w.Write(b)
	c.n += int64(n)
	return err
}

// Write copies p into blocks (bbolt writes its two meta pages so).
func (c *fileCopier) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		b := <-c.pool.free
		k := copy(b, p)
		p = p[k:]
		if err := c.send(b[:k]); err != nil {
			return total - len(p) - k, err
		}
	}
	return total, nil
}

// ReadFrom reads r to its end (io.EOF) in blocks, each read straight
// into a block. Any other error of r is returned as it is (a truncated
// tar entry's io.ErrUnexpectedEOF too).
func (c *fileCopier) ReadFrom(r io.Reader) (int64, error) {
	start := c.n
	for {
		b := <-c.pool.free
		k, err := fill(r, b)
		if k > 0 {
			if werr := c.send(b[:k]); werr != nil {
				return c.n - start, werr
			}
		} else {
			c.pool.free <- b
		}
		if err == io.EOF {
			return c.n - start, nil
		}
		if err != nil {
			return c.n - start, err
		}
	}
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
