package store

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"filippo.io/age"
)

// L3: once Create has renamed directory.valv into place the vault
// exists; a failing fsync of the folder after that must not be reported
// as a failure, since `valv init` then deletes the recovery key of a
// vault that exists.
func TestCreateFolderSyncFailureKeepsVault(t *testing.T) {
	old := syncDir
	syncDir = func(string) error { return errors.New("fsync: input/output error") }
	t.Cleanup(func() { syncDir = old })
	rec, err := age.GenerateX25519Identity()
	mustNoErr(t, err)
	admin := newTestHolder(t, "Alva Admin", RoleAdmin)
	dir := filepath.Join(t.TempDir(), "vault")
	v, err := Create(dir, rec, admin.info)
	_, statErr := os.Stat(filepath.Join(dir, DirectoryFile))
	if err != nil && statErr == nil {
		t.Fatalf("Create reported %v, but the vault exists", err)
	}
	mustNoErr(t, err)
	mustNoErr(t, v.Close())
	syncDir = old
	v, err = Open(dir)
	mustNoErr(t, err)
	defer v.Close()
	s, err := v.Unlock(rec, nil)
	mustNoErr(t, err)
	mustNoErr(t, s.Lock())
}
