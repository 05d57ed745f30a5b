package service

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/valv-vault/valv/crypto/card"
	"github.com/valv-vault/valv/store"
	"github.com/valv-vault/valv/store/backup"
	"github.com/valv-vault/valv/store/intake"
)

// testOperations drives backups, the intake queue and erasure through
// the demo service (a subtest of TestDemoService, which owns the only
// demo vault of the process).
func testOperations(t *testing.T, s *Service, pin string) {
	if err := s.Unlock(card.DemoSerial, pin); err != nil {
		t.Fatal(err)
	}
	defer s.Lock()
	t.Run("backups", func(t *testing.T) { testBackups(t, s) })
	t.Run("intake", func(t *testing.T) { testIntake(t, s) })
	t.Run("retention", func(t *testing.T) { testRetention(t, s) })
}

func testBackups(t *testing.T, s *Service) {
	ctx := context.Background()
	if _, err := s.Media(); err != nil {
		t.Errorf("media: %v", err)
	}
	dir := t.TempDir()

	// A backup is written, read back, named, logged.
	var phases []string
	res, err := s.Backup(ctx, dir, func(p BackupProgress) {
		if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
			phases = append(phases, p.Phase)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	// The directory and every compartment (the admin test made one more
	// than the demo's two).
	comps, err := s.Compartments()
	if err != nil {
		t.Fatal(err)
	}
	if !res.Verified || res.Bytes <= 0 || res.Files != 1+len(comps) || filepath.Dir(res.Path) != dir {
		t.Fatalf("backup result %+v", res)
	}
	if !slices.Contains(phases, "verify") {
		t.Errorf("progress phases %v: the read-back is not reported", phases)
	}
	if !audited(t, s, store.ActionBackup, res.Backup) {
		t.Error("the backup is not in the audit log")
	}

	// A failed backup leaves nothing and says why.
	if _, err := s.Backup(ctx, filepath.Join(dir, "gone"), nil); err == nil {
		t.Fatal("a backup into a missing folder succeeded")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Backup(cancelled, dir, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled backup: %v", err)
	}

	// The history: Valv's own files only, this vault's marked.
	other := filepath.Join(dir, backup.FileName(store.ID{1}, time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), 1))
	for _, p := range []string{other, filepath.Join(dir, "anteckningar.txt")} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	files, err := s.Backups(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || files[0].Path != res.Path || !files[0].ThisVault || files[0].State != VerifiedAgain || files[1].ThisVault || files[1].State != VerifiedWhenWritten {
		t.Fatalf("history %+v", files)
	}

	// Verify: against this vault's admins; a damaged copy fails.
	rep, err := s.Verify(ctx, res.Path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Signed || !rep.SignerEnrolled || rep.Backup != res.Backup || len(rep.Files) != 1+len(comps) {
		t.Fatalf("verify report %+v", rep)
	}
	if !audited(t, s, store.ActionBackupVerify, res.Backup) {
		t.Error("the verification is not in the audit log")
	}
	data, err := os.ReadFile(res.Path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 1
	damaged := filepath.Join(dir, backup.FileName(store.ID{2}, time.Date(2025, 2, 2, 3, 4, 5, 0, time.UTC), 1))
	if err := os.WriteFile(damaged, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(ctx, damaged, nil); err == nil {
		t.Fatal("a damaged backup verifies")
	}
	files, _ = s.Backups(dir)
	if i := slices.IndexFunc(files, func(f BackupFile) bool { return f.Path == damaged }); i < 0 || files[i].State != VerifyFailed || files[i].Problem == "" {
		t.Fatalf("the damaged backup in the history: %+v", files)
	}
	os.Remove(damaged)

	// Restore: never over the live vault, never into a full folder.
	if _, err := s.Restore(ctx, res.Path, s.vaultDir, RestoreOptions{}, nil); err == nil {
		t.Fatal("restored over the live vault")
	}
	if _, err := s.Restore(ctx, res.Path, filepath.Join(s.vaultDir, "copy"), RestoreOptions{}, nil); err == nil {
		t.Fatal("restored into the live vault's folder")
	}
	if _, err := s.Restore(ctx, res.Path, dir, RestoreOptions{}, nil); err == nil {
		t.Fatal("restored into a folder that holds files")
	}
	into := filepath.Join(t.TempDir(), "restored")
	rep, err = s.Restore(ctx, res.Path, into, RestoreOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(into, store.DirectoryFile)); err != nil || rep.Backup != res.Backup {
		t.Fatalf("restored vault: %v, report %+v", err, rep)
	}
	if !audited(t, s, store.ActionRestore, res.Backup) {
		t.Error("the restore is not in the live vault's audit log")
	}

	// Drill: restored next to the vault, compared, removed, logged.
	drill, err := s.Drill(ctx, res.Path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !drill.OK() || drill.AuditLogs != 1+len(comps) || len(drill.Compartments) != len(comps) || drill.Backup == nil {
		t.Fatalf("drill %+v", drill)
	}
	for _, c := range drill.Compartments {
		if c.Sampled == 0 || c.Equal+len(drill.Notes) < c.Sampled {
			t.Errorf("drill of compartment %s: %+v", c.ID, c)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(s.vaultDir), ".valv-drill-*")); len(left) != 0 {
		t.Errorf("the drill left %q", left)
	}
	if !audited(t, s, store.ActionDrill, res.Backup) {
		t.Error("the drill is not in the audit log")
	}

	// Rotation: this vault's backups only; a dry run deletes nothing.
	time.Sleep(time.Second) // a second backup, a second later
	res2, err := s.Backup(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	rot, err := s.Rotate(dir, RotationPolicy{Keep: 1}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(rot.Keep) != 1 || rot.Keep[0].Path != res2.Path || len(rot.Delete) != 1 || rot.Delete[0].Path != res.Path {
		t.Fatalf("rotation plan %+v", rot)
	}
	if _, err := os.Stat(res.Path); err != nil {
		t.Fatal("a dry run deleted a backup")
	}
	if n := rotations(t, s); len(n) != 0 {
		t.Fatalf("a dry run was logged: %v", n)
	}
	if _, err := s.Rotate(dir, RotationPolicy{Keep: 1}, false); err != nil {
		t.Fatal(err)
	}
	if n := rotations(t, s); len(n) != 1 || n[0] != 1 {
		t.Fatalf("rotation logged with counts %v, want one entry counting 1 file deleted", n)
	}
	files, _ = s.Backups(dir)
	if len(files) != 2 || files[0].Path != res2.Path || files[1].Path != other {
		t.Fatalf("after rotation: %+v", files)
	}
}

func testIntake(t *testing.T, s *Service) {
	ctx := context.Background()
	queue, err := s.IntakeQueue()
	if err != nil {
		t.Fatal(err)
	}
	if len(queue) != len(demoIntake) {
		t.Fatalf("demo intake queue: %+v", queue)
	}
	for i, it := range queue {
		if it.Name != demoIntake[i].name || it.Damaged != "" || it.Size != int64(len(demoIntake[i].content)) {
			t.Errorf("item %d: %+v", i, it)
		}
	}
	comps, err := s.Compartments()
	if err != nil {
		t.Fatal(err)
	}
	cid := queue[0].Compartment.String()
	var mine, theirs []Code
	for _, c := range comps {
		codes, err := s.Customers(c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if c.ID == cid {
			mine = codes
		} else {
			theirs = codes
		}
	}

	// Filed under a customer of another compartment: refused.
	if _, err := s.FileIntake(ctx, queue[0], theirs[0], nil); err == nil {
		t.Fatal("an item was filed under another compartment's customer")
	}
	var last, total int64
	doc, err := s.FileIntake(ctx, queue[0], mine[5], func(done, n int64) { last, total = done, n })
	if err != nil {
		t.Fatal(err)
	}
	if last != queue[0].Size || total != queue[0].Size {
		t.Errorf("progress ended at %d of %d, want %d", last, total, queue[0].Size)
	}
	docs, _ := s.Documents(mine[5])
	if i := slices.IndexFunc(docs, func(d Document) bool { return d.ID == doc }); i < 0 || docs[i].Name != demoIntake[0].name {
		t.Fatalf("filed item not among the customer's documents: %+v", docs)
	}
	if !audited(t, s, store.ActionIntakeFile, queue[0].ID.String()) {
		t.Error("filing is not in the audit log")
	}

	// A folder from a USB stick: one good file, one damaged, one other.
	sess, err := s.session()
	if err != nil {
		t.Fatal(err)
	}
	cidID, _ := store.ParseID(cid)
	rs, err := sess.CompartmentRecipient(cidID)
	if err != nil {
		t.Fatal(err)
	}
	to, err := intake.ParseRecipient(rs)
	if err != nil {
		t.Fatal(err)
	}
	stick := t.TempDir()
	content := []byte("Ett brev från kunden.\n")
	f, err := os.Create(filepath.Join(stick, "a"+intake.Ext))
	if err != nil {
		t.Fatal(err)
	}
	if err := intake.Seal(f, []*age.X25519Recipient{to}, &intake.Header{Name: "brev.txt", MediaType: "text/plain", Size: int64(len(content)), Sealed: time.Now()}, bytes.NewReader(content), nil); err != nil {
		t.Fatal(err)
	}
	f.Close()
	os.WriteFile(filepath.Join(stick, "b"+intake.Ext), []byte("not an intake file"), 0o600)
	os.WriteFile(filepath.Join(stick, "readme.txt"), []byte("hej"), 0o600)
	var lastDone, lastTotal int64
	imp, err := s.ImportIntake(ctx, stick, func(done, total int64) { lastDone, lastTotal = done, total })
	if err != nil {
		t.Fatal(err)
	}
	if imp.Files != 2 || imp.Imported != 1 || imp.Before != 0 || len(imp.Failed) != 1 || !strings.HasPrefix(imp.Failed[0], "b"+intake.Ext+": ") {
		t.Fatalf("import %+v", imp)
	}
	if lastDone != lastTotal || lastTotal == 0 {
		t.Errorf("import progress ended at %d of %d", lastDone, lastTotal)
	}
	if imp, err = s.ImportIntake(ctx, stick, nil); err != nil || imp.Before != 1 || imp.Imported != 0 {
		t.Fatalf("second import %+v, %v", imp, err)
	}
	queue, err = s.IntakeQueue()
	if err != nil || len(queue) != 2 || !slices.ContainsFunc(queue, func(it IntakeItem) bool { return it.Name == "brev.txt" }) {
		t.Fatalf("queue after the import: %+v, %v", queue, err)
	}

	// Discard.
	if err := s.DiscardIntake(queue[0].ID); err != nil {
		t.Fatal(err)
	}
	if !audited(t, s, store.ActionIntakeDiscard, queue[0].ID.String()) {
		t.Error("the discard is not in the audit log")
	}
	if q, _ := s.IntakeQueue(); len(q) != 1 || q[0].ID != queue[1].ID {
		t.Fatalf("queue after discard: %+v", q)
	}
}

func testRetention(t *testing.T, s *Service) {
	due, err := s.PastRetention()
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 4 || due[0].RetainUntil != "2024-03-10" || due[3].RetainUntil != "2024-04-11" {
		t.Fatalf("past retention: %+v", due)
	}
	if !audited(t, s, store.ActionRetentionList, "") {
		t.Error("the listing is not in the audit log")
	}
	code, err := ParseCode(strings.ToLower(strings.ReplaceAll(string(due[0].Code), "-", "")))
	if err != nil || code != due[0].Code {
		t.Fatalf("ParseCode of a typed code: %q, %v", code, err)
	}
	// An unknown code among them: nothing is erased.
	unknown, _ := ParseCode("K7Q3MX990")
	if unknown == "" {
		for _, ch := range "0123456789ABCDEFGHJKMNPQRSTVWXYZ*~$=U" {
			if unknown, err = ParseCode("K7Q3MX99" + string(ch)); err == nil {
				break
			}
		}
	}
	if _, err := s.Erase([]Code{due[0].Code, unknown}, nil); err == nil {
		t.Fatal("erased with an unknown code")
	}
	if _, err := s.View(due[0].Code); err != nil {
		t.Fatalf("a refused erasure erased: %v", err)
	}
	var done, total int
	erased, err := s.Erase([]Code{due[0].Code, due[1].Code}, func(d, n int) { done, total = d, n })
	if err != nil || len(erased) != 2 {
		t.Fatalf("erase: %q, %v", erased, err)
	}
	if total == 0 || done != total {
		t.Errorf("compaction progress ended at %d of %d", done, total)
	}
	if _, err := s.View(due[0].Code); err == nil {
		t.Fatal("an erased customer is still there")
	}
	if !audited(t, s, store.ActionErase, string(due[1].Code)) {
		t.Error("the erasure is not in the audit log")
	}
	if left, _ := s.PastRetention(); len(left) != 2 {
		t.Fatalf("past retention after erasing two: %+v", left)
	}
}

// rotations returns the Count of each backup-rotate entry in the audit log.
func rotations(t *testing.T, s *Service) []int64 {
	t.Helper()
	sess, err := s.session()
	if err != nil {
		t.Fatal(err)
	}
	var counts []int64
	err = sess.ExportAudit(func(e store.ExportedEntry) error {
		if e.Action == store.ActionBackupRotate {
			if e.Object != "" || e.Log != store.DirectoryLog {
				t.Errorf("backup-rotate entry in %s with object %q", e.Log, e.Object)
			}
			counts = append(counts, e.Count)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return counts
}
