package backup

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// A drill restores into a folder named drillPrefix+random next to the
// live vault, and removes it when done. A drill killed on the way (kill
// -9, a power cut) leaves it behind: up to a whole copy of the vault
// (encrypted as the vault is). The drill holds an exclusive flock on the
// file drillLock inside its folder for as long as it runs; the kernel
// releases it when the process dies however it dies. So a folder whose
// lock can be taken is stale, and the next drill (or the window opening
// the vault: CleanStaleDrills) removes it. A folder with no lock file is
// one whose drill died between making the folder and its lock, or one
// being made right now: it is removed once older than drillNoLockAge.
const (
	drillPrefix    = ".valv-drill-"
	drillLock      = "drill.lock"
	drillNoLockAge = 10 * time.Minute
)

// lockDrill creates and locks the lock file of a drill's folder. Close
// the file to release it (after the folder is removed).
func lockDrill(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, drillLock), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// CleanStaleDrills removes the folders that drills of the vault in
// vaultDir left next to it when they were killed (see drillPrefix), and
// returns the ones it removed. A running drill's folder, in this process
// or another, is left alone.
func CleanStaleDrills(vaultDir string) ([]string, error) {
	parent := filepath.Dir(filepath.Clean(vaultDir))
	ents, err := os.ReadDir(parent)
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, e := range ents {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), drillPrefix) {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		stale, unlock := drillStale(dir)
		if stale {
			if err := os.RemoveAll(dir); err != nil {
				errs = append(errs, err)
			} else {
				removed = append(removed, dir)
			}
		}
		unlock()
	}
	return removed, errors.Join(errs...)
}

// drillStale reports whether a drill folder is stale; if so, it holds the
// folder's lock until unlock is called, so that no drill takes it meanwhile.
func drillStale(dir string) (stale bool, unlock func()) {
	f, err := os.OpenFile(filepath.Join(dir, drillLock), os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		st, err := os.Stat(dir)
		return err == nil && time.Since(st.ModTime()) > drillNoLockAge, func() {}
	}
	if err != nil {
		return false, func() {}
	}
	// flock locks belong to the open file: a second open of the same
	// file in the drill's own process would not get the lock either.
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return false, func() {}
	}
	return true, func() { f.Close() }
}
