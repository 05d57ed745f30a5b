package backup

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"

	"github.com/valv-vault/valv/store"
)

// ErrNotVerified is wrapped by every error that says a backup is not what
// it should be (as opposed to an error opening or reading the file).
var ErrNotVerified = errors.New("backup: the backup does not verify")

func notVerified(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrNotVerified, fmt.Sprintf(format, args...))
}

// A Report says what reading a backup found. Every backup returned with a
// nil error decrypted and authenticated whole, holds exactly the files its
// manifest lists with their sizes and SHA-256, and its signature (if it is
// signed) verifies under the signing key of the key holder the manifest
// names, as the manifest's own key holder list gives it.
type Report struct {
	Manifest      *Manifest
	ManifestBytes []byte
	// Signer is the key holder who signed the manifest (nil: unsigned,
	// made with the recovery key).
	Signer *Holder
	// CheckedAgainst says which key holder list the signature was checked
	// against: "backup" (the list inside the backup: this proves that the
	// backup is whole and unchanged since someone holding the signing key
	// it lists made it, not that this is one of your key holders: anyone
	// can encrypt to the public recipients and list their own key) or
	// "vault" (also an enrolled key holder of the vault at hand, with the
	// same signing key: the backup was made by one of your key holders).
	CheckedAgainst string
	// Bytes is the size of the backup file (its ciphertext).
	Bytes int64
}

// ReadOptions says how to read a backup.
type ReadOptions struct {
	// Identities open the backup: the recovery key or an admin's card.
	Identities []age.Identity
	// Vault and Trusted, if set, are the vault at hand: the backup must
	// be of that vault, and its signer one of these key holders with the
	// same signing key.
	Vault   store.ID
	Trusted []store.Holder
	// AllowUnsigned accepts a backup made with the recovery key (which
	// has no signing key). Verify reports it; Restore needs it said.
	AllowUnsigned bool
	// Progress, if set, is called as the backup is read.
	Progress func(Progress)
	// Context, if set, cancels the reading (and a restore: what was
	// written is removed).
	Context context.Context
}

// A Progress reports how far a backup, verification or restore is.
type Progress struct {
	Phase string // "backup", "verify" or "restore"
	Done  int64  // bytes
	Total int64
}

// VerifyFile reads a whole backup file and checks it (see Report).
func VerifyFile(path string, opts ReadOptions) (*Report, error) {
	return readFile(path, opts, "verify", nil)
}

func readFile(path string, opts ReadOptions, phase string, open func(f *tar.Header) (io.Writer, error)) (*Report, error) {
	f, br, err := openBackup(path)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	if c, ok := br.(io.Closer); ok {
		defer c.Close()
	}
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	r := &progressReader{r: br, total: st.Size(), phase: phase, fn: opts.Progress, ctx: opts.Context}
	rep, err := read(r, opts, open)
	if err != nil && opts.Context != nil && opts.Context.Err() != nil {
		return nil, fmt.Errorf("backup: cancelled: %w", opts.Context.Err())
	}
	if err != nil {
		return nil, mediaError("reading "+path, err)
	}
	rep.Bytes = st.Size()
	return rep, nil
}

// read decrypts and checks a backup stream. open, if set, is given each
// vault file and returns where its bytes go (nil: nowhere).
func read(r io.Reader, opts ReadOptions, open func(f *tar.Header) (io.Writer, error)) (*Report, error) {
	if len(opts.Identities) == 0 {
		return nil, errors.New("backup: no key to open the backup with (the recovery key or an admin's card)")
	}
	ar, err := age.Decrypt(r, opts.Identities...)
	if err != nil {
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) {
			return nil, fmt.Errorf("backup: this key does not open the backup: it is encrypted to the recovery key and to the cards of the vault's admins when it was made (%w)", err)
		}
		return nil, notVerified("the age header does not read: not a Valv backup, or damaged (%v)", err)
	}
	cr := &countReader{r: ar}
	tr := tar.NewReader(cr)
	type got struct {
		size int64
		sum  [sha256.Size]byte
	}
	files := map[string]got{}
	pool := newBlockPool()
	var order []string
	var manifest, sig []byte
	damaged := func(err error) error {
		return notVerified("the content is damaged near byte %d of the archive (%v): the file was altered, or the medium corrupted it", cr.n, err)
	}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, damaged(err)
		}
		if h.Typeflag != tar.TypeReg {
			return nil, notVerified("the archive holds %q, which is not a regular file", h.Name)
		}
		if _, dup := files[h.Name]; dup || (h.Name == ManifestName && manifest != nil) || (h.Name == SignatureName && sig != nil) {
			return nil, notVerified("the archive holds %s twice", h.Name)
		}
		switch {
		case h.Name == ManifestName:
			if manifest, err = readSmall(tr, h, maxManifest); err != nil {
				return nil, damaged(err)
			}
		case h.Name == SignatureName:
			if manifest == nil {
				return nil, notVerified("the signature comes before the manifest")
			}
			if sig, err = readSmall(tr, h, maxSig); err != nil {
				return nil, damaged(err)
			}
		case validFileName(h.Name):
			if manifest != nil {
				return nil, notVerified("%s comes after the manifest", h.Name)
			}
			var w io.Writer = io.Discard
			if open != nil {
				if ow, err := open(h); err != nil {
					return nil, err
				} else if ow != nil {
					w = ow
				}
			}
			d := pool.newFileCopier(w, false)
			n, err := d.ReadFrom(tr)
			sum := d.Sum()
			if err != nil {
				if cr.err != nil || errors.Is(err, io.ErrUnexpectedEOF) {
					return nil, damaged(err)
				}
				return nil, err // the writer's: a restore target
			}
			var g got
			g.size = n
			copy(g.sum[:], sum)
			files[h.Name] = g
			order = append(order, h.Name)
		default:
			return nil, notVerified("the archive holds %q, which is not part of a Valv backup", h.Name)
		}
	}
	// The tar stream ends before the age stream does: read the rest, so
	// that the last chunk (and with it a truncation) is authenticated.
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return nil, damaged(err)
	}
	if manifest == nil {
		return nil, notVerified("the archive has no %s (the backup is incomplete)", ManifestName)
	}
	m, err := parseManifest(manifest)
	if err != nil {
		return nil, notVerified("%v", err)
	}
	if len(m.Files) != len(order) {
		return nil, notVerified("the manifest lists %d files, the archive holds %d", len(m.Files), len(order))
	}
	for i, f := range m.Files {
		g, ok := files[f.Name]
		switch {
		case !ok:
			return nil, notVerified("%s is in the manifest but not in the archive", f.Name)
		case order[i] != f.Name:
			return nil, notVerified("the archive holds the files in another order than the manifest")
		case g.size != f.Size:
			return nil, notVerified("%s has %d bytes, the manifest says %d", f.Name, g.size, f.Size)
		case hex.EncodeToString(g.sum[:]) != f.SHA256:
			return nil, notVerified("%s: its SHA-256 differs from the manifest's (it was altered)", f.Name)
		}
	}
	rep := &Report{Manifest: m, ManifestBytes: manifest, CheckedAgainst: "backup"}
	if err := checkSignature(rep, sig, opts); err != nil {
		return nil, err
	}
	return rep, nil
}

func checkSignature(rep *Report, sig []byte, opts ReadOptions) error {
	m := rep.Manifest
	if opts.Vault != (store.ID{}) && m.Vault != opts.Vault {
		return notVerified("this is a backup of vault %s, not of vault %s", m.Vault, opts.Vault)
	}
	if m.By == store.Recovery {
		if sig != nil {
			return notVerified("the manifest says the recovery key made the backup, yet it is signed")
		}
		if !opts.AllowUnsigned {
			return notVerified("the backup is unsigned (made with the recovery key): nothing shows who made it; accept it only if you know it is yours")
		}
		return nil
	}
	if sig == nil {
		return notVerified("the manifest's signature (%s) is missing", SignatureName)
	}
	h := m.holder(m.By)
	if h == nil {
		return notVerified("the manifest names %s as its signer, who is not in its key holder list", m.By)
	}
	pub, err := x509.ParsePKIXPublicKey(h.SigningKey)
	if err != nil {
		return notVerified("the signer's signing key in the manifest is malformed")
	}
	if !verifySig(pub, rep.ManifestBytes, sig) {
		return notVerified("the manifest's signature does not verify under the signing key of key holder %s: the manifest was altered", m.By)
	}
	if h.Role != store.RoleAdmin {
		return notVerified("the signer %s is not an admin in the backup's key holder list", m.By)
	}
	rep.Signer = h
	if opts.Trusted != nil {
		for _, t := range opts.Trusted {
			if t.ID != m.By {
				continue
			}
			der, err := x509.MarshalPKIXPublicKey(t.SigningKey)
			if err != nil || !bytes.Equal(der, h.SigningKey) {
				return notVerified("the signer %s has another signing key in this vault: the backup was not made by this vault's key holder", m.By)
			}
			rep.CheckedAgainst = "vault"
			return nil
		}
		return notVerified("the signer %s is not a key holder of this vault", m.By)
	}
	return nil
}

func readSmall(tr io.Reader, h *tar.Header, limit int64) ([]byte, error) {
	if h.Size > limit {
		return nil, fmt.Errorf("%s is %d bytes, more than a backup writes", h.Name, h.Size)
	}
	return io.ReadAll(tr)
}

// countReader counts the bytes read and keeps the first error other than
// EOF (the stream's: a decryption failure).
type countReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}

// progressReader reports the bytes of the file read, and stops when ctx
// (if set) is cancelled.
type progressReader struct {
	r           io.Reader
	done, total int64
	last        int64
	started     bool
	phase       string
	fn          func(Progress)
	ctx         context.Context
}

func (p *progressReader) Read(b []byte) (int, error) {
	if p.ctx != nil && p.ctx.Err() != nil {
		return 0, p.ctx.Err()
	}
	if !p.started && p.fn != nil { // the phase begins
		p.started = true
		p.fn(Progress{Phase: p.phase, Total: p.total})
	}
	n, err := p.r.Read(b)
	p.done += int64(n)
	if p.fn != nil && (p.done-p.last >= progressStep || err == io.EOF) {
		p.last = p.done
		p.fn(Progress{Phase: p.phase, Done: p.done, Total: p.total})
	}
	return n, err
}
