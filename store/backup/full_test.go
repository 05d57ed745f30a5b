package backup

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"filippo.io/age"

	"github.com/valv-vault/valv/store"
)

// smallMedium mounts a tmpfs of size bytes (root only; otherwise the test
// is skipped, or fails with VALV_REQUIRE_TOOLS=1).
func smallMedium(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "medium")
	must(t, os.Mkdir(dir, 0o700))
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		if os.Getenv("VALV_REQUIRE_TOOLS") == "1" {
			t.Fatalf("mounting a small tmpfs (needs root): %v", err)
		}
		t.Skipf("cannot mount a small tmpfs (needs root): %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, 0) })
	return dir
}

// A medium too small for the backup: the free-space check refuses before
// writing anything, and — with the check bypassed — the real ENOSPC while
// writing gives the same clear error. Either way no file is left and the
// audit log records the backup as failed (-1), never as made.
func TestBackupFullMedium(t *testing.T) {
	f := newFixture(t, 1, 50, 2, 2<<20) // a few MiB
	medium := smallMedium(t, "1m")
	// An earlier, small file on the medium must survive.
	must(t, os.WriteFile(filepath.Join(medium, "notes.txt"), []byte("keep me"), 0o600))
	for _, bypass := range []bool{false, true} {
		skipSpaceCheck = bypass
		s := f.unlock(t)
		_, err := Write(s, medium, Options{App: "test", Signer: f.admin.signer})
		skipSpaceCheck = false
		if err == nil || !strings.Contains(err.Error(), "the medium is full") {
			t.Fatalf("bypass %v: %v", bypass, err)
		}
		if bypass && !strings.Contains(err.Error(), "no space") {
			t.Fatalf("bypass %v: the error does not come from the medium: %v", bypass, err)
		}
		ents, _ := os.ReadDir(medium)
		if len(ents) != 1 || ents[0].Name() != "notes.txt" {
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			t.Fatalf("bypass %v: the medium holds %v", bypass, names)
		}
		failed, made := 0, 0
		must(t, s.ExportAudit(func(e store.ExportedEntry) error {
			if e.Action == store.ActionBackup {
				if e.Count == -1 {
					failed++
				} else {
					made++
				}
			}
			return nil
		}))
		if made != 0 || failed == 0 {
			t.Fatalf("bypass %v: audit log: %d backups made, %d failed", bypass, made, failed)
		}
		must(t, s.Lock())
		t.Logf("bypass %v: %v", bypass, err)
	}
	// A larger medium takes it, and it verifies.
	big := smallMedium(t, "64m")
	res := f.backup(t, big)
	if _, err := VerifyFile(res.Path, ReadOptions{Identities: []age.Identity{f.recovery}}); err != nil {
		t.Fatal(err)
	}
}
