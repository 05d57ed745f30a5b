package store

import (
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// TestDiskPacer: reserve allocates blocks past the end of the file
// without changing its size (and not again while they last), the
// writeback leaves nothing dirty that the pacer's file had, and stop
// ends the pacer's goroutine.
func TestDiskPacer(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the pacer is a no-op here")
	}
	path := filepath.Join(t.TempDir(), "f")
	mustNoErr(t, os.WriteFile(path, make([]byte, 1<<20), 0o600))
	before := runtime.NumGoroutine()
	p := startDiskPacer(path)
	if p == nil {
		t.Fatal("no pacer for an existing file")
	}
	blocks := func() int64 {
		var st syscall.Stat_t
		mustNoErr(t, syscall.Stat(path, &st))
		if st.Size != 1<<20 {
			t.Fatalf("the file's size changed to %d", st.Size)
		}
		return st.Blocks * 512
	}
	p.reserve(2 << 20)
	got := blocks()
	if got < 1<<20+docGrowBytes {
		t.Skipf("fallocate reserved nothing here (%d bytes allocated)", got)
	}
	p.reserve(2 << 20)
	if blocks() != got {
		t.Fatal("a second reserve within the reserved blocks allocated more")
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	mustNoErr(t, err)
	_, err = f.WriteAt(make([]byte, 4<<20), 1<<20)
	mustNoErr(t, err)
	f.Close()
	time.Sleep(20 * writebackEvery)
	p.stop()
	for i := 0; runtime.NumGoroutine() > before && i < 100; i++ {
		time.Sleep(time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines after stop, %d before start", n, before)
	}
	if startDiskPacer(filepath.Join(t.TempDir(), "missing")) != nil {
		t.Fatal("a pacer for a missing file")
	}
	var none *diskPacer
	none.reserve(1) // a nil pacer does nothing
	none.dropBehind([]mapRange{{0, 1 << 20}})
	none.stop()
}
