package backup

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestDirectWriter: what a directWriter writes is what it was given, for
// sizes around its block size and in writes of any length; where a
// direct write is refused part way (EINVAL: here misaligned blocks), it
// goes on through the page cache from where it was, losing nothing.
func TestDirectWriter(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte, piece int, misalign bool) *directWriter {
		t.Helper()
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		must(t, err)
		defer f.Close()
		w := newDirectWriter(f)
		if misalign {
			// The first block stays aligned; the others are not.
			for range directWriteBlocks - 1 {
				<-w.free
			}
			for range directWriteBlocks - 1 {
				w.free <- alignedBuffer(directWriteBlock + 1)[1:][:0]
			}
		}
		for p := data; len(p) > 0; {
			k := min(piece, len(p))
			n, err := w.Write(p[:k])
			if err != nil || n != k {
				t.Fatalf("%s: Write %d of %d: %v", name, n, k, err)
			}
			p = p[k:]
		}
		must(t, w.Close())
		got, err := os.ReadFile(f.Name())
		must(t, err)
		if !bytes.Equal(got, data) {
			t.Fatalf("%s: %d bytes written, %d read back, not the same", name, len(data), len(got))
		}
		return w
	}
	for _, n := range []int{0, 1, directAlign, directWriteBlock - 1, directWriteBlock, directWriteBlock + 1, (directWriteBlocks+1)*directWriteBlock + 4097} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i*13 + i>>12)
		}
		for _, piece := range []int{65536 + 16, 1 << 20, 3*directWriteBlock + 7} {
			write("f", data, piece, false)
			os.Remove(filepath.Join(dir, "f"))
		}
	}

	data := make([]byte, 3*directWriteBlock+100)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if d, err := os.OpenFile(filepath.Join(dir, "probe"), os.O_WRONLY|os.O_CREATE|unix.O_DIRECT, 0o600); err != nil {
		t.Skipf("no O_DIRECT here: %v", err)
	} else {
		d.Close()
	}
	w := write("g", data, 65536+16, true)
	if w.fall == nil {
		t.Fatal("a refused direct write did not fall back to the page cache")
	}
}

// TestDirectWriterError: a failed write (the medium full) is returned by
// a later Write or by Close, and nothing more is written after it.
func TestDirectWriterError(t *testing.T) {
	f, err := os.OpenFile(filepath.Join(t.TempDir(), "f"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	must(t, err)
	defer f.Close()
	w := newDirectWriter(f)
	// Close the file under the writer: every write fails from then on.
	if w.d != nil {
		w.d.Close()
	}
	f2, _ := os.Open(f.Name())
	w.f = f2 // read-only: the fallback's writes fail too
	defer f2.Close()
	var werr error
	for i := 0; i < 2*directWriteBlocks && werr == nil; i++ {
		_, werr = w.Write(make([]byte, directWriteBlock))
	}
	cerr := w.Close()
	if werr == nil && cerr == nil {
		t.Fatal("writes to a closed file reported no error")
	}
	if cerr == nil {
		t.Fatal("Close after a failed write reported no error")
	}
}
