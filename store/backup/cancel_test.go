package backup

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"filippo.io/age"

	"github.com/valv-vault/valv/store"
)

// Cancelling a backup while it writes stops it, leaves nothing on the
// medium, and logs a failed backup; cancelling a restore removes what
// it wrote.
func TestCancelBackupAndRestore(t *testing.T) {
	old := progressStep
	progressStep = 64 << 10
	t.Cleanup(func() { progressStep = old })
	f := newFixture(t, 1, 50, 4, 400<<10)
	out := t.TempDir()
	s := f.unlock(t)
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	_, err := Write(s, out, Options{App: "test", Context: ctx, Progress: func(p Progress) {
		calls++
		if p.Phase == "backup" {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) || calls == 0 {
		t.Fatalf("cancelled backup: %v after %d progress reports", err, calls)
	}
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Fatalf("a cancelled backup left %d files", len(ents))
	}
	failed := false
	must(t, s.ExportAudit(func(e store.ExportedEntry) error {
		failed = failed || e.Action == store.ActionBackup && e.Count == -1
		return nil
	}))
	if !failed {
		t.Error("the cancelled backup is not logged as failed")
	}
	must(t, s.Lock())

	res := f.backup(t, out)
	into := filepath.Join(t.TempDir(), "restored")
	ctx, cancel = context.WithCancel(context.Background())
	_, err = Restore(res.Path, into, RestoreOptions{ReadOptions: ReadOptions{Identities: []age.Identity{f.recovery}, Context: ctx,
		Progress: func(Progress) { cancel() }}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled restore: %v", err)
	}
	if _, err := os.Stat(into); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a cancelled restore left %s behind (%v)", into, err)
	}
}
