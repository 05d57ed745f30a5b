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
	for _, n := range []int{0, 1, directio.Align, directBlock - 1, directBlock, directBlock + 1, 3*directBlock + 4097} {
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
	// Aligned for the first block, then a misaligned buffer.
	r := &directReader{d: d, f: f, buf: directio.AlignedBuffer(directBlock)}
	first := make([]byte, directBlock)
	_, err = io.ReadFull(r, first)
	must(t, err)
	r.buf = directio.AlignedBuffer(directBlock)[1:]
	rest, err := io.ReadAll(r)
	must(t, err)
	if r.fallback == nil {
		t.Fatal("a misaligned direct read did not fall back to the page cache")
	}
	if !bytes.Equal(append(first, rest...), data) {
		t.Fatal("the fallback lost or changed bytes")
	}
}
