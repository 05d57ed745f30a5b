package backup

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"
)

// TestFileCopier: what the copier writes and hashes is what it was given,
// in order, for sizes around its block size, through Write and ReadFrom
// (as bbolt's WriteTo uses it), hashing on either side; a reader's error
// other than io.EOF comes back unchanged, so a truncated entry is not
// taken for its end.
func TestFileCopier(t *testing.T) {
	for _, hashOnRead := range []bool{true, false} {
		testFileCopier(t, hashOnRead)
	}
}

func testFileCopier(t *testing.T, hashOnRead bool) {
	pool := newBlockPool()
	for _, n := range []int{0, 1, 4096, copyBlock - 1, copyBlock, copyBlock + 1, copyBlocks*copyBlock + 5} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i*7 + i>>11)
		}
		var out bytes.Buffer
		c := pool.newFileCopier(&out, hashOnRead)
		head := min(n, 8192)
		if _, err := c.Write(data[:head]); err != nil {
			t.Fatal(err)
		}
		// a reader that returns few bytes at a time, and data with EOF
		m, err := c.ReadFrom(iotest.HalfReader(iotest.DataErrReader(bytes.NewReader(data[head:]))))
		if err != nil || m != int64(n-head) {
			t.Fatalf("hash on read %v, %d bytes: ReadFrom %d, %v", hashOnRead, n, m, err)
		}
		sum := c.Sum()
		want := sha256.Sum256(data)
		if !bytes.Equal(out.Bytes(), data) || !bytes.Equal(sum, want[:]) {
			t.Fatalf("%d bytes: wrote %d bytes, hash equal %v", n, out.Len(), bytes.Equal(sum, want[:]))
		}
	}
	c := pool.newFileCopier(io.Discard, hashOnRead)
	trunc := io.MultiReader(bytes.NewReader(make([]byte, 1000)), iotest.ErrReader(io.ErrUnexpectedEOF))
	if _, err := c.ReadFrom(trunc); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated: %v", err)
	}
	failing := pool.newFileCopier(errWriter{}, hashOnRead)
	if _, err := failing.ReadFrom(bytes.NewReader(make([]byte, 10))); !errors.Is(err, errFull) {
		t.Fatalf("writer's error: %v", err)
	}
	// A long source stops being read once the writer failed, before
	// ReadFrom returns.
	long := &countingReader{r: io.LimitReader(zeros{}, 1<<30)}
	failing = pool.newFileCopier(errWriter{}, hashOnRead)
	if _, err := failing.ReadFrom(long); !errors.Is(err, errFull) {
		t.Fatalf("writer's error on a long source: %v", err)
	}
	if n := long.n.Load(); n > (copyBlocks+2)*copyBlock {
		t.Fatalf("%d bytes of the source read after the writer failed", n)
	}
	after := long.n.Load()
	time.Sleep(10 * time.Millisecond)
	if long.n.Load() != after {
		t.Fatal("the source is still read after ReadFrom returned")
	}
	if len(pool.free) != copyBlocks {
		t.Fatalf("%d of %d blocks back in the pool", len(pool.free), copyBlocks)
	}
}

var errFull = errors.New("full")

type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, errFull }

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
