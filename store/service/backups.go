package service

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"filippo.io/age"

	"github.com/valv-vault/valv/store"
	"github.com/valv-vault/valv/store/backup"
	"github.com/valv-vault/valv/store/backup/media"
)

// Backups for the window: the removable media mounted now, a backup
// written and read back whole (store/backup.Write), the history of
// Valv's backup files on a medium, verification, a restore into a new
// folder (never over the live vault), a restore drill, and rotation.
// Every backup, verification, restore and drill is logged in the
// directory's audit log (backup, backup-verify, restore, drill), by
// store/backup or here as the CLI does, and so is a rotation that
// deleted (backup-rotate: the number of files deleted). All of them need an admin's session (or
// the recovery key's).

// Types of backups the window shows.
type (
	// Medium is a removable medium mounted now.
	Medium = media.Medium
	// BackupProgress says how far a backup, verification or restore is
	// (Phase "backup", "verify" or "restore"; bytes).
	BackupProgress = backup.Progress
	// RotationPolicy says which backups rotation keeps.
	RotationPolicy = backup.Policy
	// Rotation is what a policy keeps and deletes in a folder.
	Rotation = backup.Rotation
	// RotatedFile is one file of a Rotation.
	RotatedFile = backup.RotatedFile
	// DrillCompartment is what a drill compared in one compartment.
	DrillCompartment = backup.DrillCompartment
)

// DefaultRotation is the rotation policy the window proposes.
var DefaultRotation = RotationPolicy{Keep: backup.DefaultKeep, Monthly: backup.DefaultMonthly}

// BackupResult is a backup written and verified.
type BackupResult struct {
	Path    string
	Backup  string    // the backup's id (hex), as in the audit log
	Created time.Time // of the snapshot, UTC
	Bytes   int64
	Files   int // vault files in it
	// Verified is true once the file was read back whole from the
	// medium: decrypted, every SHA-256 and the signature checked. Backup
	// returns no result without it.
	Verified bool
}

// BackupReport is what verifying (or restoring) a backup found.
type BackupReport struct {
	Path    string
	Backup  string // id, hex
	Vault   string // id, hex
	Created time.Time
	By      string // short id of the key holder who made it, or "recovery"
	App     string // the Valv that wrote it
	Files   []BackupReportFile
	Bytes   int64
	// Signed is false for a backup made with the recovery key. A signed
	// backup's signature verified against the key holders of this vault
	// (SignerEnrolled) or only against the list inside the backup.
	Signed         bool
	SignerEnrolled bool
}

// BackupReportFile is one vault file in a backup.
type BackupReportFile struct {
	Name         string
	Compartment  string // id, hex; "" for the directory
	Size         int64
	AuditEntries uint64
}

// VerifyState is what is known of a backup file's integrity.
type VerifyState int

const (
	// VerifiedWhenWritten: Valv gives a backup file its name only after
	// reading it back whole, so every file named like a backup verified
	// when it was written. (Verify checks it again now.)
	VerifiedWhenWritten VerifyState = iota
	// VerifiedAgain: Verify read it whole again in this session.
	VerifiedAgain
	// VerifyFailed: Verify found it damaged or unreadable.
	VerifyFailed
)

// BackupFile is one of Valv's backup files on a medium.
type BackupFile struct {
	Path      string
	Time      time.Time // when it was made (from its name), UTC
	Size      int64
	ThisVault bool // a backup of the vault at hand
	State     VerifyState
	Checked   time.Time // when Verify last read it (zero: not in this session)
	Problem   string    // why Verify failed
}

// DrillReport is what a restore drill found.
type DrillReport struct {
	Backup       *BackupReport // nil if the backup did not read
	AuditLogs    int           // logs that verified in the restored copy
	Compartments []DrillCompartment
	Failures     []string // the drill failed if any
	Notes        []string // differences explained by changes since the backup
}

// OK reports whether the drill passed.
func (r DrillReport) OK() bool { return len(r.Failures) == 0 }

// RestoreOptions say what to restore.
type RestoreOptions struct {
	// Compartment, if set (id, hex), restores the directory and that
	// compartment only.
	Compartment string
	// AllowUnsigned accepts a backup made with the recovery key (which
	// nothing shows the maker of). Ask the person first.
	AllowUnsigned bool
}

// verifyMark is the outcome of a Verify in this session.
type verifyMark struct {
	at      time.Time
	problem string
}

// backupState is what the service remembers of backup files.
type backupState struct {
	mu       sync.Mutex
	verified map[string]verifyMark // by clean path
	media    *media.System         // nil: media.Local
}

func (b *backupState) mark(path string, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.verified == nil {
		b.verified = map[string]verifyMark{}
	}
	m := verifyMark{at: time.Now()}
	if err != nil {
		m.problem = err.Error()
	}
	b.verified[filepath.Clean(path)] = m
}

// sessionKey returns the session and the key that unlocked it (the
// card's decryption key or the recovery key), which opens backups.
func (s *Service) sessionKey() (*store.Session, age.Identity, error) {
	sess, err := s.session()
	if err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	id := s.id
	s.mu.Unlock()
	if id == nil {
		return nil, nil, ErrLocked
	}
	return sess, id, nil
}

// adminSession is the session, which must be an admin's (or the
// recovery key's) for backups.
func (s *Service) adminSession() (*store.Session, age.Identity, error) {
	sess, id, err := s.sessionKey()
	if err != nil {
		return nil, nil, err
	}
	if !sess.IsAdmin() {
		return nil, nil, errors.New("backups are made and restored by an admin: unlock with an admin's card or the recovery key")
	}
	return sess, id, nil
}

// Media lists the removable media mounted now (USB sticks and disks, SD
// cards, encrypted volumes on them). Any folder can be chosen instead.
func (s *Service) Media() ([]Medium, error) {
	sys := s.backups.media
	if sys == nil {
		sys = &media.Local
	}
	return sys.Find()
}

// Backup writes a backup of the whole vault into folder dir, reads it
// back whole from the medium, and only then names it and returns. A
// failure (the medium is full or removed, ctx cancelled) leaves no file
// and is logged. progress is called from the backup's goroutine.
func (s *Service) Backup(ctx context.Context, dir string, progress func(BackupProgress)) (BackupResult, error) {
	sess, _, err := s.adminSession()
	if err != nil {
		return BackupResult{}, err
	}
	res, err := backup.Write(sess, dir, backup.Options{App: s.app, Progress: progress, Context: ctx})
	if err != nil {
		if res != nil { // written and verified, but not logged
			s.backups.mark(res.Path, nil)
		}
		return BackupResult{}, err
	}
	s.backups.mark(res.Path, nil)
	return BackupResult{Path: res.Path, Backup: res.Manifest.Backup.String(), Created: res.Manifest.Created,
		Bytes: res.Bytes, Files: len(res.Manifest.Files), Verified: true}, nil
}

// Backups lists Valv's backup files in dir (files named like a backup;
// anything else is left out), newest first, with what is known of their
// integrity. It needs an unlocked session (to know which vault is at
// hand).
func (s *Service) Backups(dir string) ([]BackupFile, error) {
	sess, err := s.session()
	if err != nil {
		return nil, err
	}
	vault := sess.Vault().ID()
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	s.backups.mu.Lock()
	defer s.backups.mu.Unlock()
	var out []BackupFile
	for _, e := range ents {
		n, ok := backup.ParseName(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		f := BackupFile{Path: filepath.Join(dir, e.Name()), Time: n.Time, Size: info.Size(), ThisVault: n.Vault == vault}
		if m, ok := s.backups.verified[filepath.Clean(f.Path)]; ok {
			f.Checked, f.State, f.Problem = m.at, VerifiedAgain, m.problem
			if m.problem != "" {
				f.State = VerifyFailed
			}
		}
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b BackupFile) int { return cmp.Or(b.Time.Compare(a.Time), cmp.Compare(b.Path, a.Path)) })
	return out, nil
}

// readOptions are the options to read a backup of this vault: with the
// session's key, the signature checked against this vault's key holders.
func readOptions(sess *store.Session, id age.Identity, ctx context.Context, progress func(BackupProgress)) (backup.ReadOptions, error) {
	hs, err := sess.Holders()
	if err != nil {
		return backup.ReadOptions{}, err
	}
	return backup.ReadOptions{Identities: []age.Identity{id}, Vault: sess.Vault().ID(), Trusted: hs, Progress: progress, Context: ctx}, nil
}

// Verify reads a backup file whole and checks it: it decrypts with the
// session's key, every file's size and SHA-256, and the signature of an
// admin of this vault (a backup made with the recovery key is unsigned:
// reported, not refused). It must be a backup of this vault. Logged as
// backup-verify.
func (s *Service) Verify(ctx context.Context, path string, progress func(BackupProgress)) (BackupReport, error) {
	sess, id, err := s.adminSession()
	if err != nil {
		return BackupReport{}, err
	}
	opts, err := readOptions(sess, id, ctx, progress)
	if err != nil {
		return BackupReport{}, err
	}
	opts.AllowUnsigned = true
	rep, verr := backup.VerifyFile(path, opts)
	if ctx.Err() == nil {
		s.backups.mark(path, verr)
	}
	bid, failed := store.ID{}, int64(1)
	if verr == nil {
		bid, failed = rep.Manifest.Backup, 0
	}
	if err := sess.LogBackup(store.ActionBackupVerify, bid, failed); err != nil {
		return BackupReport{}, errors.Join(verr, err)
	}
	if verr != nil {
		return BackupReport{}, verr
	}
	return report(path, rep), nil
}

func report(path string, rep *backup.Report) BackupReport {
	m := rep.Manifest
	r := BackupReport{Path: path, Backup: m.Backup.String(), Vault: m.Vault.String(), Created: m.Created, App: m.App,
		Bytes: rep.Bytes, Signed: rep.Signer != nil, SignerEnrolled: rep.CheckedAgainst == "vault"}
	r.By = m.By.Short()
	if m.By == store.Recovery {
		r.By = "recovery"
	}
	for _, f := range m.Files {
		r.Files = append(r.Files, BackupReportFile{Name: f.Name, Compartment: f.Compartment, Size: f.Size, AuditEntries: f.Audit.Entries})
	}
	return r
}

// Restore restores a backup of this vault into the folder into, which
// must not exist or be empty: a restore never goes over the live vault
// (to replace it, close Valv, and swap the folders). The backup is read
// whole and checked before any file gets its name; on any failure what
// was written is removed. The live vault logs the restore; so does the
// restored copy, which shows that it opens with this key.
func (s *Service) Restore(ctx context.Context, path, into string, opts RestoreOptions, progress func(BackupProgress)) (BackupReport, error) {
	sess, id, err := s.adminSession()
	if err != nil {
		return BackupReport{}, err
	}
	into = filepath.Clean(into)
	if live := filepath.Clean(sess.Vault().Dir()); into == live || isInside(into, live) || isInside(live, into) {
		return BackupReport{}, errors.New("restore into a new folder outside the live vault's: a restore never goes over the vault in use")
	}
	ro, err := readOptions(sess, id, ctx, progress)
	if err != nil {
		return BackupReport{}, err
	}
	ro.AllowUnsigned = opts.AllowUnsigned
	bo := backup.RestoreOptions{ReadOptions: ro}
	if opts.Compartment != "" {
		if bo.Compartment, err = store.ParseID(opts.Compartment); err != nil {
			return BackupReport{}, fmt.Errorf("restore: %w", err)
		}
	}
	rep, rerr := backup.Restore(path, into, bo)
	bid, count := store.ID{}, int64(-1)
	if rerr == nil {
		bid, count = rep.Manifest.Backup, int64(len(rep.Manifest.Files))
		if opts.Compartment != "" {
			count = 2
		}
	}
	if err := sess.LogBackup(store.ActionRestore, bid, count); err != nil {
		return BackupReport{}, errors.Join(rerr, err)
	}
	if rerr != nil {
		return BackupReport{}, rerr
	}
	// The restored vault records its own restore.
	if err := logInRestored(into, id, sess, rep.Manifest.Backup); err != nil {
		return BackupReport{}, fmt.Errorf("restored into %s, but: %w", into, err)
	}
	return report(path, rep), nil
}

// logInRestored opens the restored vault with the key and logs the
// restore in it.
func logInRestored(dir string, id age.Identity, live *store.Session, backupID store.ID) (err error) {
	v, err := store.Open(dir)
	if err != nil {
		return fmt.Errorf("the restored vault does not open: %w", err)
	}
	defer func() { err = errors.Join(err, v.Close()) }()
	rs, err := v.Unlock(id, live.Signer())
	if err != nil {
		return fmt.Errorf("the restored vault does not unlock: %w", err)
	}
	defer func() { err = errors.Join(err, rs.Lock()) }()
	return rs.LogBackup(store.ActionRestore, backupID, 0)
}

// isInside reports whether path is inside dir.
func isInside(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// Drill restores a backup into a temporary folder next to the live
// vault, opens it, verifies its audit logs, compares a sample of
// records and documents with the live vault, removes the copy and logs
// the drill. A drill that ran (passed or failed) returns its report
// and a nil error.
func (s *Service) Drill(ctx context.Context, path string, progress func(BackupProgress)) (DrillReport, error) {
	sess, id, err := s.adminSession()
	if err != nil {
		return DrillReport{}, err
	}
	rep, err := backup.Drill(sess, path, id, backup.ReadOptions{AllowUnsigned: sess.Actor() == store.Recovery, Progress: progress, Context: ctx})
	if rep == nil {
		return DrillReport{}, err
	}
	out := DrillReport{AuditLogs: rep.AuditLogs, Compartments: rep.Compartments, Failures: rep.Failures, Notes: rep.Notes}
	if rep.Backup != nil {
		r := report(path, rep.Backup)
		out.Backup = &r
	}
	return out, err
}

// Rotate applies the policy to this vault's backups in dir: it returns
// what is kept (and why) and what is deleted, and deletes unless dryRun.
// Backups of other vaults and files not named like backups are never
// touched, and the newest backup is always kept. A rotation that deleted
// (not a dry run) is logged as backup-rotate with the number of files
// deleted.
func (s *Service) Rotate(dir string, p RotationPolicy, dryRun bool) (Rotation, error) {
	sess, _, err := s.adminSession()
	if err != nil {
		return Rotation{}, err
	}
	r, err := backup.Rotate(sess, dir, p, dryRun)
	if r == nil {
		return Rotation{}, err
	}
	return *r, err
}
