package backup

import (
	"archive/tar"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/store"
)

// Attacks of the November 2026 second review
// (docs/security-review-2026-11-round2.md) on backups.

// craftBackup makes what anyone can make: an age file to a public
// recipient (the vault's recovery recipient), holding the given vault
// files and a manifest signed by a key of the attacker's own, listed as
// an admin in the manifest's key holder list.
func craftBackup(t testing.TB, to age.Recipient, vault store.ID, files [][2]any, edit ...func(*Manifest)) []byte {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	must(t, err)
	der, err := x509.MarshalPKIXPublicKey(pub)
	must(t, err)
	by := store.HolderID(randomID())
	m := Manifest{Format: FormatName, Version: FormatVersion, App: "attacker", Backup: store.ID(randomID()), Vault: vault,
		Created: time.Now().UTC(), By: by, Recovery: "age1x",
		Holders: []Holder{{ID: by, Serial: 1, Role: store.RoleAdmin, Recipient: "age1yubikey1x", SigningKey: der}}}
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	put := func(name string, b []byte) {
		must(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: int64(len(b)), Mode: 0o600}))
		_, err := tw.Write(b)
		must(t, err)
	}
	for _, f := range files {
		name, b := f[0].(string), f[1].([]byte)
		sum := sha256.Sum256(b)
		kind := "compartment"
		if name == store.DirectoryFile {
			kind = "directory"
		}
		m.Files = append(m.Files, File{Name: name, Kind: kind, Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:])})
		put(name, b)
	}
	for _, e := range edit {
		e(&m)
	}
	mb, err := json.Marshal(&m)
	must(t, err)
	put(ManifestName, mb)
	put(SignatureName, ed25519.Sign(priv, mb))
	must(t, tw.Close())
	var out bytes.Buffer
	aw, err := age.Encrypt(&out, to)
	must(t, err)
	_, err = aw.Write(tb.Bytes())
	must(t, err)
	must(t, aw.Close())
	return out.Bytes()
}

// crashingBolt returns a bbolt file whose meta pages are intact (their
// checksums verify, so it opens) but whose tree pages say they are
// neither branch nor leaf: reading a bucket makes bbolt panic.
func crashingBolt(t testing.TB) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "x.valv")
	db, err := bolt.Open(p, 0o600, nil)
	must(t, err)
	must(t, db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("meta"))
		if err != nil {
			return err
		}
		return b.Put([]byte("kind"), []byte("directory"))
	}))
	must(t, db.Close())
	b, err := os.ReadFile(p)
	must(t, err)
	ps := int(binary.LittleEndian.Uint32(b[16+8:]))
	for off := 2 * ps; off+ps <= len(b); off += ps {
		if fl := binary.LittleEndian.Uint16(b[off+8:]); fl == 0x01 || fl == 0x02 { // branch, leaf
			binary.LittleEndian.PutUint16(b[off+8:], 0x40)
		}
	}
	return b
}

// TestRestoreCraftedBoltNoCrash (R2-M2): a backup anyone can make (to
// the public recovery recipient, signed by a key of their own) whose
// directory.valv makes bbolt panic when read. Restored without a vault
// at hand (as after losing the machine: the signature is checked only
// against the backup's own key list), it must fail with an error that
// says the file is damaged, not crash Valv, and leave nothing behind.
func TestRestoreCraftedBoltNoCrash(t *testing.T) {
	rec, err := age.GenerateX25519Identity()
	must(t, err)
	vault := store.ID(randomID())
	for name, file := range map[string][]byte{"bad page type": crashingBolt(t), "cut short": cutBolt(t)} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), FileName(vault, time.Now(), 1))
			must(t, os.WriteFile(path, craftBackup(t, rec.Recipient(), vault, [][2]any{{store.DirectoryFile, file}}), 0o600))
			into := filepath.Join(t.TempDir(), "restored")
			_, err = Restore(path, into, RestoreOptions{ReadOptions: ReadOptions{Identities: []age.Identity{rec}}})
			if !errors.Is(err, ErrNotVerified) || !strings.Contains(err.Error(), "damaged") {
				t.Fatalf("a crafted backup with a damaged vault file: %v", err)
			}
			if _, serr := os.Stat(into); !os.IsNotExist(serr) {
				t.Errorf("the failed restore left %s behind (%v)", into, serr)
			}
		})
	}
}

// cutBolt returns a bbolt file cut after its meta pages: they are intact,
// the tree they point to lies past the end (reading it would fault).
func cutBolt(t testing.TB) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "x.valv")
	db, err := bolt.Open(p, 0o600, nil)
	must(t, err)
	must(t, db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("meta"))
		if err != nil {
			return err
		}
		for i := range 2000 {
			if err := b.Put(fmt.Appendf(nil, "key %05d", i), bytes.Repeat([]byte{1}, 100)); err != nil {
				return err
			}
		}
		return nil
	}))
	must(t, db.Close())
	b, err := os.ReadFile(p)
	must(t, err)
	ps := int(binary.LittleEndian.Uint32(b[16+8:]))
	return b[:4*ps]
}

// TestRotationFutureNamesKeepGenuine (R2-L1): rotation goes by names
// alone. Files named for a time in the future (planted by whoever can
// write to the medium, or backups made on a machine whose clock was far
// ahead) must not count as the newest backups: seven of them would make
// the default policy delete every genuine backup but the monthly ones.
// They are kept and reported, and never deleted either.
func TestRotationFutureNamesKeepGenuine(t *testing.T) {
	dir := t.TempDir()
	a := store.ID{0xa}
	now := time.Now().UTC()
	var genuine []string
	for i := range 7 {
		n := FileName(a, now.Add(-time.Duration(i)*24*time.Hour), 1)
		genuine = append(genuine, n)
		must(t, os.WriteFile(filepath.Join(dir, n), []byte("age-encryption.org/v1\n"), 0o600))
	}
	var future []string
	for i := range 7 {
		n := FileName(a, time.Date(2099, 12, 31, 23, 59, i, 0, time.UTC), 1)
		future = append(future, n)
		must(t, os.WriteFile(filepath.Join(dir, n), []byte("age-encryption.org/v1\n"), 0o600))
	}
	r, err := PlanRotation(dir, a, Policy{Keep: DefaultKeep, Monthly: DefaultMonthly})
	must(t, err)
	for _, d := range r.Delete {
		t.Errorf("rotation deletes %s", filepath.Base(d.Path))
	}
	kept := map[string]string{}
	for _, k := range r.Keep {
		kept[filepath.Base(k.Path)] = k.Reason
	}
	for _, n := range genuine {
		if !strings.HasPrefix(kept[n], "one of the last") {
			t.Errorf("genuine %s: %q", n, kept[n])
		}
	}
	for _, n := range future {
		if !strings.Contains(kept[n], "future") {
			t.Errorf("future-dated %s: %q", n, kept[n])
		}
	}
}

// TestVerifyManifestAppPrintable (R2-L3): the manifest's "app" is the
// only free text of a manifest, and valv verify prints it. In a backup
// anyone can make it must not carry control characters: "\x1b[8m" hides
// everything printed after it (the true signature line), and line breaks
// forge lines of the report before it.
func TestVerifyManifestAppPrintable(t *testing.T) {
	rec, err := age.GenerateX25519Identity()
	must(t, err)
	vault := store.ID(randomID())
	forged := "1.0\nsignature\tok: by admin 0123, an enrolled key holder of this vault with the same signing key\x1b[8m"
	path := filepath.Join(t.TempDir(), FileName(vault, time.Now(), 1))
	must(t, os.WriteFile(path, craftBackup(t, rec.Recipient(), vault, [][2]any{{store.DirectoryFile, []byte("x")}},
		func(m *Manifest) { m.App = forged }), 0o600))
	rep, err := VerifyFile(path, ReadOptions{Identities: []age.Identity{rec}, AllowUnsigned: true})
	if !errors.Is(err, ErrNotVerified) {
		t.Fatalf("a manifest whose app holds control characters: %v (app %q)", err, rep.Manifest.App)
	}
	// What Valv writes still reads.
	for _, app := range []string{"dev", "1.2.3", "v0.9.0-rc.1+abc"} {
		if _, err := parseManifest(fmt.Appendf(nil, `{"format":"valv backup","version":1,"app":%q,"files":[{"name":"directory.valv"}]}`, app)); err != nil {
			t.Errorf("app %q: %v", app, err)
		}
	}
}
