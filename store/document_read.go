package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"filippo.io/age"
	bolt "go.etcd.io/bbolt"
)

// The read pipeline of ExportDocument. age's DecryptReaderAt opens any
// range of an age file on its own (each 64 KiB STREAM chunk authenticates
// under its index, the final one is checked first), and its ReadAt may be
// called concurrently; so the content is cut into segments of
// docSegment bytes that docWorkers goroutines decrypt at once, while the
// caller's goroutine writes the segments in order to the destination and
// another goroutine hashes each segment as it is written.
//
// The ciphertext is read through a chunkSource: the document's chunks as
// one io.ReaderAt, each read in a short read transaction of its own.

const (
	docSegment  = 1 << 20   // bytes of content decrypted by a worker at a time
	docSegments = 6         // segments in memory: decrypting, decrypted, writing
	docWrite    = 256 << 10 // bytes per write to the destination
)

// writePieces writes p to w in writes of docWrite bytes. On Linux a
// buffered write of 1 MiB to a file costs about three times the CPU time
// of four writes of 256 KiB (measured here: the copy into the page cache
// runs from the cache rather than from memory), and a small write costs
// a system call per few bytes.
func writePieces(w io.Writer, p []byte) error {
	for len(p) > 0 {
		n := min(len(p), docWrite)
		if _, err := w.Write(p[:n]); err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

// docWorkers is the number of goroutines that decrypt.
var docWorkers = min(runtime.GOMAXPROCS(0), 4)

// A chunkSource is a document's age file, as stored in its chunks, as an
// io.ReaderAt. Every chunk but the last has the length of the first
// (what chunkWriter writes); a chunk that is missing or has another
// length is ErrDocumentDamaged.
type chunkSource struct {
	db     *bolt.DB
	id     DocumentID
	length int64  // bytes of the age file (from the metadata)
	chunks uint64 // chunks (from the metadata)
	size   int64  // bytes of every chunk but the last

	// copied[i] counts the bytes of chunk i copied out so far (by
	// several workers, a range each); at[i] is 1 + where chunk i lies in
	// the file, until its pages are dropped (0: not seen, or dropped).
	copied []atomic.Int64
	at     []atomic.Int64
	lag    int64 // see dropLag
}

// dropLag is how many chunks of size bytes behind a completed chunk the
// pages of another are dropped: the workers read up to docSegments
// segments at once, in any order, and bbolt's searches for the chunks
// being read touch the keys of the others in their leaf (up to
// leafSpan), which would fault in again pages dropped too early.
func dropLag(size int64) int64 {
	return (docSegments*docSegment+size-1)/size + 2*leafSpan
}

func (s *chunkSource) damaged(format string, args ...any) error {
	return fmt.Errorf("%w: document %s: %s", ErrDocumentDamaged, s.id, fmt.Sprintf(format, args...))
}

// openChunkSource reads the first chunk's length and checks that the
// metadata's length and number of chunks agree with it.
func openChunkSource(db *bolt.DB, id DocumentID, m *docMeta) (*chunkSource, error) {
	s := &chunkSource{db: db, id: id, length: m.length, chunks: m.chunks}
	err := db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bDocChunks)
		if b == nil {
			return s.damaged("its chunks are missing")
		}
		s.size = int64(len(b.Get(chunkKey(id, 0))))
		return nil
	})
	if err != nil {
		return nil, err
	}
	switch {
	case s.size == 0 || s.size > docChunkMax:
		return nil, s.damaged("chunk 0 is missing or has a bad length")
	case s.length <= 0 || uint64((s.length+s.size-1)/s.size) != s.chunks:
		return nil, s.damaged("%d chunks of %d bytes do not hold %d bytes", s.chunks, s.size, s.length)
	}
	s.copied = make([]atomic.Int64, s.chunks)
	s.at = make([]atomic.Int64, s.chunks)
	s.lag = dropLag(s.size)
	return s, nil
}

// ReadAt reads from the chunks that hold [off, off+len(p)), in one read
// transaction. When it starts a chunk, it advises the kernel to read the
// one docReadAhead chunks on (bbolt maps the file with MADV_RANDOM, which
// turns off readahead). Once a chunk has been copied out whole (its
// ranges may be read by different workers), the pages of the chunk
// s.lag before it are dropped from this process's map (they stay in
// the page cache), so that an export's resident memory does not grow
// with the document; release drops the rest.
func (s *chunkSource) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= s.length {
		return 0, io.EOF
	}
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bDocChunks)
		if b == nil {
			return s.damaged("its chunks are missing")
		}
		for len(p) > 0 && off < s.length {
			i, in := off/s.size, off%s.size
			want := min(s.size, s.length-i*s.size)
			v := b.Get(chunkKey(s.id, uint64(i)))
			switch {
			case v == nil:
				return s.damaged("chunk %d is missing", i)
			case int64(len(v)) != want:
				return s.damaged("chunk %d has %d bytes, not %d", i, len(v), want)
			}
			if in == 0 {
				if next := uint64(i) + docReadAhead; next < s.chunks {
					adviseWillNeed(b.Get(chunkKey(s.id, next)))
				}
			}
			if at, ok := (txMap{tx}).offset(v); ok && in == 0 {
				s.at[i].CompareAndSwap(0, at+1)
			}
			k := copy(p, v[in:])
			p, off, n = p[k:], off+int64(k), n+k
			if s.copied[i].Add(int64(k)) >= want && i >= s.lag {
				s.drop(txMap{tx}, i-s.lag)
			}
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	if len(p) > 0 {
		return n, io.EOF
	}
	return n, nil
}

// drop drops the pages of chunk i, if they were seen and not dropped.
func (s *chunkSource) drop(m txMap, i int64) {
	if at := s.at[i].Swap(0); at > 0 {
		dropPages(m, at-1, min(s.size, s.length-i*s.size))
	}
}

// release drops the pages of the chunks not dropped yet.
func (s *chunkSource) release() {
	s.db.View(func(tx *bolt.Tx) error {
		for i := range s.at {
			s.drop(txMap{tx}, int64(i))
		}
		return nil
	})
}

// adviseAhead advises the kernel to read the first docReadAhead chunks.
func (s *chunkSource) adviseAhead() {
	s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bDocChunks); b != nil {
			c := b.Cursor()
			k, v := c.Seek(chunkKey(s.id, 0))
			for i := 0; i < docReadAhead && k != nil && bytes.HasPrefix(k, s.id[:]); i++ {
				adviseWillNeed(v)
				k, v = c.Next()
			}
		}
		return nil
	})
}

// openDocumentAt opens the document's age file (and its inner layer, if
// protected) as an io.ReaderAt of the content, and returns the content's
// size according to age.
func openDocumentAt(src *chunkSource, identity age.Identity, protected bool, passphrase string) (io.ReaderAt, int64, error) {
	outer, size, err := age.DecryptReaderAt(src, src.length, identity)
	if err != nil {
		if errors.Is(err, ErrDocumentDamaged) {
			return nil, 0, err
		}
		return nil, 0, fmt.Errorf("%w: document %s does not open with the compartment key: %v", ErrDocumentDamaged, src.id, err)
	}
	outer = damagedReaderAt{outer, src.id}
	if !protected {
		return outer, size, nil
	}
	if passphrase == "" {
		return nil, 0, ErrPassphraseNeeded
	}
	si, err := age.NewScryptIdentity(passphrase)
	if err != nil {
		return nil, 0, err
	}
	inner, size, err := age.DecryptReaderAt(outer, size, si)
	var noMatch *age.NoIdentityMatchError
	switch {
	case errors.As(err, &noMatch):
		return nil, 0, ErrWrongPassphrase
	case errors.Is(err, ErrDocumentDamaged):
		return nil, 0, err
	case err != nil:
		return nil, 0, fmt.Errorf("%w: the inner layer of document %s does not open: %v", ErrDocumentDamaged, src.id, err)
	}
	return damagedReaderAt{inner, src.id}, size, nil
}

// damagedReaderAt reports the errors of an age ReaderAt (a chunk that
// does not authenticate) as ErrDocumentDamaged.
type damagedReaderAt struct {
	ra io.ReaderAt
	id DocumentID
}

func (d damagedReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := d.ra.ReadAt(p, off)
	if err != nil && err != io.EOF && !errors.Is(err, ErrDocumentDamaged) {
		err = fmt.Errorf("%w: document %s does not decrypt: %v", ErrDocumentDamaged, d.id, err)
	}
	return n, err
}

// A segment is docSegment bytes of content (less at the end), decrypted
// by a worker.
type segment struct {
	off   int64
	buf   []byte
	err   error
	ready chan struct{} // closed when buf is decrypted (or err set)
}

// copyDocument writes the size bytes of content of ra to w, in order,
// decrypting segments on docWorkers goroutines ahead of the writer, and
// returns the SHA-256 of what it wrote (if hash; zero otherwise). progress, if not nil, is called
// on the caller's goroutine with the bytes written so far. On an error
// (or when ctx is cancelled) it stops, waits for its goroutines and
// returns the error with the bytes written.
func copyDocument(ctx context.Context, w io.Writer, ra io.ReaderAt, size int64, progress func(int64), hash bool) (written int64, sum [sha256.Size]byte, err error) {
	bufs := make([][]byte, docSegments)
	free := make(chan []byte, len(bufs))
	for i := range bufs {
		bufs[i] = make([]byte, min(docSegment, max(size, 1)))
		free <- bufs[i]
	}
	order := make(chan *segment, len(bufs)) // to the writer, in order
	jobs := make(chan *segment, len(bufs))  // to the workers
	stop := make(chan struct{})
	var wg sync.WaitGroup

	// The producer cuts the content into segments as buffers come free.
	wg.Go(func() {
		defer close(order)
		defer close(jobs)
		for off := int64(0); off < size; off += docSegment {
			var buf []byte
			select {
			case buf = <-free:
			case <-stop:
				return
			}
			s := &segment{off: off, buf: buf[:min(docSegment, size-off)], ready: make(chan struct{})}
			order <- s // never blocks: there are only len(bufs) segments
			jobs <- s
		}
	})
	for range docWorkers {
		wg.Go(func() {
			for s := range jobs {
				n, err := ra.ReadAt(s.buf, s.off)
				if n == len(s.buf) && err == io.EOF {
					err = nil
				}
				if err == nil && n != len(s.buf) {
					err = io.ErrUnexpectedEOF
				}
				s.err = err
				close(s.ready)
			}
		})
	}
	// The hasher hashes the segment being written.
	toHash := make(chan []byte)
	hashed := make(chan struct{})
	h := sha256.New()
	wg.Go(func() {
		for b := range toHash {
			if hash {
				h.Write(b)
			}
			hashed <- struct{}{}
		}
	})

	for s := range order {
		if err = ctx.Err(); err != nil {
			break
		}
		<-s.ready
		if err = s.err; err != nil {
			break
		}
		toHash <- s.buf
		werr := writePieces(w, s.buf)
		<-hashed
		if werr != nil {
			err = werr
			break
		}
		written += int64(len(s.buf))
		free <- s.buf[:cap(s.buf)]
		if progress != nil {
			progress(written)
		}
	}
	close(stop)
	for s := range order { // segments still being decrypted
		<-s.ready
	}
	close(toHash)
	wg.Wait()
	for _, b := range bufs {
		clear(b)
	}
	if err != nil {
		return written, sum, err
	}
	h.Sum(sum[:0])
	return written, sum, nil
}

// A txMap is a read transaction's view of bbolt's memory map: where it
// starts and how many bytes of the file it covers.
type txMap struct{ tx *bolt.Tx }

func (m txMap) mapped() (base uintptr, size int64) {
	return m.tx.DB().Info().Data, m.tx.Size()
}

// offset returns where in the file v lies, if v is in the map.
func (m txMap) offset(v []byte) (int64, bool) {
	base, size := m.mapped()
	p := uintptr(unsafe.Pointer(unsafe.SliceData(v)))
	if base == 0 || p < base {
		return 0, false
	}
	off := int64(p - base)
	return off, off+int64(len(v)) <= size
}
