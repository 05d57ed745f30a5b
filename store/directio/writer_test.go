package directio

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestWriter: what a Writer writes is what it was given, for sizes
// around its block size, in writes of any length, from an aligned offset
// or not (then through the page cache), and the file's offset ends at
// the end; where a direct write is refused part way (EINVAL: here
// misaligned blocks), it goes on through the page cache from where it
// was, losing nothing.
func TestWriter(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, prefix, data []byte, piece int, misalign bool) *Writer {
		t.Helper()
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		must(t, err)
		defer f.Close()
		_, err = f.Write(prefix)
		must(t, err)
		w, err := NewWriter(f)
		must(t, err)
		if misalign {
			// The first block stays aligned; the others are not.
			for range writerBlocks - 1 {
				<-w.free
			}
			for range writerBlocks - 1 {
				w.free <- AlignedBuffer(writerBlock + 1)[1:][:0]
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
		end, err := f.Seek(0, io.SeekCurrent)
		must(t, err)
		if end != int64(len(prefix)+len(data)) {
			t.Fatalf("%s: offset %d after Close, want %d", name, end, len(prefix)+len(data))
		}
		got, err := os.ReadFile(f.Name())
		must(t, err)
		if !bytes.Equal(got, append(prefix, data...)) {
			t.Fatalf("%s: %d bytes written, %d read back, not the same", name, len(prefix)+len(data), len(got))
		}
		return w
	}
	for _, n := range []int{0, 1, Align, writerBlock - 1, writerBlock, writerBlock + 1, (writerBlocks+1)*writerBlock + 4097} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i*13 + i>>12)
		}
		for _, piece := range []int{65536 + 16, 1 << 20, 3*writerBlock + 7} {
			for _, prefix := range [][]byte{nil, make([]byte, Align), []byte("x")} {
				write("f", prefix, data, piece, false)
				os.Remove(filepath.Join(dir, "f"))
			}
		}
	}

	if d, err := os.OpenFile(filepath.Join(dir, "probe"), os.O_WRONLY|os.O_CREATE|unix.O_DIRECT, 0o600); err != nil {
		t.Skipf("no O_DIRECT here: %v", err)
	} else {
		d.Close()
	}
	data := make([]byte, 3*writerBlock+100)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if w := write("aligned", nil, data, 65536+16, false); !w.Direct() {
		t.Fatal("an aligned file on a file system with O_DIRECT was not written directly")
	}
	if w := write("unaligned", []byte("x"), data, 65536+16, false); w.Direct() {
		t.Fatal("a file at an unaligned offset was written directly")
	}
	if w := write("refused", nil, data, 65536+16, true); w.Direct() {
		t.Fatal("a refused direct write did not fall back to the page cache")
	}
}

// TestWriterError: a failed write is returned by a later Write or by
// Close, and nothing more is written after it.
func TestWriterError(t *testing.T) {
	f, err := os.OpenFile(filepath.Join(t.TempDir(), "f"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	must(t, err)
	defer f.Close()
	w, err := NewWriter(f)
	must(t, err)
	// Close the handles under the writer: every write fails from then on.
	if w.d != nil {
		w.d.Close()
	}
	ro, err := os.Open(f.Name())
	must(t, err)
	defer ro.Close()
	w.f = ro
	if w.fall != nil {
		w.fall.f = ro
	}
	var werr error
	for i := 0; i < 2*writerBlocks && werr == nil; i++ {
		_, werr = w.Write(make([]byte, writerBlock))
	}
	if werr == nil {
		t.Fatal("writes to a closed file reported no error")
	}
	if err := w.Close(); err == nil {
		t.Fatal("Close after a failed write reported no error")
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Fatal("a Write after Close reported no error")
	}
	st, err := os.Stat(f.Name())
	must(t, err)
	if st.Size() != 0 {
		t.Fatalf("%d bytes written to a file whose writes failed", st.Size())
	}
}

// TestWriterAppend: a file open for appending is refused (it has no
// offsets to write at), and nothing is written to it.
func TestWriterAppend(t *testing.T) {
	f, err := os.OpenFile(filepath.Join(t.TempDir(), "f"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	must(t, err)
	defer f.Close()
	if _, err := NewWriter(f); err == nil {
		t.Fatal("a file open for appending was accepted")
	}
}

// TestWriterNotRegular: what is not a regular file is refused.
func TestWriterNotRegular(t *testing.T) {
	r, w, err := os.Pipe()
	must(t, err)
	defer r.Close()
	defer w.Close()
	if _, err := NewWriter(w); err == nil {
		t.Fatal("a pipe was accepted")
	}
}

// TestWritebackFile: the page cache path writes what it is given, at the
// offsets given, across several windows.
func TestWritebackFile(t *testing.T) {
	f, err := os.OpenFile(filepath.Join(t.TempDir(), "f"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	must(t, err)
	defer f.Close()
	data := make([]byte, 5*writebackWindow+3)
	for i := range data {
		data[i] = byte(i * 5)
	}
	w := NewWritebackFile(f, 0)
	for p := data; len(p) > 0; {
		k := min(len(p), 1<<20+1)
		n, err := w.Write(p[:k])
		must(t, err)
		p = p[n:]
	}
	must(t, f.Sync())
	got, err := os.ReadFile(f.Name())
	must(t, err)
	if !bytes.Equal(got, data) {
		t.Fatal("not the same bytes")
	}
}
