package recovery

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// renameNoReplace renames oldpath to newpath unless newpath exists, in one
// atomic step (renameat2 with RENAME_NOREPLACE, which ext4, btrfs, xfs,
// vfat and exfat support).
func renameNoReplace(oldpath, newpath string) error {
	err := unix.Renameat2(unix.AT_FDCWD, oldpath, unix.AT_FDCWD, newpath, unix.RENAME_NOREPLACE)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.EEXIST):
		return fmt.Errorf("%w: %s", ErrExists, newpath)
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOSYS), errors.Is(err, unix.ENOTSUP):
		// The file system or kernel does not support the flag.
		return linkRename(oldpath, newpath)
	}
	return fmt.Errorf("renaming %s into place: %w", newpath, err)
}
