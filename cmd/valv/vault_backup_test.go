package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/valv-vault/valv/store"
	"github.com/valv-vault/valv/store/backup"
)

// TestBackupCLI: valv backup writes a verified backup, valv verify checks
// it (against the vault, or offline against the list inside it), a
// flipped byte fails, valv restore makes a vault that opens, valv drill
// passes, rotation keeps what it should, and each is in the audit log.
func TestBackupCLI(t *testing.T) {
	cv := newCLIVault(t)
	a := strings.TrimSpace(cv.ok(t, cv.admin, "compartment", "create", "Privatkunder"))
	for _, n := range []string{"Anna Kund", "Bertil Kund"} {
		cv.ok(t, cv.admin, "customer", "add", "--compartment", a, "--name", n)
	}
	to := t.TempDir()
	out := cv.ok(t, cv.admin, "backup", "--to", to)
	m := regexp.MustCompile(`(?m)^backup\t(.+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("valv backup: %q", out)
	}
	file := m[1]
	id := regexp.MustCompile(`(?m)^id\t([0-9a-f]{32})$`).FindStringSubmatch(out)[1]

	// Against the vault: the signer is an enrolled key holder.
	out = cv.ok(t, cv.admin, "verify", file)
	if !strings.Contains(out, "an enrolled key holder of this vault") || !strings.Contains(out, "ok\t"+file) {
		t.Fatalf("valv verify: %q", out)
	}
	// Offline, with the recovery key and no vault.
	code, out, errOut := runCLI(t, "", "verify", file, "--identity", cv.recovery, "--vault", filepath.Join(t.TempDir(), "none"))
	if code != 0 || !strings.Contains(out, "inside the backup") || !strings.Contains(out, "logged\tno") {
		t.Fatalf("offline verify: %d %q %q", code, out, errOut)
	}
	// A key holder who is no admin cannot open a backup.
	if code, _, errOut := cv.valv(t, cv.holder, "verify", file); code == 0 || !strings.Contains(errOut, "does not open the backup") {
		t.Fatalf("a non-admin verified a backup: %d %q", code, errOut)
	}
	// A flipped byte fails and says so.
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 4
	bad := filepath.Join(t.TempDir(), "bad.valvbak")
	if err := os.WriteFile(bad, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := cv.valv(t, cv.admin, "verify", bad); code != 1 || !strings.Contains(out, "FAIL") || !strings.Contains(errOut, "damaged") {
		t.Fatalf("flipped byte: %d %q %q", code, out, errOut)
	}

	// Restore: never over the vault; into a new folder it opens.
	if code, _, errOut := cv.valv(t, cv.admin, "restore", file, "--into", cv.dir); code == 0 || !strings.Contains(errOut, "not empty") {
		t.Fatalf("restore over the vault: %d %q", code, errOut)
	}
	into := filepath.Join(t.TempDir(), "restored")
	out = cv.ok(t, cv.admin, "restore", file, "--into", into)
	if !strings.Contains(out, "restored\t"+into) {
		t.Fatalf("valv restore: %q", out)
	}
	code, out, errOut = runCLI(t, "", "customer", "list", "--vault", into, "--identity", cv.admin, "--compartment", a)
	if code != 0 || strings.Count(out, "\n") != 2 {
		t.Fatalf("customers of the restored vault: %d %q %q", code, out, errOut)
	}

	out = cv.ok(t, cv.admin, "drill", file)
	if !strings.Contains(out, "drill\tpassed") || !strings.Contains(out, "2 customers in the backup, 2 now") {
		t.Fatalf("valv drill: %q", out)
	}

	// Rotation: a second backup, keep 1.
	cv.ok(t, cv.admin, "backup", "--to", to)
	os.WriteFile(filepath.Join(to, "other.txt"), []byte("x"), 0o600)
	out = cv.ok(t, cv.admin, "backup", "rotate", "--to", to, "--keep", "1", "--monthly", "0", "--dry-run")
	if strings.Count(out, "would delete") != 1 || !strings.Contains(out, "would delete\t"+file) {
		t.Fatalf("rotate --dry-run: %q", out)
	}
	if _, err := os.Stat(file); err != nil {
		t.Fatal("a dry run deleted")
	}
	// Another vault's backup in the same folder is not this vault's to
	// rotate.
	other := filepath.Join(to, backup.FileName(store.ID{1}, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), 1))
	os.WriteFile(other, []byte("x"), 0o600)
	cv.ok(t, cv.admin, "backup", "rotate", "--to", to, "--keep", "1", "--monthly", "0")
	ents, _ := os.ReadDir(to)
	if len(ents) != 3 {
		t.Fatalf("after rotation: %d files", len(ents))
	}
	if _, err := os.Stat(file); err == nil {
		t.Fatal("rotation kept the older backup")
	}

	// Every step is in the audit log.
	out = cv.ok(t, cv.admin, "audit", "export", "--format", "csv")
	for _, want := range []string{",backup," + id + ",", ",backup-verify," + id + ",0", ",backup-verify,,1", ",restore," + id + ",2", ",drill," + id + ",0", ",backup-rotate,,1"} {
		if !strings.Contains(out, want) {
			t.Errorf("the audit log has no %q", want)
		}
	}
	if code, out, _ := runCLI(t, "", "backup", "--media"); code != 0 || out == "" {
		t.Fatalf("backup --media: %d %q", code, out)
	}
}
