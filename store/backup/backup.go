// Package backup writes, verifies, restores and rotates Valv's backups.
//
// A backup is one age file (<vault id>-<UTC time>.valvbak) encrypted to
// the vault's recovery recipient and to every active admin's card,
// holding a tar stream: a consistent snapshot of every bbolt file of the
// vault (directory.valv, then <compartment id>.valv), then manifest.json
// (sizes, SHA-256, audit log heads and checkpoints, key holders: ids and
// public keys only) and manifest.sig (the making admin's slot 9C
// signature over manifest.json). docs/backup-format.md describes it for a
// person who takes a backup apart with age and tar alone.
//
// Writing streams the snapshot (bbolt read transactions) through tar and
// age into a file under a temporary name: no plaintext copy touches a
// disk. The file is fsynced, dropped from the page cache and read back
// whole with a one-time key it is also encrypted to (decrypted,
// authenticated, every hash and the signature checked), renamed into
// place without replacing anything, and the folder fsynced; only then is
// the backup reported, and logged. Any failure removes the temporary
// file: a file under a backup's name always verified when it got there.
package backup

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"

	"github.com/valv-vault/valv/crypto/pivage"
	"github.com/valv-vault/valv/store"
	"github.com/valv-vault/valv/store/directio"
)

// Options says how to write a backup.
type Options struct {
	// App is the version of Valv writing it (recorded in the manifest).
	App string
	// Signer is the admin's slot 9C key, which signs the manifest
	// (default: the session's). It must be the signing key enrolled for
	// the session's key holder. Only a backup made with the recovery key
	// is unsigned.
	Signer crypto.Signer
	// Progress, if set, is called as the backup is written and verified.
	Progress func(Progress)
	// Context, if set, cancels the backup: writing or reading back stops
	// with its error, the partial file is removed and the failure logged.
	Context context.Context
}

// A Result is a written and verified backup.
type Result struct {
	Path     string
	Manifest *Manifest
	Bytes    int64 // of the backup file
}

// writeBuffer is the size of the writes to a backup that is not a file
// (in tests): age writes chunks of 64 KiB and 16 bytes. A file is
// written around the page cache (store/directio).
const writeBuffer = 256 << 10

// progressStep is how many bytes pass between progress reports.
var progressStep int64 = 4 << 20

// skipSpaceCheck lets a test reach a real ENOSPC while writing.
var skipSpaceCheck = false

// Write makes a backup of the session's vault (an admin's or the
// recovery key's session) in folder dir, verifies it, and logs it in the
// directory's audit log (Count: its size; -1 and the reason in the
// returned error if it failed).
func Write(s *store.Session, dir string, opts Options) (*Result, error) {
	if !s.IsAdmin() {
		return nil, store.ErrNotAdmin
	}
	if opts.Signer == nil {
		opts.Signer = s.Signer()
	}
	if opts.Signer == nil && s.Actor() != store.Recovery {
		return nil, errors.New("backup: the manifest must be signed: give the card's signing key (slot 9C)")
	}
	if opts.Signer != nil && s.Actor() == store.Recovery {
		opts.Signer = nil // the recovery key has no enrolled signing key
	}
	res, backupID, err := write(s, dir, opts)
	if err != nil && opts.Context != nil && opts.Context.Err() != nil {
		err = fmt.Errorf("backup: cancelled; the partial file was removed: %w", opts.Context.Err())
	}
	count := int64(-1)
	if err == nil {
		count = res.Bytes
	}
	if backupID != (store.ID{}) {
		if lerr := s.LogBackup(store.ActionBackup, backupID, count); lerr != nil {
			if err == nil {
				return res, fmt.Errorf("backup: the backup %s was written and verified, but logging it failed: %w", res.Path, lerr)
			}
			err = errors.Join(err, lerr)
		}
	}
	return res, err
}

func write(s *store.Session, dir string, opts Options) (*Result, store.ID, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, store.ID{}, fmt.Errorf("backup: %w", err)
	}
	if !st.IsDir() {
		return nil, store.ID{}, fmt.Errorf("backup: %s is not a folder", dir)
	}
	backupID := store.ID(randomID())
	var (
		res      *Result
		tmp      string
		ephem    *age.X25519Identity
		manifest []byte
	)
	err = s.Snapshot(func(snap *store.Snapshot) error {
		if opts.Signer != nil {
			if err := checkSigner(snap, opts.Signer); err != nil {
				return err
			}
		}
		var total int64
		for _, f := range snap.Files {
			total += f.Size
		}
		if need := estimate(snap); !skipSpaceCheck {
			free, err := freeSpace(dir)
			if err != nil {
				return mediaError("checking free space", err)
			}
			if free < need {
				return fmt.Errorf("backup: the medium is full: %s has %s free, the backup needs about %s; free some space or choose another medium (nothing was written)", dir, human(free), human(need))
			}
		}
		final, err := freeName(dir, snap)
		if err != nil {
			return err
		}
		cleanPartials(dir, snap.Vault)
		tmp = final + partialExt
		res = &Result{Path: final}
		recipients, err := backupRecipients(snap)
		if err != nil {
			return err
		}
		if ephem, err = age.GenerateX25519Identity(); err != nil {
			return err
		}
		recipients = append(recipients, ephem.Recipient())
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return mediaError("creating the backup file", err)
		}
		manifest, err = stream(f, snap, backupID, recipients, opts, total)
		if err == nil {
			err = f.Sync()
		}
		if err == nil {
			dropCache(f)
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return mediaError("writing the backup", err)
		}
		return nil
	})
	if err != nil {
		if tmp != "" {
			os.Remove(tmp)
		}
		return nil, backupID, err
	}
	// Read the file back from the medium and check all of it.
	rep, err := readFile(tmp, ReadOptions{Identities: []age.Identity{ephem}, AllowUnsigned: opts.Signer == nil, Progress: opts.Progress, Context: opts.Context}, "verify", nil)
	if err == nil && !bytes.Equal(rep.ManifestBytes, manifest) {
		err = notVerified("the file read back holds another manifest than was written")
	}
	if err == nil {
		err = renameNoReplace(tmp, res.Path)
	}
	if err == nil {
		err = mediaError("syncing "+dir, syncDir(dir))
	}
	if err != nil {
		os.Remove(tmp)
		return nil, backupID, fmt.Errorf("backup: the backup failed and was removed: %w", err)
	}
	res.Manifest, res.Bytes = rep.Manifest, rep.Bytes
	return res, backupID, nil
}

// stream writes the age file: the vault files, the manifest and its
// signature in a tar stream. It returns the manifest.
func stream(f io.Writer, snap *store.Snapshot, backupID store.ID, recipients []age.Recipient, opts Options, total int64) ([]byte, error) {
	var flush func() error
	if wf, ok := f.(*os.File); ok {
		dw, err := directio.NewWriter(wf)
		if err != nil {
			return nil, err
		}
		defer dw.Close()
		f, flush = dw, dw.Close
	} else {
		bw := bufio.NewWriterSize(f, writeBuffer)
		f, flush = bw, bw.Flush
	}
	aw, err := age.Encrypt(f, recipients...)
	if err != nil {
		return nil, err
	}
	pw := &progressWriter{w: aw, total: total, fn: opts.Progress, ctx: opts.Context}
	tw := tar.NewWriter(pw)
	pool := newBlockPool()
	holders, err := manifestHolders(snap.Holders)
	if err != nil {
		return nil, err
	}
	m := Manifest{Format: FormatName, Version: FormatVersion, App: opts.App, Backup: backupID, Vault: snap.Vault,
		Created: snap.Time, By: snap.Actor, Recovery: snap.Recovery.String(), Holders: holders}
	for _, sf := range snap.Files {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: sf.Name, Size: sf.Size, Mode: 0o600, ModTime: snap.Time}); err != nil {
			return nil, err
		}
		d := pool.newFileCopier(tw, true)
		if _, err := sf.WriteTo(d); err != nil {
			return nil, err
		}
		mf := File{Name: sf.Name, Kind: "directory", Size: sf.Size, SHA256: hex.EncodeToString(d.Sum()),
			Audit: Audit{Entries: sf.Log.Entries, Head: hex.EncodeToString(sf.Log.Link), Checkpoint: sf.Checkpoint}}
		if sf.Compartment != (store.ID{}) {
			mf.Kind, mf.Compartment = "compartment", sf.Compartment.String()
		}
		m.Files = append(m.Files, mf)
	}
	mb, err := json.MarshalIndent(&m, "", "\t")
	if err != nil {
		return nil, err
	}
	mb = append(mb, '\n')
	entries := [][2]any{{ManifestName, mb}}
	if opts.Signer != nil {
		sig, err := sign(opts.Signer, mb)
		if err != nil {
			return nil, fmt.Errorf("backup: signing the manifest: %w", err)
		}
		entries = append(entries, [2]any{SignatureName, sig})
	}
	for _, e := range entries {
		b := e[1].([]byte)
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: e[0].(string), Size: int64(len(b)), Mode: 0o600, ModTime: snap.Time}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(b); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := aw.Close(); err != nil {
		return nil, err
	}
	return mb, flush()
}

// checkSigner makes sure the signer is the session's key holder's
// enrolled signing key: a manifest signed by another key would not verify.
func checkSigner(snap *store.Snapshot, signer crypto.Signer) error {
	for _, h := range snap.Holders {
		if h.ID == snap.Actor {
			if eq, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool }); ok && eq.Equal(h.SigningKey) {
				return nil
			}
		}
	}
	return errors.New("backup: the signing key is not the one enrolled for this key holder")
}

// backupRecipients are the recovery recipient and every active admin's
// card.
func backupRecipients(snap *store.Snapshot) ([]age.Recipient, error) {
	rs := []age.Recipient{snap.Recovery}
	for _, h := range snap.Holders {
		if h.Role != store.RoleAdmin || h.Inactive {
			continue
		}
		r, err := pivage.ParseRecipient(h.Recipient)
		if err != nil {
			return nil, fmt.Errorf("backup: admin %s has a malformed recipient: %w", h.ID, err)
		}
		rs = append(rs, r)
	}
	return rs, nil
}

// estimate is an upper bound of the backup's size: tar headers and
// padding, the manifest, age's header and 16 bytes per 64 KiB chunk.
func estimate(snap *store.Snapshot) int64 {
	var n int64 = 3 * 1024 // end of archive, signature
	for _, f := range snap.Files {
		n += 512 + (f.Size+511)/512*512 + 1024 // header, data, manifest line
	}
	n += int64(len(snap.Holders))*1024 + 64<<10
	return n + n/4096 + 64<<10
}

// freeName returns the first free backup name for the snapshot in dir.
func freeName(dir string, snap *store.Snapshot) (string, error) {
	for n := 1; n < 1000; n++ {
		p := filepath.Join(dir, FileName(snap.Vault, snap.Time, n))
		_, err := os.Lstat(p)
		if errors.Is(err, os.ErrNotExist) {
			return p, nil
		}
		if err != nil {
			return "", mediaError("looking at "+dir, err)
		}
	}
	return "", fmt.Errorf("backup: too many backups of the same second in %s", dir)
}

// cleanPartials removes what interrupted backups of this vault left in
// dir (files named <backup name>.partial).
func cleanPartials(dir string, vault store.ID) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if base, ok := strings.CutSuffix(e.Name(), partialExt); ok && e.Type().IsRegular() {
			if n, ok := ParseName(base); ok && n.Vault == vault {
				os.Remove(filepath.Join(dir, e.Name()))
			}
		}
	}
}

// progressWriter reports the bytes of vault files written, and stops
// when ctx (if set) is cancelled.
type progressWriter struct {
	w           io.Writer
	done, total int64
	last        int64
	fn          func(Progress)
	ctx         context.Context
}

func (p *progressWriter) Write(b []byte) (int, error) {
	if p.ctx != nil && p.ctx.Err() != nil {
		return 0, p.ctx.Err()
	}
	n, err := p.w.Write(b)
	p.done += int64(n)
	if p.fn != nil && p.done-p.last >= progressStep {
		p.last = p.done
		p.fn(Progress{Phase: "backup", Done: min(p.done, p.total), Total: p.total})
	}
	return n, err
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KiB", (n+1023)/1024)
}
