package main

import (
	"crypto"
	"errors"
	"fmt"
	"io"
	"time"

	"filippo.io/age"

	"github.com/valv-vault/valv/crypto/card"
	"github.com/valv-vault/valv/store"
	"github.com/valv-vault/valv/store/backup"
	"github.com/valv-vault/valv/store/backup/media"
)

const backupUsage = `valv backup --to DIR [--vault DIR] [--identity FILE | --card SERIAL] [--pin-stdin]
       valv backup --media
       valv backup rotate --to DIR [--keep N] [--monthly M] [--dry-run] [--vault DIR] [--identity FILE | --card SERIAL] [--pin-stdin]
       valv verify FILE [--vault DIR] (--identity FILE | --card SERIAL) [--pin-stdin]
       valv restore FILE --into NEWDIR [--compartment ID] [--vault DIR] (--identity FILE | --card SERIAL) [--allow-unsigned]
       valv drill FILE [--vault DIR] (--identity FILE | --card SERIAL) [--pin-stdin]`

// backupCommand runs "valv backup": write a backup, list media, rotate.
func backupCommand(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "rotate" {
		return rotateCommand(args[1:], stdout, stderr)
	}
	fs := newFlagSet("valv backup", backupUsage, stderr)
	var vf vaultFlags
	vf.register(fs)
	to := fs.String("to", "", "write the backup into this `folder` (a removable medium: see --media)")
	list := fs.Bool("media", false, "list the removable media mounted now")
	if pos, err := parseInterleaved(fs, args); err != nil || len(pos) != 0 {
		return errUsageOr(err)
	}
	if *list {
		return listMedia(stdout)
	}
	if *to == "" {
		fmt.Fprintf(stderr, "valv backup: give --to DIR (or --media to list removable media)\nusage: %s\n", backupUsage)
		return errUsage
	}
	return withSession(&vf, func(s *store.Session) error {
		res, err := backup.Write(s, *to, backup.Options{App: version, Progress: progressTo(stderr)})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "backup\t%s\nid\t%s\nbytes\t%d\nfiles\t%d\nverified\tread back whole from the medium: decrypted, every SHA-256 and the signature checked\n",
			res.Path, res.Manifest.Backup, res.Bytes, len(res.Manifest.Files))
		return nil
	})
}

func listMedia(stdout io.Writer) error {
	ms, err := media.Local.Find()
	if err != nil {
		return err
	}
	if len(ms) == 0 {
		fmt.Fprintln(stdout, "no removable medium is mounted; any folder can be given with --to")
		return nil
	}
	for _, m := range ms {
		free := "?"
		if m.Free >= 0 {
			free = sizeString(m.Free)
		}
		flags := ""
		if m.ReadOnly {
			flags = "\tread-only"
		}
		fmt.Fprintf(stdout, "%s\t%s\t%s\t%s free\t%s (%s)%s\n", media.Printable(m.MountPoint), m.Label, sizeString(m.Size), free, m.Device, media.Printable(m.FSType), flags)
	}
	return nil
}

func rotateCommand(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("valv backup rotate", backupUsage, stderr)
	var vf vaultFlags
	vf.register(fs)
	to := fs.String("to", "", "the `folder` holding the backups")
	keep := fs.Int("keep", backup.DefaultKeep, "keep the `N` newest backups of the vault")
	monthly := fs.Int("monthly", backup.DefaultMonthly, "and the newest of each of the `M` most recent months")
	dry := fs.Bool("dry-run", false, "only say what would be deleted")
	if pos, err := parseInterleaved(fs, args); err != nil || len(pos) != 0 || *to == "" {
		if err == nil {
			fmt.Fprintf(stderr, "usage: %s\n", backupUsage)
		}
		return errUsageOr(err)
	}
	// An admin's session: rotation deletes backups of this vault only,
	// and is logged (backup-rotate, the number of files deleted).
	return withSession(&vf, func(s *store.Session) error {
		r, err := backup.Rotate(s, *to, backup.Policy{Keep: *keep, Monthly: *monthly}, *dry)
		if r == nil {
			return err
		}
		for _, f := range r.Keep {
			fmt.Fprintf(stdout, "keep\t%s\t%s\n", f.Path, f.Reason)
		}
		verb := "delete"
		if *dry {
			verb = "would delete"
		}
		for _, f := range r.Delete {
			fmt.Fprintf(stdout, "%s\t%s\n", verb, f.Path)
		}
		return err
	})
}

// openKey opens the key that opens backups: the identity file, or the
// card after its PIN. close releases the card.
func openKey(vf *vaultFlags, pins *pinSource) (age.Identity, crypto.Signer, func(), error) {
	if vf.identity != "" {
		id, signer, err := loadIdentity(vf.identity)
		return id, signer, func() {}, err
	}
	cs, err := vf.card.open()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w (or use the recovery key: --identity FILE)", err)
	}
	serial := cs.Info().Serial
	pin, err := pins.ask(fmt.Sprintf("PIN of YubiKey %d", serial))
	if err == nil {
		if err = cs.VerifyPIN(pin); err != nil {
			var wrong *card.WrongPINError
			if errors.As(err, &wrong) {
				if v, verr := store.Open(vf.dir); verr == nil {
					_ = v.ReportFailedPIN(serial, wrong.Left)
					v.Close()
				}
			}
			err = explainPINError(err, serial)
		}
	}
	var id age.Identity
	var signer crypto.Signer
	if err == nil {
		id, err = cs.Identity()
	}
	if err == nil {
		signer, err = cs.Signer()
	}
	if err != nil {
		cs.Close()
		return nil, nil, nil, err
	}
	return id, signer, func() { cs.Close() }, nil
}

// withLiveVault unlocks the vault of --vault with the key, if there is
// one, and runs fn with the session; with no vault there (a backup taken
// elsewhere, a lost vault) or one open in another process, fn gets nil
// and why.
func withLiveVault(vf *vaultFlags, id age.Identity, signer crypto.Signer, fn func(s *store.Session, why string) error) (err error) {
	v, err := store.Open(vf.dir)
	if errors.Is(err, store.ErrNotVault) {
		return fn(nil, "no vault at "+vf.dir)
	}
	if errors.Is(err, store.ErrLocked) {
		return fn(nil, "the vault is open in another Valv process")
	}
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, v.Close()) }()
	s, err := v.Unlock(id, signer)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, s.Lock()) }()
	return fn(s, "")
}

// trustFrom fills the read options from a live session: the backup must
// be of that vault and signed by one of its key holders.
func trustFrom(s *store.Session, opts *backup.ReadOptions) error {
	if s == nil {
		return nil
	}
	hs, err := s.Holders()
	if err != nil {
		return err
	}
	opts.Vault, opts.Trusted = s.Vault().ID(), hs
	return nil
}

// verifyCommand runs "valv verify FILE".
func verifyCommand(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("valv verify", backupUsage, stderr)
	var vf vaultFlags
	vf.register(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil || len(pos) != 1 {
		if err == nil {
			fmt.Fprintf(stderr, "usage: %s\n", backupUsage)
		}
		return errUsageOr(err)
	}
	file := pos[0]
	id, signer, closeKey, err := openKey(&vf, newPINSource(vf.card.pinStdin, stdin, stderr))
	if err != nil {
		return err
	}
	defer closeKey()
	return withLiveVault(&vf, id, signer, func(s *store.Session, why string) error {
		opts := backup.ReadOptions{Identities: []age.Identity{id}, AllowUnsigned: true, Progress: progressTo(stderr)}
		if err := trustFrom(s, &opts); err != nil {
			return err
		}
		rep, verr := backup.VerifyFile(file, opts)
		if s != nil {
			var bid store.ID
			failed := int64(1)
			if verr == nil {
				bid, failed = rep.Manifest.Backup, 0
			}
			if err := s.LogBackup(store.ActionBackupVerify, bid, failed); err != nil {
				return errors.Join(verr, err)
			}
		}
		if verr != nil {
			fmt.Fprintf(stdout, "FAIL\t%s\n", file)
			return verr
		}
		printReport(stdout, file, rep)
		if s == nil {
			fmt.Fprintf(stdout, "logged\tno (%s)\n", why)
		}
		return nil
	})
}

func printReport(w io.Writer, file string, rep *backup.Report) {
	m := rep.Manifest
	fmt.Fprintf(w, "ok\t%s\nbackup\t%s\nvault\t%s\nmade\t%s by %s with Valv %s\n", file, m.Backup, m.Vault,
		m.Created.UTC().Format(time.RFC3339), m.By, m.App)
	for _, f := range m.Files {
		line := fmt.Sprintf("file\t%s\t%d bytes\tSHA-256 ok\taudit log %d entries", f.Name, f.Size, f.Audit.Entries)
		if c := f.Audit.Checkpoint; c != nil {
			line += fmt.Sprintf(", last checkpoint over %d by %s at %s", c.Size, c.Holder.Short(), c.Time.UTC().Format(time.RFC3339))
		}
		fmt.Fprintln(w, line)
	}
	switch {
	case rep.Signer == nil:
		fmt.Fprintln(w, "signature\tnone: made with the recovery key; nothing shows who made it")
	case rep.CheckedAgainst == "vault":
		fmt.Fprintf(w, "signature\tok: by admin %s, an enrolled key holder of this vault with the same signing key\n", rep.Signer.ID)
	default:
		fmt.Fprintf(w, "signature\tok against the key holder list inside the backup (admin %s, card %d): the backup is whole and unchanged since the holder of that signing key made it; it does not prove that key is one of your key holders (give --vault to check against a vault)\n", rep.Signer.ID, rep.Signer.Serial)
	}
}

// restoreCommand runs "valv restore FILE --into NEWDIR".
func restoreCommand(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("valv restore", backupUsage, stderr)
	var vf vaultFlags
	vf.register(fs)
	into := fs.String("into", "", "restore into this new (or empty) `folder`; never over a vault")
	comp := fs.String("compartment", "", "restore only the directory and this compartment (`ID`, 32 hex digits)")
	unsigned := fs.Bool("allow-unsigned", false, "accept a backup made with the recovery key (unsigned)")
	pos, err := parseInterleaved(fs, args)
	if err != nil || len(pos) != 1 || *into == "" {
		if err == nil {
			fmt.Fprintf(stderr, "usage: %s\n", backupUsage)
		}
		return errUsageOr(err)
	}
	var cid store.CompartmentID
	if *comp != "" {
		if cid, err = store.ParseID(*comp); err != nil {
			return fmt.Errorf("--compartment: %w", err)
		}
	}
	id, signer, closeKey, err := openKey(&vf, newPINSource(vf.card.pinStdin, stdin, stderr))
	if err != nil {
		return err
	}
	defer closeKey()
	return withLiveVault(&vf, id, signer, func(live *store.Session, why string) error {
		opts := backup.RestoreOptions{ReadOptions: backup.ReadOptions{Identities: []age.Identity{id}, AllowUnsigned: *unsigned, Progress: progressTo(stderr)}, Compartment: cid}
		if err := trustFrom(live, &opts.ReadOptions); err != nil {
			return err
		}
		rep, rerr := backup.Restore(pos[0], *into, opts)
		if live != nil {
			bid, count := store.ID{}, int64(-1)
			if rerr == nil {
				bid, count = rep.Manifest.Backup, int64(len(rep.Manifest.Files))
				if cid != (store.ID{}) {
					count = 2
				}
			}
			if err := live.LogBackup(store.ActionRestore, bid, count); err != nil {
				return errors.Join(rerr, err)
			}
		}
		if rerr != nil {
			return rerr
		}
		// The restored vault records its own restore, which also shows
		// that it opens with this key.
		rerr = withLiveVault(&vaultFlags{dir: *into}, id, signer, func(s *store.Session, why string) error {
			if s == nil {
				return errors.New("the restored vault does not open: " + why)
			}
			return s.LogBackup(store.ActionRestore, rep.Manifest.Backup, 0)
		})
		if rerr != nil {
			return fmt.Errorf("restored into %s, but: %w", *into, rerr)
		}
		printReport(stdout, pos[0], rep)
		fmt.Fprintf(stdout, "restored\t%s\n", *into)
		if live == nil {
			fmt.Fprintf(stdout, "logged\tin the restored vault only (%s)\n", why)
		}
		return nil
	})
}

// drillCommand runs "valv drill FILE".
func drillCommand(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("valv drill", backupUsage, stderr)
	var vf vaultFlags
	vf.register(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil || len(pos) != 1 {
		if err == nil {
			fmt.Fprintf(stderr, "usage: %s\n", backupUsage)
		}
		return errUsageOr(err)
	}
	id, signer, closeKey, err := openKey(&vf, newPINSource(vf.card.pinStdin, stdin, stderr))
	if err != nil {
		return err
	}
	defer closeKey()
	return withLiveVault(&vf, id, signer, func(s *store.Session, why string) error {
		if s == nil {
			return fmt.Errorf("a drill compares a backup with the live vault: %s", why)
		}
		rep, err := backup.Drill(s, pos[0], id, backup.ReadOptions{AllowUnsigned: s.Actor() == store.Recovery, Progress: progressTo(stderr)})
		if err != nil {
			return err
		}
		if rep.Backup != nil {
			printReport(stdout, pos[0], rep.Backup)
		}
		fmt.Fprintf(stdout, "audit\t%d logs of the restored copy verify\n", rep.AuditLogs)
		for _, c := range rep.Compartments {
			fmt.Fprintf(stdout, "compartment\t%s\t%d customers in the backup, %d now\t%d of %d sampled records equal\t%d of %d documents equal\n",
				c.ID, c.Restored, c.Live, c.Equal, c.Sampled, c.DocumentsOK, c.Documents)
		}
		for _, n := range rep.Notes {
			fmt.Fprintf(stdout, "note\t%s\n", n)
		}
		for _, f := range rep.Failures {
			fmt.Fprintf(stdout, "FAIL\t%s\n", f)
		}
		if !rep.OK() {
			return fmt.Errorf("the drill failed (%d problems); it is logged", len(rep.Failures))
		}
		fmt.Fprintln(stdout, "drill\tpassed; the restored copy was removed; logged")
		return nil
	})
}

// progressTo prints progress to stderr in steps of 10%.
func progressTo(w io.Writer) func(backup.Progress) {
	last := map[string]int64{}
	return func(p backup.Progress) {
		if p.Total <= 0 {
			return
		}
		pct := p.Done * 100 / p.Total
		if prev, ok := last[p.Phase]; ok && pct < prev+10 && pct < 100 {
			return
		}
		last[p.Phase] = pct
		fmt.Fprintf(w, "%s: %d%% (%s of %s)\n", p.Phase, pct, sizeString(p.Done), sizeString(p.Total))
	}
}

func sizeString(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KiB", (n+1023)/1024)
}
