package backup

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/valv-vault/valv/store"
)

// tool returns the path of a command, or skips the test (fails it if
// VALV_REQUIRE_TOOLS=1).
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("VALV_REQUIRE_TOOLS") == "1" {
			t.Fatalf("the %s command is required (scripts/deps test): %v", name, err)
		}
		t.Skipf("the %s command is not installed: %v", name, err)
	}
	return p
}

// TestAgeCLIDecryptsBackup takes a backup apart as docs/backup-format.md
// says, with Debian's stock age and tar only: the files it gives have the
// manifest's SHA-256, open as bbolt files of the vault, and the folder
// opens and unlocks as a vault.
func TestAgeCLIDecryptsBackup(t *testing.T) {
	ageBin, tarBin := tool(t, "age"), tool(t, "tar")
	f := newFixture(t, 2, 50, 2, 50<<10)
	res := f.backup(t, t.TempDir())
	dir := t.TempDir()
	key := filepath.Join(dir, "recovery.txt")
	writeRecovery(t, f, key)
	out := filepath.Join(dir, "x")
	must(t, os.Mkdir(out, 0o700))
	cmd := exec.Command("sh", "-c", `"$1" -d -i "$2" "$3" | "$4" -x -C "$5"`, "sh", ageBin, key, res.Path, tarBin, out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("age -d | tar x: %v\n%s", err, b)
	}
	mb, err := os.ReadFile(filepath.Join(out, ManifestName))
	must(t, err)
	var m Manifest
	must(t, json.Unmarshal(mb, &m))
	if _, err := os.Stat(filepath.Join(out, SignatureName)); err != nil {
		t.Fatal(err)
	}
	for _, mf := range m.Files {
		p := filepath.Join(out, mf.Name)
		b, err := os.ReadFile(p)
		must(t, err)
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != mf.SHA256 {
			t.Fatalf("%s: SHA-256 differs from the manifest", mf.Name)
		}
		fi, err := store.ReadFileInfo(p)
		must(t, err)
		if fi.Vault != f.v.ID() || fi.Log.Entries != mf.Audit.Entries {
			t.Fatalf("%s: %+v", mf.Name, fi)
		}
	}
	os.Remove(filepath.Join(out, ManifestName))
	os.Remove(filepath.Join(out, SignatureName))
	v, err := store.Open(out)
	must(t, err)
	defer v.Close()
	s, err := v.Unlock(f.recovery, nil)
	must(t, err)
	defer s.Lock()
	if _, err := s.VerifyAudit(); err != nil {
		t.Fatal(err)
	}
	// The signature checks with openssl too, as documented.
	if ossl, err := exec.LookPath("openssl"); err == nil {
		var h *Holder
		for i := range m.Holders {
			if m.Holders[i].ID == m.By {
				h = &m.Holders[i]
			}
		}
		pub := filepath.Join(dir, "signer.der")
		must(t, os.WriteFile(pub, h.SigningKey, 0o600))
		cmd := exec.Command(ossl, "dgst", "-sha256", "-keyform", "DER", "-verify", pub, "-signature", filepath.Join(dir, "sig"), filepath.Join(dir, "manifest.json"))
		sig, _ := exec.Command("sh", "-c", `"$1" -d -i "$2" "$3" | "$4" -xO -f - manifest.sig`, "sh", ageBin, key, res.Path, tarBin).Output()
		must(t, os.WriteFile(filepath.Join(dir, "sig"), sig, 0o600))
		must(t, os.WriteFile(filepath.Join(dir, "manifest.json"), mb, 0o600))
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("openssl dgst -verify: %v\n%s", err, b)
		}
	}
}
