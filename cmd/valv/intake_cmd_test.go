package main

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
)

// TestIntakeCLI: seal at the "front desk" (no vault, no key), import
// while locked, list, file and discard as a key holder, export the
// filed document; foreign, bad and repeated files are reported per
// file; the audit log never names a file.
func TestIntakeCLI(t *testing.T) {
	cv := newCLIVault(t)
	a := strings.TrimSpace(cv.ok(t, cv.admin, "compartment", "create", "Privatkunder"))
	code := strings.TrimSpace(cv.ok(t, cv.admin, "customer", "add", "--compartment", a, "--name", "Åsa Öberg"))
	// The recipient is printed from an admin's unlocked session (checked
	// against the directory anchor), then carried to the front desk.
	rcpt := strings.TrimSpace(cv.ok(t, cv.admin, "recipient", a))

	desk := t.TempDir()
	inbox := filepath.Join(desk, "inbox")
	os.Mkdir(inbox, 0o700)
	data := make([]byte, 1<<20+5)
	rand.Read(data)
	contract := filepath.Join(desk, "Avtal Kanarieström.pdf")
	os.WriteFile(contract, append([]byte("%PDF-1.7\n"), data...), 0o600)
	note := filepath.Join(desk, "lapp.txt")
	os.WriteFile(note, []byte("ring tillbaka\n"), 0o600)

	// Sealing: no --vault, no --identity.
	rc, out, errOut := runCLI(t, "", "intake", "seal", "--to", rcpt, "--out", inbox, contract, note)
	if rc != 0 {
		t.Fatalf("intake seal: %d %q", rc, errOut)
	}
	sealed := strings.Fields(out)
	if len(sealed) != 2 {
		t.Fatalf("intake seal printed %q", out)
	}
	for _, p := range sealed {
		if !strings.HasSuffix(p, ".valvin") || strings.Contains(p, "Avtal") || strings.Contains(p, "lapp") {
			t.Errorf("sealed file name %q", p)
		}
	}
	for _, bad := range []string{"age1yubikey1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq", "age1nope", "hello"} {
		rc, _, errOut := runCLI(t, "", "intake", "seal", "--to", bad, "--out", inbox, note)
		if rc != 1 || !strings.Contains(errOut, "valv recipient COMPARTMENT") {
			t.Errorf("seal --to %s: %d %q", bad, rc, errOut)
		}
	}
	// A file for someone else, and one that is cut short.
	stranger, _ := age.GenerateX25519Identity()
	rc, out, _ = runCLI(t, "", "intake", "seal", "--to", stranger.Recipient().String(), "--out", inbox, note)
	if rc != 0 {
		t.Fatal("sealing to a stranger")
	}
	foreign := filepath.Base(strings.TrimSpace(out))
	cut, _ := os.ReadFile(sealed[1])
	os.WriteFile(filepath.Join(inbox, "ffffffffffffffffffffffffffffffff.valvin"), cut[:len(cut)-3], 0o600)

	rc, out, errOut = runCLI(t, "", "intake", "import", "--vault", cv.dir, inbox)
	if rc != 1 || strings.Count(out, "\titem ") != 2 || !strings.Contains(errOut, foreign+": store: the intake file is not sealed to any compartment") ||
		!strings.Contains(errOut, "ffffffffffffffffffffffffffffffff.valvin: store: the intake file is damaged: it is truncated") ||
		!strings.Contains(errOut, "2 imported, 0 imported before, 2 failed") {
		t.Fatalf("intake import: %d\n%s\n%s", rc, out, errOut)
	}
	// Again: everything is skipped; with --remove, the imported files go.
	rc, out, errOut = runCLI(t, "", "intake", "import", "--vault", cv.dir, "--remove", inbox)
	if rc != 1 || strings.Count(out, "already imported as item") != 2 {
		t.Fatalf("second import: %d\n%s\n%s", rc, out, errOut)
	}
	if left, _ := os.ReadDir(inbox); len(left) != 2 {
		t.Errorf("%d files left in the inbox; want the 2 that failed", len(left))
	}

	out = cv.ok(t, cv.admin, "intake", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(out, `"Avtal Kanarieström.pdf"`) || !strings.Contains(out, "\tapplication/pdf\t") || !strings.Contains(out, `"lapp.txt"`) {
		t.Fatalf("intake list:\n%s", out)
	}
	var pdfItem, noteItem string
	for _, l := range lines {
		if strings.Contains(l, "Avtal") {
			pdfItem = strings.Fields(l)[0]
		} else {
			noteItem = strings.Fields(l)[0]
		}
	}
	doc := strings.TrimSpace(cv.ok(t, cv.admin, "intake", "file", pdfItem, code))
	cv.ok(t, cv.admin, "intake", "discard", noteItem)
	if out := cv.ok(t, cv.admin, "intake", "list"); out != "" {
		t.Errorf("queue after filing and discarding: %q", out)
	}
	exp := filepath.Join(desk, "ut.pdf")
	cv.ok(t, cv.admin, "doc", "export", doc, exp)
	if got, _ := os.ReadFile(exp); !bytes.Equal(got, append([]byte("%PDF-1.7\n"), data...)) {
		t.Error("the filed document differs from the sealed file")
	}
	audit := cv.ok(t, cv.admin, "audit", "export")
	for _, a := range []string{"intake-import", "intake-list", "intake-file", "intake-discard", "doc-add"} {
		if !strings.Contains(audit, a) {
			t.Errorf("audit export lacks %s", a)
		}
	}
	if strings.Contains(audit, "Avtal") || strings.Contains(audit, "lapp") {
		t.Error("the audit log names a file")
	}
	if rc, _, errOut := cv.valv(t, cv.admin, "intake", "file", "nope", code); rc != 1 || !strings.Contains(errOut, "intake item") {
		t.Errorf("bad item id: %d %q", rc, errOut)
	}
	if rc, _, _ := runCLI(t, "", "intake", "seal", note); rc != 2 {
		t.Errorf("seal without --to: exit %d", rc)
	}
}
