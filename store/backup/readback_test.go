package backup

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/valv-vault/valv/store/directio"
)

// TestReadBackupFile: openBackup reads a file whole, with O_DIRECT where
// the file system allows it, for sizes around the block size; a direct
// read the kernel refuses (EINVAL: here a misaligned buffer) goes on
// through the page cache from where it was, losing nothing.
func TestReadBackupFile(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{0, 1, directio.Align, directBlock - 1, directBlock, directBlock + 1, 3*directBlock + 4097, (2*directBlocks+1)*directBlock + 1} {
		p, data := patternFile(t, dir, "f", n)
		f, r, err := openBackup(p)
		must(t, err)
		closeReader(t, f, r)
		got, err := io.ReadAll(r)
		must(t, err)
		if !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: read %d, not the same", n, len(got))
		}
	}

	data, d, f := openDirect(t, 2*directBlock+100)
	// Aligned for the first block, then a misaligned buffer: the second
	// direct read fails.
	r := newDirectReader(d, f, [][]byte{directio.AlignedBuffer(directBlock), directio.AlignedBuffer(directBlock + 1)[1:]}, unix.Pread)
	t.Cleanup(func() { r.Close() })
	got, err := io.ReadAll(r)
	must(t, err)
	if r.fallback == nil {
		t.Fatal("a misaligned direct read did not fall back to the page cache")
	}
	if !bytes.Equal(got, data) {
		t.Fatal("the fallback lost or changed bytes")
	}
	if r.fallback.(*dropBehindReader).dropped != int64(len(data)) {
		t.Fatalf("the fallback dropped the page cache up to %d, not to the end (%d)", r.fallback.(*dropBehindReader).dropped, len(data))
	}
	must(t, r.Close())
}

// patternFile writes n bytes that differ from block to block to a new
// file name in dir.
func patternFile(t *testing.T, dir, name string, n int) (string, []byte) {
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(i*31 + i>>12)
	}
	p := filepath.Join(dir, name)
	must(t, os.WriteFile(p, data, 0o600))
	return p, data
}

// openDirect writes a file of n bytes and opens it twice, with O_DIRECT
// (the test is skipped where the file system refuses it) and plainly;
// both are closed when the test ends, the direct one by the reader.
func openDirect(t *testing.T, n int) (data []byte, d, f *os.File) {
	p, data := patternFile(t, t.TempDir(), "f", n)
	d, err := os.OpenFile(p, os.O_RDONLY|unix.O_DIRECT, 0)
	if err != nil {
		t.Skipf("no O_DIRECT here: %v", err)
	}
	f, err = os.Open(p)
	must(t, err)
	t.Cleanup(func() { f.Close() })
	return data, d, f
}

// closeReader closes what openBackup returned when the test ends.
func closeReader(t *testing.T, f *os.File, r io.Reader) {
	t.Cleanup(func() {
		if c, ok := r.(io.Closer); ok {
			c.Close()
		}
		f.Close()
	})
}

// TestDirectReaderError: a direct read that fails part-way (here EIO, a
// medium pulled out) is returned after every byte read before it, and
// again on every later Read; Close still ends the reading ahead.
func TestDirectReaderError(t *testing.T) {
	data, d, f := openDirect(t, 6*directBlock)
	failAt := int64(2 * directBlock)
	r := newDirectReader(d, f, directBuffers(), func(fd int, b []byte, off int64) (int, error) {
		if off >= failAt {
			return 0, unix.EIO
		}
		return unix.Pread(fd, b, off)
	})
	got, err := io.ReadAll(r)
	if !errors.Is(err, unix.EIO) {
		t.Fatalf("read to the end: %v; want EIO", err)
	}
	if !bytes.Equal(got, data[:failAt]) {
		t.Fatalf("got %d bytes before the error, want the file's first %d", len(got), failAt)
	}
	for range 2 {
		if n, err := r.Read(make([]byte, 10)); n != 0 || !errors.Is(err, unix.EIO) {
			t.Fatalf("after the error: %d, %v; want 0, EIO", n, err)
		}
	}
	must(t, r.Close())
	<-r.done
	if r.fallback != nil {
		t.Fatal("an I/O error fell back to the page cache")
	}
}

// TestDirectReaderClose: closing a directReader part-way stops its
// reading ahead and closes the direct file; reading after the end keeps
// returning io.EOF.
func TestDirectReaderClose(t *testing.T) {
	p, data := patternFile(t, t.TempDir(), "f", 3*directBlocks*directBlock)
	f, r, err := openBackup(p)
	must(t, err)
	closeReader(t, f, r)
	dr, ok := r.(*directReader)
	if !ok {
		t.Skip("no O_DIRECT here")
	}
	part := make([]byte, directBlock+10)
	_, err = io.ReadFull(dr, part)
	must(t, err)
	if !bytes.Equal(part, data[:len(part)]) {
		t.Fatal("read other bytes than the file's")
	}
	must(t, dr.Close())
	select {
	case <-dr.done:
	default:
		t.Fatal("the goroutine still runs after Close")
	}
	if _, err := dr.d.Stat(); err == nil {
		t.Fatal("the direct file is still open after Close")
	}
	must(t, dr.Close()) // a second Close does nothing
	if _, err := dr.Read(part); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Read after Close: %v; want os.ErrClosed", err)
	}

	f2, r2, err := openBackup(p)
	must(t, err)
	closeReader(t, f2, r2)
	got, err := io.ReadAll(r2)
	must(t, err)
	if !bytes.Equal(got, data) {
		t.Fatal("read other bytes than the file's")
	}
	for range 2 {
		if n, err := r2.Read(make([]byte, 10)); n != 0 || err != io.EOF {
			t.Fatalf("after the end: %d, %v; want 0, EOF", n, err)
		}
	}
	must(t, r2.(io.Closer).Close())
}
