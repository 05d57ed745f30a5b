package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDocCLI(t *testing.T) {
	cv := newCLIVault(t)
	a := strings.TrimSpace(cv.ok(t, cv.admin, "compartment", "create", "Privatkunder"))
	code := strings.TrimSpace(cv.ok(t, cv.admin, "customer", "add", "--compartment", a, "--name", "Åsa Öberg"))
	dir := t.TempDir()
	data := make([]byte, 3<<20+17)
	rand.Read(data)
	in := filepath.Join(dir, "Avtal 2026.pdf")
	if err := os.WriteFile(in, data, 0o600); err != nil {
		t.Fatal(err)
	}

	id := strings.TrimSpace(cv.ok(t, cv.admin, "doc", "add", code, in))
	if len(id) != 32 {
		t.Fatalf("doc add printed %q", id)
	}
	// Protected: the passphrase is a line of standard input. (Scrypt
	// takes seconds per passphrase under the race detector; store's tests
	// cover protection there with a low work factor.)
	protected := !docRace && !testing.Short()
	rc, out, errOut := 0, "", ""
	pid := ""
	if protected {
		rc, out, errOut = runCLI(t, "hemlig fras 42\n", "doc", "add", "--protect", "--pin-stdin", "--type", "text/plain", code, in, "--vault", cv.dir, "--identity", cv.admin)
		if rc != 0 {
			t.Fatalf("doc add --protect: %d %q", rc, errOut)
		}
		pid = strings.TrimSpace(out)
	}

	out = cv.ok(t, cv.admin, "doc", "list", code)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.HasPrefix(lines[0], id+"\t3145745\tapplication/pdf\t") || !strings.Contains(lines[0], `"Avtal 2026.pdf"`) ||
		protected && (len(lines) != 2 || !strings.HasPrefix(lines[1], pid+"\t3145745\ttext/plain\t") || !strings.Contains(lines[1], "\tprotected\t")) {
		t.Fatalf("doc list: %q", out)
	}

	exp := filepath.Join(dir, "ut.pdf")
	out = cv.ok(t, cv.admin, "doc", "export", id, exp)
	got, err := os.ReadFile(exp)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("exported content differs: %v", err)
	}
	if !strings.Contains(out, fmt.Sprintf("%x", sha256.Sum256(data))) {
		t.Errorf("doc export: %q", out)
	}
	// OUT must not exist.
	if rc, _, errOut := cv.valv(t, cv.admin, "doc", "export", id, exp); rc != 1 || !strings.Contains(errOut, "exists") {
		t.Fatalf("export over a file: %d %q", rc, errOut)
	}
	if protected {
		// A protected document: wrong passphrase, nothing written; then the
		// right one.
		pexp := filepath.Join(dir, "skyddad.txt")
		rc, _, errOut = runCLI(t, "fel fras 1234\n", "doc", "export", "--pin-stdin", pid, pexp, "--vault", cv.dir, "--identity", cv.admin)
		if rc != 1 || !strings.Contains(errOut, "wrong passphrase") {
			t.Fatalf("wrong passphrase: %d %q", rc, errOut)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 2 {
			t.Fatalf("the folder holds %d files after a refused export", len(entries))
		}
		rc, _, errOut = runCLI(t, "hemlig fras 42\n", "doc", "export", "--pin-stdin", pid, pexp, "--vault", cv.dir, "--identity", cv.admin)
		if got, _ := os.ReadFile(pexp); rc != 0 || !bytes.Equal(got, data) {
			t.Fatalf("protected export: %d %q", rc, errOut)
		}
	}

	// The audit log has the code, never the file name.
	out = cv.ok(t, cv.admin, "audit", "export")
	if !strings.Contains(out, "doc-add") || !strings.Contains(out, "doc-export") || strings.Contains(out, "Avtal") {
		t.Fatalf("audit export: %s", out)
	}
	// Usage errors.
	if rc, _, _ := cv.valv(t, cv.admin, "doc", "add", code); rc != 2 {
		t.Errorf("doc add without FILE: exit %d", rc)
	}
	if rc, _, errOut := cv.valv(t, cv.admin, "doc", "export", "nope", filepath.Join(dir, "x")); rc != 1 || !strings.Contains(errOut, "document id") {
		t.Errorf("bad id: %d %q", rc, errOut)
	}
}

// TestDocRedactCLI: the pre-archive check names what a file holds on add
// and export, and doc redact files a code-named archive copy without the
// numbers beside the original.
func TestDocRedactCLI(t *testing.T) {
	cv := newCLIVault(t)
	a := strings.TrimSpace(cv.ok(t, cv.admin, "compartment", "create", "Privatkunder"))
	code := strings.TrimSpace(cv.ok(t, cv.admin, "customer", "add", "--compartment", a, "--name", "Åsa Öberg"))
	dir := t.TempDir()
	in := filepath.Join(dir, "brev.txt")
	if err := os.WriteFile(in, []byte("Åsa Öberg, personnummer 811228-9874.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rc, out, errOut := cv.valv(t, cv.admin, "doc", "add", code, in)
	if rc != 0 || !strings.Contains(errOut, "pre-archive check of brev.txt: 1 personnummer") {
		t.Fatalf("doc add: %d %q %q", rc, out, errOut)
	}
	id := strings.TrimSpace(out)

	out = cv.ok(t, cv.admin, "doc", "redact", id)
	copyID := strings.Fields(out)[0]
	if !strings.Contains(out, "removed 1 personnummer") {
		t.Fatalf("doc redact: %q", out)
	}
	list := cv.ok(t, cv.admin, "doc", "list", code)
	if !strings.Contains(list, code+"-") || !strings.Contains(list, "-redacted.txt") {
		t.Fatalf("no code-named copy in the list:\n%s", list)
	}
	outFile := filepath.Join(dir, "kopia.txt")
	rc, _, errOut = cv.valv(t, cv.admin, "doc", "export", copyID, outFile)
	if rc != 0 || !strings.Contains(errOut, "pre-archive check of kopia.txt: nothing found") {
		t.Fatalf("export of the copy: %d %q", rc, errOut)
	}
	got, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(got), "811228-9874") || !strings.Contains(string(got), code) {
		t.Fatalf("archive copy:\n%s", got)
	}
}
