package backup

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/valv-vault/valv/store"
)

// rotationNow is the clock rotation compares backup names with.
var rotationNow = time.Now

// A Policy says which backups of a vault rotation keeps: the Keep newest,
// and the newest of each of the Monthly most recent calendar months (UTC)
// that have a backup. Everything else of that vault is deleted.
//
// The defaults, DefaultKeep 7 and DefaultMonthly 12, keep a week of daily
// backups (a mistake noticed within a week can be undone from the
// day before it) and a year of month-end states (one per month back to
// the last annual review, which is how far back an auditor typically
// asks), in about 19 files.
type Policy struct {
	Keep    int
	Monthly int
}

// The default policy (see Policy).
const (
	DefaultKeep    = 7
	DefaultMonthly = 12
)

// A Rotation is what a policy does to a folder: for each backup file,
// whether it is kept and why.
type Rotation struct {
	Keep   []RotatedFile
	Delete []RotatedFile
}

// A RotatedFile is one backup file in a rotation.
type RotatedFile struct {
	Path   string
	Name   Name
	Reason string // why it is kept ("last 7", "monthly 2026-10")
}

// PlanRotation applies the policy to the backups of vault in dir (all
// vaults' if vault is the zero id, each vault on its own). It looks only
// at files named like Valv's backups (see FileName); any other file, and
// a backup being written, is never touched; nor is a name dated more
// than a day after now (kept, with a reason that says so, and not
// counted among the newest). At least one backup of each vault is always
// kept.
func PlanRotation(dir string, vault store.ID, p Policy) (*Rotation, error) {
	if p.Keep < 1 {
		return nil, errors.New("backup: rotation must keep at least the newest backup (--keep 1 or more)")
	}
	if p.Monthly < 0 {
		return nil, errors.New("backup: the number of monthly backups cannot be negative")
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	byVault := map[store.ID][]RotatedFile{}
	r := &Rotation{}
	// A name dated after tomorrow is not counted: it would push genuine
	// backups out of the last N (files planted on the medium, or made on
	// a machine whose clock was ahead). It is kept, and said.
	future := rotationNow().Add(24 * time.Hour)
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		n, ok := ParseName(e.Name())
		if !ok || (vault != (store.ID{}) && n.Vault != vault) {
			continue
		}
		f := RotatedFile{Path: filepath.Join(dir, e.Name()), Name: n}
		if n.Time.After(future) {
			f.Reason = "dated in the future: kept and not counted; check the clock of the machine that made it"
			r.Keep = append(r.Keep, f)
			continue
		}
		byVault[n.Vault] = append(byVault[n.Vault], f)
	}
	for _, fs := range byVault {
		// Newest first.
		slices.SortFunc(fs, func(a, b RotatedFile) int {
			return cmp.Or(b.Name.Time.Compare(a.Name.Time), cmp.Compare(b.Name.N, a.Name.N))
		})
		seen := map[string]bool{}
		monthsKept := 0
		for i, f := range fs {
			month := f.Name.Time.Format("2006-01")
			monthly := false
			if !seen[month] { // newest first: the month's newest backup
				seen[month] = true
				if monthsKept < p.Monthly {
					monthly = true
					monthsKept++
				}
			}
			switch {
			case i < p.Keep:
				f.Reason = fmt.Sprintf("one of the last %d", p.Keep)
			case monthly:
				f.Reason = "newest of " + month
			}
			if f.Reason != "" {
				r.Keep = append(r.Keep, f)
			} else {
				r.Delete = append(r.Delete, f)
			}
		}
	}
	return r, nil
}

// Apply deletes the files the rotation does not keep, and syncs the
// folder. It returns how many it deleted, and the first error after
// trying them all.
func (r *Rotation) Apply() (int, error) {
	var errs []error
	deleted := 0
	dirs := map[string]bool{}
	for _, f := range r.Delete {
		switch err := os.Remove(f.Path); {
		case err == nil:
			deleted++
		case !errors.Is(err, os.ErrNotExist):
			errs = append(errs, err)
		}
		dirs[filepath.Dir(f.Path)] = true
	}
	for d := range dirs {
		errs = append(errs, syncDir(d))
	}
	return deleted, errors.Join(errs...)
}

// Rotate applies the policy to the backups of the session's vault in dir
// (an admin's or the recovery key's session): it plans the rotation and,
// unless dryRun, deletes what the policy does not keep and logs it in
// the directory's audit log (backup-rotate, Count: the files deleted,
// also when deleting some failed). A dry run deletes nothing and is not
// logged. Backups of other vaults and other files are never touched.
func Rotate(s *store.Session, dir string, p Policy, dryRun bool) (*Rotation, error) {
	if !s.IsAdmin() {
		return nil, store.ErrNotAdmin
	}
	r, err := PlanRotation(dir, s.Vault().ID(), p)
	if err != nil || dryRun {
		return r, err
	}
	n, err := r.Apply()
	if lerr := s.LogBackup(store.ActionBackupRotate, store.ID{}, int64(n)); lerr != nil {
		err = errors.Join(err, fmt.Errorf("backup: rotation deleted %d files, but logging it failed: %w", n, lerr))
	}
	return r, err
}
