package backup

import (
	"bytes"
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
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i*31 + i>>12)
		}
		p := filepath.Join(dir, "f")
		must(t, os.WriteFile(p, data, 0o600))
		f, r, err := openBackup(p)
		must(t, err)
		got, err := io.ReadAll(r)
		must(t, err)
		if c, ok := r.(io.Closer); ok {
			c.Close()
		}
		f.Close()
		if !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: read %d, not the same", n, len(got))
		}
	}

	data := make([]byte, 2*directBlock+100)
	for i := range data {
		data[i] = byte(i * 7)
	}
	p := filepath.Join(dir, "g")
	must(t, os.WriteFile(p, data, 0o600))
	d, err := os.OpenFile(p, os.O_RDONLY|unix.O_DIRECT, 0)
	if err != nil {
		t.Skipf("no O_DIRECT here: %v", err)
	}
	f, err := os.Open(p)
	must(t, err)
	defer f.Close()
	// Aligned for the first block, then a misaligned buffer: the second
	// direct read fails.
	r := newDirectReader(d, f, [][]byte{directio.AlignedBuffer(directBlock), directio.AlignedBuffer(directBlock + 1)[1:]})
	got, err := io.ReadAll(r)
	must(t, err)
	if r.fallback == nil {
		t.Fatal("a misaligned direct read did not fall back to the page cache")
	}
	if !bytes.Equal(got, data) {
		t.Fatal("the fallback lost or changed bytes")
	}
	must(t, r.Close())
}

// TestDirectReaderClose: closing a directReader part-way stops its
// reading ahead and closes the direct file; reading after the end keeps
// returning io.EOF.
func TestDirectReaderClose(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	data := make([]byte, (3*directBlocks)*directBlock)
	for i := range data {
		data[i] = byte(i * 13)
	}
	must(t, os.WriteFile(p, data, 0o600))
	f, r, err := openBackup(p)
	must(t, err)
	defer f.Close()
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

	f2, r2, err := openBackup(p)
	must(t, err)
	defer f2.Close()
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
