package backup

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/store"
)

// dump reads every key and value of a bbolt file (nested buckets as
// paths), without changing the file.
func dump(t testing.TB, path string) map[string][]byte {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	must(t, err)
	defer db.Close()
	out := map[string][]byte{}
	var walk func(prefix string, b *bolt.Bucket) error
	walk = func(prefix string, b *bolt.Bucket) error {
		return b.ForEach(func(k, v []byte) error {
			key := prefix + "/" + string(k)
			if v == nil {
				return walk(key, b.Bucket(k))
			}
			out[key] = bytes.Clone(v)
			return nil
		})
	}
	must(t, db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error { return walk(string(name), b) })
	}))
	return out
}

// compareFiles checks that every record of the restored file equals the
// live one's byte for byte. The live file may have gone on since the
// backup only in its audit log (entries appended after the backup: its
// own "backup" entry, the checkpoints of the session that made it).
func compareFiles(t *testing.T, live, restored string) {
	t.Helper()
	l, r := dump(t, live), dump(t, restored)
	auditLike := func(k string) bool {
		return strings.HasPrefix(k, "audit/") || strings.HasPrefix(k, "checkpoints/") || k == "meta/audit-head"
	}
	for k, rv := range r {
		lv, ok := l[k]
		switch {
		case !ok && strings.HasPrefix(k, "checkpoints/"):
		case !ok:
			t.Errorf("%s: %q is in the restored file, not in the live one", filepath.Base(live), k)
		case k == "meta/audit-head":
		case !bytes.Equal(lv, rv):
			t.Errorf("%s: %q differs", filepath.Base(live), k)
		}
	}
	extra := 0
	for k := range l {
		if _, ok := r[k]; !ok {
			if !auditLike(k) {
				t.Errorf("%s: %q is missing from the restored file", filepath.Base(live), k)
			}
			if strings.HasPrefix(k, "audit/") {
				extra++
			}
		}
	}
	if extra > 1 {
		t.Errorf("%s: the live log has %d entries more than the backup", filepath.Base(live), extra)
	}
	if len(r) < 10 {
		t.Fatalf("%s: the restored file holds only %d records", restored, len(r))
	}
}

// TestBackupRestoreRoundTrip: a vault with 3 compartments, 10 000
// customers and documents is backed up and restored; the restored files
// equal the live ones record by record (every key and value of every
// bucket, byte for byte), every document exports byte for byte, the
// restored vault's audit logs verify, and a drill passes.
func TestBackupRestoreRoundTrip(t *testing.T) {
	n := 10_000
	if testing.Short() {
		n = 600
	}
	f := newFixture(t, 3, n, 4, 300<<10)
	out := t.TempDir()
	var phases []string
	s := f.unlock(t)
	res, err := Write(s, out, Options{App: "test", Signer: f.admin.signer, Progress: func(p Progress) {
		if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
			phases = append(phases, p.Phase)
		}
	}})
	must(t, err)
	must(t, s.Lock())
	if strings.Join(phases, ",") != "backup,verify" {
		t.Errorf("progress phases %v", phases)
	}
	if nm, ok := ParseName(filepath.Base(res.Path)); !ok || nm.Vault != f.v.ID() {
		t.Fatalf("backup named %s", res.Path)
	}
	if ents, _ := os.ReadDir(out); len(ents) != 1 {
		t.Fatalf("the backup folder holds %d files", len(ents))
	}
	if len(res.Manifest.Files) != 4 || res.Manifest.By == store.Recovery {
		t.Fatalf("manifest lists %d files, by %s", len(res.Manifest.Files), res.Manifest.By)
	}

	// Offline verification with the recovery key: signature checked
	// against the list inside the backup.
	rep, err := VerifyFile(res.Path, ReadOptions{Identities: []age.Identity{f.recovery}})
	must(t, err)
	if rep.Signer == nil || rep.CheckedAgainst != "backup" {
		t.Fatalf("report %+v", rep)
	}

	into := filepath.Join(t.TempDir(), "restored")
	rep, err = Restore(res.Path, into, RestoreOptions{ReadOptions: ReadOptions{Identities: []age.Identity{f.recovery}}})
	must(t, err)

	// Record by record, byte by byte, before anything opens the copy.
	must(t, f.v.Close())
	for _, mf := range rep.Manifest.Files {
		compareFiles(t, filepath.Join(f.dir, mf.Name), filepath.Join(into, mf.Name))
	}
	v, err := store.Open(f.dir)
	must(t, err)
	f.v = v

	// The copy opens, its logs verify, and every document exports whole.
	rv, err := store.Open(into)
	must(t, err)
	defer rv.Close()
	rs, err := rv.Unlock(f.recovery, nil)
	must(t, err)
	defer rs.Lock()
	reports, err := rs.VerifyAudit()
	must(t, err)
	if len(reports) != 4 {
		t.Fatalf("%d logs verified", len(reports))
	}
	total := 0
	for _, cid := range f.comps {
		_, cnt, err := rs.ListCustomers(cid, 0, 0)
		must(t, err)
		total += cnt
	}
	if total != n {
		t.Fatalf("%d customers restored, want %d", total, n)
	}
	for id, want := range f.docs {
		var got bytes.Buffer
		if _, err := rs.ExportDocument(context.Background(), id, &got, nil, store.DocumentOptions{}); err != nil || !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("document %s: %v (%d bytes, want %d)", id, err, got.Len(), len(want))
		}
	}

	// A drill of the same backup passes and is logged.
	s = f.unlock(t)
	dr, err := Drill(s, res.Path, f.admin.identity, ReadOptions{})
	must(t, err)
	if !dr.OK() || len(dr.Compartments) != 3 || dr.AuditLogs != 4 {
		t.Fatalf("drill: %+v", dr)
	}
	for _, c := range dr.Compartments {
		if c.Sampled == 0 || c.Equal != c.Sampled || c.Restored != c.Live {
			t.Fatalf("drill compartment %+v", c)
		}
	}
	if dr.Backup.CheckedAgainst != "vault" {
		t.Fatalf("drill checked the signature against %q", dr.Backup.CheckedAgainst)
	}
	assertLogged(t, s, store.ActionBackup, res.Manifest.Backup, res.Bytes)
	assertLogged(t, s, store.ActionDrill, res.Manifest.Backup, 0)
	if ents, _ := os.ReadDir(filepath.Dir(f.dir)); len(ents) != 1 {
		t.Fatalf("the drill left %d entries next to the vault", len(ents))
	}
}

func assertLogged(t *testing.T, s *store.Session, a store.Action, backup store.ID, count int64) {
	t.Helper()
	found := false
	must(t, s.ExportAudit(func(e store.ExportedEntry) error {
		if e.Log == store.DirectoryLog && e.Action == a && e.Object == backup.String() && e.Count == count {
			found = true
		}
		return nil
	}))
	if !found {
		t.Fatalf("no %s entry for backup %s with count %d", a, backup, count)
	}
}

// A backup restored with one compartment holds the directory and that
// compartment; the restored vault unlocks and reports the others missing.
func TestRestoreOneCompartment(t *testing.T) {
	f := newFixture(t, 3, 30, 1, 1000)
	res := f.backup(t, t.TempDir())
	into := filepath.Join(t.TempDir(), "one")
	_, err := Restore(res.Path, into, RestoreOptions{ReadOptions: ReadOptions{Identities: []age.Identity{f.recovery}}, Compartment: f.comps[1]})
	must(t, err)
	ents, _ := os.ReadDir(into)
	if len(ents) != 2 {
		t.Fatalf("restored %d files", len(ents))
	}
	v, err := store.Open(into)
	must(t, err)
	defer v.Close()
	s, err := v.Unlock(f.recovery, nil)
	must(t, err)
	defer s.Lock()
	cs, err := s.Compartments()
	must(t, err)
	for _, c := range cs {
		if (c.ID == f.comps[1]) != (c.Problem == "") {
			t.Fatalf("compartment %s: unlocked %v, problem %q", c.ID, c.Unlocked, c.Problem)
		}
	}
	// A compartment the backup does not hold fails and leaves nothing.
	into2 := filepath.Join(t.TempDir(), "none")
	if _, err := Restore(res.Path, into2, RestoreOptions{ReadOptions: ReadOptions{Identities: []age.Identity{f.recovery}}, Compartment: store.ID{1}}); err == nil {
		t.Fatal("restored a compartment the backup does not hold")
	}
	if _, err := os.Stat(into2); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a failed restore left %s", into2)
	}
}

// Restore never writes into a folder that holds anything, least of all
// a live vault.
func TestRestoreRefusesNonEmptyFolder(t *testing.T) {
	f := newFixture(t, 1, 5, 0, 0)
	res := f.backup(t, t.TempDir())
	_, err := Restore(res.Path, f.dir, RestoreOptions{ReadOptions: ReadOptions{Identities: []age.Identity{f.recovery}}})
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("restore over the live vault: %v", err)
	}
}

// Verification names what is wrong: the wrong key, a backup of another
// vault, a signer who is not a key holder of the vault at hand, an
// unsigned backup.
func TestVerifyNamesProblems(t *testing.T) {
	f := newFixture(t, 1, 5, 0, 0)
	res := f.backup(t, t.TempDir())
	other, _ := age.GenerateX25519Identity()
	if _, err := VerifyFile(res.Path, ReadOptions{Identities: []age.Identity{other}}); err == nil || !strings.Contains(err.Error(), "does not open") {
		t.Fatalf("wrong key: %v", err)
	}
	// The admin's card opens it too.
	if _, err := VerifyFile(res.Path, ReadOptions{Identities: []age.Identity{f.admin.identity}}); err != nil {
		t.Fatalf("the admin's card: %v", err)
	}
	if _, err := VerifyFile(res.Path, ReadOptions{Identities: []age.Identity{f.recovery}, Vault: store.ID{7}}); !errors.Is(err, ErrNotVerified) || !strings.Contains(err.Error(), "not of vault") {
		t.Fatalf("another vault: %v", err)
	}
	stranger := newTestHolder(t, "Sven Främling", store.RoleAdmin)
	trusted := []store.Holder{{ID: res.Manifest.By, SigningKey: stranger.signer.Public(), Role: store.RoleAdmin}}
	if _, err := VerifyFile(res.Path, ReadOptions{Identities: []age.Identity{f.recovery}, Trusted: trusted}); !errors.Is(err, ErrNotVerified) || !strings.Contains(err.Error(), "another signing key") {
		t.Fatalf("foreign signing key: %v", err)
	}
	if _, err := VerifyFile(res.Path, ReadOptions{Identities: []age.Identity{f.recovery}, Trusted: []store.Holder{}}); !errors.Is(err, ErrNotVerified) || !strings.Contains(err.Error(), "not a key holder") {
		t.Fatalf("unknown signer: %v", err)
	}

	// With the recovery key: unsigned, accepted only when allowed.
	s, err := f.v.Unlock(f.recovery, nil)
	must(t, err)
	ures, err := Write(s, t.TempDir(), Options{App: "test"})
	must(t, err)
	must(t, s.Lock())
	if _, err := VerifyFile(ures.Path, ReadOptions{Identities: []age.Identity{f.recovery}}); !errors.Is(err, ErrNotVerified) || !strings.Contains(err.Error(), "unsigned") {
		t.Fatalf("unsigned backup: %v", err)
	}
	if rep, err := VerifyFile(ures.Path, ReadOptions{Identities: []age.Identity{f.recovery}, AllowUnsigned: true}); err != nil || rep.Signer != nil {
		t.Fatalf("unsigned backup, allowed: %v", err)
	}
	// An admin without its signing key cannot unlock, so cannot write
	// an unsigned backup either.
	if s, err := f.v.Unlock(f.admin.identity, nil); err == nil {
		s.Lock()
		t.Fatal("an admin unlocked without the card's signing key")
	}
	if _, err := Write(s, t.TempDir(), Options{App: "test", Signer: stranger.signer}); err == nil {
		t.Fatal("a backup was signed with a key not enrolled for the admin")
	}
}

// A flipped byte anywhere in a backup fails verification.
func TestFlippedByteFailsVerify(t *testing.T) {
	f := newFixture(t, 2, 20, 1, 20<<10)
	res := f.backup(t, t.TempDir())
	orig, err := os.ReadFile(res.Path)
	must(t, err)
	path := filepath.Join(t.TempDir(), "flipped"+Ext)
	positions := []int{0, 1, 10, 40, 100, len(orig) / 2, len(orig) - 17, len(orig) - 1}
	for i := 0; i < len(orig); i += max(1, len(orig)/300) {
		positions = append(positions, i)
	}
	// Every byte of the header (recipient stanzas, MAC).
	hdr := bytes.Index(orig, []byte("\n--- "))
	for i := 0; i < hdr+48; i += 3 {
		positions = append(positions, i)
	}
	for _, pos := range positions {
		b := bytes.Clone(orig)
		b[pos] ^= 0x01
		must(t, os.WriteFile(path, b, 0o600))
		if _, err := VerifyFile(path, ReadOptions{Identities: []age.Identity{f.recovery}}); err == nil {
			t.Fatalf("a flipped bit at byte %d of %d verified", pos, len(orig))
		}
	}
	// Truncated, and extended.
	for _, b := range [][]byte{orig[:len(orig)-1], orig[:len(orig)/2], append(bytes.Clone(orig), 0)} {
		must(t, os.WriteFile(path, b, 0o600))
		if _, err := VerifyFile(path, ReadOptions{Identities: []age.Identity{f.recovery}}); err == nil {
			t.Fatalf("a backup of %d bytes (of %d) verified", len(b), len(orig))
		}
	}
	t.Logf("%d positions in %d bytes", len(positions), len(orig))
}
