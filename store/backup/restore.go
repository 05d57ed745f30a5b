package backup

import (
	"archive/tar"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/valv-vault/valv/store"
)

func randomID() [16]byte {
	var id [16]byte
	rand.Read(id[:])
	return id
}

// RestoreOptions says what to restore.
type RestoreOptions struct {
	ReadOptions
	// Compartment, if set, restores the directory and that compartment
	// only (the others are listed in the directory but their files are
	// absent; an unlock reports them missing).
	Compartment store.CompartmentID
}

// Restore restores a backup into the folder into, which must not exist
// or be empty: a restore never writes over a vault. (To replace a live
// vault, restore next to it, check the copy with a drill or an unlock,
// close Valv and swap the folders.)
//
// Before a file gets its name, the whole backup is decrypted and checked
// as VerifyFile does (signature, sizes, SHA-256), and each restored file's
// vault id and audit log head are compared with the manifest's. The files
// are written under temporary names, fsynced, renamed, and the folder
// fsynced. On any failure what was written is removed.
func Restore(path, into string, opts RestoreOptions) (*Report, error) {
	made, err := prepareTarget(into)
	if err != nil {
		return nil, err
	}
	var written []string // temporary files
	cleanup := func() {
		for _, p := range written {
			os.Remove(p)
		}
		if made {
			os.Remove(into)
		}
	}
	var wanted map[string]bool
	if opts.Compartment != (store.ID{}) {
		wanted = map[string]bool{store.DirectoryFile: true, opts.Compartment.String() + store.FileExt: true}
	}
	var cur *os.File
	finish := func() error {
		if cur == nil {
			return nil
		}
		err := cur.Sync()
		if cerr := cur.Close(); err == nil {
			err = cerr
		}
		cur = nil
		return mediaError("writing the restored vault", err)
	}
	open := func(h *tar.Header) (io.Writer, error) {
		if err := finish(); err != nil {
			return nil, err
		}
		if wanted != nil && !wanted[h.Name] {
			return nil, nil
		}
		p := filepath.Join(into, h.Name+".tmp")
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, mediaError("restoring "+h.Name, err)
		}
		written = append(written, p)
		cur = f
		return f, nil
	}
	rep, err := readFile(path, opts.ReadOptions, "restore", open)
	if ferr := finish(); err == nil {
		err = ferr
	}
	if err == nil && wanted != nil && len(written) != len(wanted) {
		err = fmt.Errorf("backup: the backup holds no compartment %s", opts.Compartment)
	}
	if err == nil {
		err = checkRestored(rep.Manifest, into, written)
	}
	if err == nil {
		for _, p := range written {
			if err = os.Rename(p, p[:len(p)-len(".tmp")]); err != nil {
				break
			}
		}
		if err == nil {
			err = syncDir(into)
		}
		if err != nil {
			for _, p := range written {
				os.Remove(p[:len(p)-len(".tmp")])
			}
		}
	}
	if err != nil {
		cleanup()
		return nil, err
	}
	return rep, nil
}

// checkRestored compares each restored file's vault id, kind and audit
// log head (read without a key, changing nothing) with the manifest.
func checkRestored(m *Manifest, into string, written []string) error {
	for _, p := range written {
		name := filepath.Base(p[:len(p)-len(".tmp")])
		var mf *File
		for i := range m.Files {
			if m.Files[i].Name == name {
				mf = &m.Files[i]
			}
		}
		if mf == nil {
			return notVerified("%s is not in the manifest", name)
		}
		fi, err := store.ReadFileInfo(p)
		if err != nil {
			return notVerified("%s does not open as a vault file: %v", name, err)
		}
		switch {
		case fi.Vault != m.Vault:
			return notVerified("%s belongs to vault %s, the manifest to %s", name, fi.Vault, m.Vault)
		case fi.Kind != mf.Kind || (fi.Kind == "compartment" && fi.Compartment.String() != mf.Compartment):
			return notVerified("%s is not the file the manifest describes", name)
		case fi.Log.Entries != mf.Audit.Entries || hex.EncodeToString(fi.Log.Link) != mf.Audit.Head:
			return notVerified("%s: its audit log ends at entry %d, the manifest says %d with another head", name, fi.Log.Entries, mf.Audit.Entries)
		}
		if c := mf.Audit.Checkpoint; c != nil && c.Size > fi.Log.Entries {
			return notVerified("%s: its audit log is shorter than the checkpoint in the manifest", name)
		}
	}
	return nil
}

// prepareTarget makes the restore folder, or checks that an existing one
// is empty. It reports whether it made it.
func prepareTarget(into string) (bool, error) {
	ents, err := os.ReadDir(into)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(filepath.Dir(into), 0o700); err != nil {
			return false, fmt.Errorf("backup: %w", err)
		}
		if err := os.Mkdir(into, 0o700); err != nil {
			return false, fmt.Errorf("backup: %w", err)
		}
		return true, nil
	case err != nil:
		return false, fmt.Errorf("backup: %w", err)
	case len(ents) > 0:
		return false, fmt.Errorf("backup: %s is not empty; a restore goes into a new folder and never over a vault", into)
	}
	return false, os.Chmod(into, 0o700)
}
