package backup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// mediaError explains an error of the medium in words a person can act
// on; other errors pass through.
func mediaError(what string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return fmt.Errorf("backup: %s: the medium is full (%w); free some space or choose another medium", what, err)
	case errors.Is(err, syscall.EIO), errors.Is(err, syscall.ENODEV), errors.Is(err, syscall.ENXIO), errors.Is(err, syscall.ESHUTDOWN):
		return fmt.Errorf("backup: %s: an input/output error on the medium (%w); was it removed? Put it back and try again, or use another medium", what, err)
	case errors.Is(err, syscall.EROFS):
		return fmt.Errorf("backup: %s: the medium is read-only (%w)", what, err)
	}
	return err
}

// freeSpace returns the bytes an unprivileged writer may still use in
// the file system of dir.
func freeSpace(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * st.Bsize, nil
}

// syncDir fsyncs a folder, so that a rename in it is durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// renameNoReplace renames oldpath to newpath unless newpath exists
// (renameat2 RENAME_NOREPLACE; a link and an unlink where the file
// system lacks it, as vfat does on older kernels).
func renameNoReplace(oldpath, newpath string) error {
	err := unix.Renameat2(unix.AT_FDCWD, oldpath, unix.AT_FDCWD, newpath, unix.RENAME_NOREPLACE)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.EEXIST):
		return fmt.Errorf("backup: %s already exists", filepath.Base(newpath))
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOSYS), errors.Is(err, unix.ENOTSUP):
		if err := os.Link(oldpath, newpath); err != nil {
			if errors.Is(err, os.ErrExist) {
				return fmt.Errorf("backup: %s already exists", filepath.Base(newpath))
			}
			// No hard links either (vfat, exfat): a plain rename after
			// checking, which can race only with another writer of the
			// same name in the same second.
			if _, serr := os.Lstat(newpath); serr == nil {
				return fmt.Errorf("backup: %s already exists", filepath.Base(newpath))
			}
			return os.Rename(oldpath, newpath)
		}
		return os.Remove(oldpath)
	}
	return err
}

// dropCache asks the kernel to forget the file's cached pages (after an
// fsync), so that reading it back reads the medium.
func dropCache(f *os.File) {
	unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}
