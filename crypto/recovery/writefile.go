package recovery

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// writeNewFile writes data to path with mode 0600 so that path either does
// not exist or holds all of data, even after a crash: a temporary file in
// the same directory is written and synced, renamed into place without
// replacing an existing file, and the directory is synced. If path exists,
// the error wraps ErrExists and nothing is changed.
func writeNewFile(path string, data []byte) (err error) {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%w: %s", ErrExists, path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".valv-recovery-*.tmp") // mode 0600
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := renameNoReplace(tmp, path); err != nil {
		return err
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("%s was written, but syncing its folder failed (%v); check the medium before relying on it", path, err)
	}
	return nil
}

// linkRename moves oldpath to newpath with a hard link, which fails if
// newpath exists, then removes oldpath. On file systems without hard links
// (FAT and exFAT USB sticks) it falls back to check-then-rename, which
// cannot exclude a file created at the same instant by another program.
func linkRename(oldpath, newpath string) error {
	err := os.Link(oldpath, newpath)
	if err == nil {
		return os.Remove(oldpath)
	}
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: %s", ErrExists, newpath)
	}
	if _, err := os.Lstat(newpath); err == nil {
		return fmt.Errorf("%w: %s", ErrExists, newpath)
	}
	return os.Rename(oldpath, newpath)
}

func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be opened for syncing; NTFS journals renames
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
