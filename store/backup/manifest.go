package backup

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/valv-vault/valv/store"
)

// Container constants (docs/backup-format.md).
const (
	// Ext ends the name of every backup file.
	Ext = ".valvbak"
	// FormatName and FormatVersion are the manifest's "format" and
	// "version".
	FormatName    = "valv backup"
	FormatVersion = 1
	// ManifestName and SignatureName are the last entries of the tar
	// stream.
	ManifestName  = "manifest.json"
	SignatureName = "manifest.sig"

	// maxManifest bounds the manifest read back (it lists files and key
	// holders: a few KiB).
	maxManifest = 4 << 20
	maxSig      = 1 << 10
	// maxApp bounds the manifest's "app" (a version such as 1.2.3).
	maxApp = 64
)

// A Manifest describes a backup: what it holds, where each audit log
// ended, and who made it. It holds ids and public keys only, no names.
type Manifest struct {
	Format   string         `json:"format"`  // FormatName
	Version  int            `json:"version"` // FormatVersion
	App      string         `json:"app"`     // the version of Valv that wrote it
	Backup   store.ID       `json:"backup"`  // random; the object of the audit entries
	Vault    store.ID       `json:"vault"`
	Created  time.Time      `json:"created"` // when the snapshot was taken (UTC)
	By       store.HolderID `json:"by"`      // who made it ("recovery": the recovery key; then unsigned)
	Recovery string         `json:"recovery"`
	Files    []File         `json:"files"`
	Holders  []Holder       `json:"holders"` // the key holders in the backed-up directory
}

// A File is one vault file in the backup.
type File struct {
	Name        string `json:"name"` // directory.valv or <compartment id>.valv
	Kind        string `json:"kind"` // "directory" or "compartment"
	Compartment string `json:"compartment,omitempty"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"` // hex
	Audit       Audit  `json:"audit"`
}

// Audit is where a file's audit log ended.
type Audit struct {
	Entries uint64 `json:"entries"`
	Head    string `json:"head"` // link of the last entry, hex
	// Checkpoint is the newest signed checkpoint that the backing-up
	// session could open (absent for a compartment it holds no key of).
	Checkpoint *store.Checkpoint `json:"checkpoint,omitempty"`
}

// A Holder is a key holder's public record.
type Holder struct {
	ID         store.HolderID `json:"id"`
	Serial     uint32         `json:"serial"`
	Role       store.Role     `json:"role"`
	Recipient  string         `json:"recipient"`
	SigningKey []byte         `json:"signing_key"` // PKIX DER
	Inactive   bool           `json:"inactive,omitempty"`
}

func manifestHolders(hs []store.Holder) ([]Holder, error) {
	out := make([]Holder, 0, len(hs))
	for _, h := range hs {
		der, err := x509.MarshalPKIXPublicKey(h.SigningKey)
		if err != nil {
			return nil, fmt.Errorf("backup: key holder %s: %v", h.ID, err)
		}
		out = append(out, Holder{ID: h.ID, Serial: h.Serial, Role: h.Role, Recipient: h.Recipient, SigningKey: der, Inactive: h.Inactive})
	}
	return out, nil
}

// holder returns the manifest's key holder with the id, or nil.
func (m *Manifest) holder(id store.HolderID) *Holder {
	for i := range m.Holders {
		if m.Holders[i].ID == id {
			return &m.Holders[i]
		}
	}
	return nil
}

// parseManifest reads and checks the shape of a manifest.
func parseManifest(p []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(p, &m); err != nil {
		return nil, fmt.Errorf("the manifest is malformed: %v", err)
	}
	switch {
	case m.Format != FormatName:
		return nil, fmt.Errorf("the manifest is not a Valv backup's (format %q)", m.Format)
	case m.Version > FormatVersion:
		return nil, fmt.Errorf("the backup is format %d; this Valv reads up to %d: upgrade Valv", m.Version, FormatVersion)
	case m.Version < 1:
		return nil, fmt.Errorf("the manifest has no valid version (%d)", m.Version)
	case len(m.Files) == 0 || m.Files[0].Name != store.DirectoryFile:
		return nil, errors.New("the manifest does not list the directory first")
	case len(m.App) > maxApp || strings.ContainsFunc(m.App, func(r rune) bool { return r < 0x20 || r > 0x7e }):
		// It is printed (valv verify): no control sequences, no lines.
		return nil, fmt.Errorf("the manifest's app version is not %d or fewer printable ASCII characters", maxApp)
	}
	seen := map[string]bool{}
	for _, f := range m.Files {
		if seen[f.Name] {
			return nil, fmt.Errorf("the manifest lists %s twice", f.Name)
		}
		seen[f.Name] = true
		if !validFileName(f.Name) {
			return nil, fmt.Errorf("the manifest lists %q, which is not a vault file name", f.Name)
		}
	}
	return &m, nil
}

// validFileName accepts directory.valv and <32 hex digits>.valv.
func validFileName(name string) bool {
	if name == store.DirectoryFile {
		return true
	}
	if len(name) != 32+len(store.FileExt) || name[32:] != store.FileExt {
		return false
	}
	for _, c := range name[:32] {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// sign signs the manifest bytes with a key holder's slot 9C key: ECDSA
// P-256 over SHA-256 (DER signature), or Ed25519.
func sign(signer crypto.Signer, msg []byte) ([]byte, error) {
	if _, ok := signer.Public().(ed25519.PublicKey); ok {
		return signer.Sign(rand.Reader, msg, crypto.Hash(0))
	}
	d := sha256.Sum256(msg)
	return signer.Sign(rand.Reader, d[:], crypto.SHA256)
}

func verifySig(pub crypto.PublicKey, msg, sig []byte) bool {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		d := sha256.Sum256(msg)
		return ecdsa.VerifyASN1(k, d[:], sig)
	case ed25519.PublicKey:
		return ed25519.Verify(k, msg, sig)
	}
	return false
}
