package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStaffCLI: the staff register through the CLI. Enrolment of an
// unscreened person, or of one without an NDA, is refused with a message
// that says what to record, before any card is touched; deactivation
// shuts a key holder out; names and NDA contents never reach the disk in
// the clear.
func TestStaffCLI(t *testing.T) {
	cv := newCLIVault(t)
	tmp := t.TempDir()
	nda := filepath.Join(tmp, "nda.pdf")
	if err := os.WriteFile(nda, []byte("%PDF-1.4 KanarieAvtal sekretess för Nils"), 0o600); err != nil {
		t.Fatal(err)
	}

	nils := strings.TrimSpace(cv.ok(t, cv.recovery, "staff", "add", "--name", "Nils Kanarienyanställd", "--title", "Kanarieroll"))
	if len(nils) != 32 {
		t.Fatalf("staff add printed %q", nils)
	}
	enrol := func() (int, string) {
		code, _, errOut := cv.valv(t, cv.recovery, "enrol", "--staff", nils[:10], "--new-card", "987654")
		return code, errOut
	}
	code, errOut := enrol()
	if code != 1 || !strings.Contains(errOut, "is not screened: record a passed screening with `valv staff screen` first") {
		t.Fatalf("enrol unscreened: %d %q", code, errOut)
	}
	cv.ok(t, cv.recovery, "staff", "screen", nils[:8], "--status", "passed", "--by", "Kanariegranskaren", "--on", "2026-01-10")
	code, errOut = enrol()
	if code != 1 || !strings.Contains(errOut, "has no signed NDA on file: record it with `valv staff nda` first") {
		t.Fatalf("enrol without an NDA: %d %q", code, errOut)
	}
	if code, _, errOut := cv.valv(t, cv.recovery, "staff", "nda", nils, "--file", nda, "--signed", "12/01/2026"); code != 1 || !strings.Contains(errOut, "YYYY-MM-DD") {
		t.Fatalf("nda with a bad date: %d %q", code, errOut)
	}
	if code, _, _ := cv.valv(t, cv.recovery, "staff", "nda", nils); code != 2 {
		t.Fatalf("nda without --file: exit %d, want 2", code)
	}
	cv.ok(t, cv.recovery, "staff", "nda", nils, "--file", nda, "--signed", "2026-01-12")
	if code, _, errOut := cv.valv(t, cv.recovery, "staff", "screen", nils, "--status", "maybe", "--by", "X", "--on", "2026-01-10"); code != 1 || !strings.Contains(errOut, "pending, passed or failed") {
		t.Fatalf("screen with a bad status: %d %q", code, errOut)
	}

	out := cv.ok(t, cv.admin, "staff", "list")
	var line string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, nils) {
			line = l
		}
	}
	if !strings.Contains(line, "active\tscreening passed 2026-01-10\tNDA signed 2026-01-12\tno cards") || strings.Contains(out, "Kanarie") {
		t.Fatalf("staff list:\n%s", out)
	}
	if out := cv.ok(t, cv.admin, "staff", "list", "--names"); !strings.Contains(out, "Nils Kanarienyanställd\tKanarieroll\tscreened by Kanariegranskaren") {
		t.Fatalf("staff list --names:\n%s", out)
	}
	if code, _, errOut := cv.valv(t, cv.holder, "staff", "list"); code != 1 || !strings.Contains(errOut, "admin") {
		t.Fatalf("staff list by a key holder: %d %q", code, errOut)
	}

	// Deactivation: the software key holder loses its compartment.
	comp := strings.TrimSpace(cv.ok(t, cv.admin, "compartment", "create", "Kanariefack"))
	cv.ok(t, cv.admin, "grant", "--compartment", comp, "--holder", cv.holderSerial)
	cv.ok(t, cv.holder, "customer", "add", "--compartment", comp, "--name", "Kanariekund")
	var holderID string
	for _, l := range strings.Split(cv.ok(t, cv.admin, "holder", "list"), "\n") {
		if strings.Contains(l, "card "+cv.holderSerial+" ") {
			holderID = strings.Fields(l)[0]
		}
	}
	// The card was enrolled with a record of its own; it is Nils's.
	cv.ok(t, cv.admin, "staff", "link", nils, "--holder", cv.holderSerial)
	var staffID string
	for _, l := range strings.Split(cv.ok(t, cv.admin, "staff", "list"), "\n") {
		if holderID != "" && strings.Contains(l, holderID) {
			staffID = strings.Fields(l)[0]
		}
	}
	if staffID != nils {
		t.Fatalf("key holder %q is listed with %q, want %s", holderID, staffID, nils)
	}
	out = cv.ok(t, cv.admin, "staff", "deactivate", staffID)
	if !strings.Contains(out, "deactivated") {
		t.Fatalf("staff deactivate: %q", out)
	}
	if code, _, errOut := cv.valv(t, cv.holder, "customer", "list", "--compartment", comp); code != 1 || !strings.Contains(errOut, "deactivated") {
		t.Fatalf("a deactivated key holder lists customers: %d %q", code, errOut)
	}
	if out := cv.ok(t, cv.admin, "staff", "list"); !strings.Contains(out, staffID+"\tinactive") {
		t.Fatalf("staff list after deactivation:\n%s", out)
	}
	if code, _, errOut := cv.valv(t, cv.admin, "staff", "link", nils, "--holder", cv.holderSerial); code != 1 || !strings.Contains(errOut, "deactivated") {
		t.Fatalf("link a deactivated key holder: %d %q", code, errOut)
	}
	if code, _, errOut := cv.valv(t, cv.admin, "grant", "--compartment", comp, "--holder", cv.holderSerial); code != 1 || !strings.Contains(errOut, "deactivated") {
		t.Fatalf("grant to a deactivated key holder: %d %q", code, errOut)
	}
	if out := cv.ok(t, cv.admin, "audit", "verify"); !strings.Contains(strings.ToLower(out), "ok") {
		t.Fatalf("audit verify: %s", out)
	}

	// Canary: no name or NDA content in any byte of the vault folder.
	files, err := os.ReadDir(cv.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(cv.dir, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, word := range []string{"kanarie", "nils", "sekretess", "pdf-1.4", "alva admin", "hugo"} {
			if bytes.Contains(bytes.ToLower(data), []byte(word)) {
				t.Errorf("%s contains %q", f.Name(), word)
			}
		}
	}
}

// TestInitNeedsScreeningAndNDA: valv init refuses, before touching a
// card, without the first admin's screening and NDA.
func TestInitNeedsScreeningAndNDA(t *testing.T) {
	dir := t.TempDir()
	vault, rec := filepath.Join(dir, "vault"), filepath.Join(dir, "recovery.txt")
	code, _, errOut := runCLI(t, "", "init", "--vault", vault, "--holder", "A", "--recovery-out", rec, "--screened-by", "B")
	if code != 2 || !strings.Contains(errOut, "missing --screened-on, --nda, --nda-signed") || !strings.Contains(errOut, "signed NDA") {
		t.Fatalf("init without screening and NDA: %d %q", code, errOut)
	}
	nda := filepath.Join(dir, "nda.pdf")
	if err := os.WriteFile(nda, []byte("avtal"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"init", "--vault", vault, "--holder", "A", "--recovery-out", rec, "--screened-by", "B", "--nda", nda}
	code, _, errOut = runCLI(t, "", append(args, "--screened-on", "2026-13-01", "--nda-signed", "2026-01-01")...)
	if code != 1 || !strings.Contains(errOut, "--screened-on") {
		t.Fatalf("init with a bad date: %d %q", code, errOut)
	}
	code, _, errOut = runCLI(t, "", append(args, "--screened-on", "2099-01-01", "--nda-signed", "2026-01-01")...)
	if code != 1 || !strings.Contains(errOut, "future") {
		t.Fatalf("init with a screening in the future: %d %q", code, errOut)
	}
	if err := os.WriteFile(nda, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runCLI(t, "", append(args, "--screened-on", "2026-01-01", "--nda-signed", "2026-01-01")...)
	if code != 1 || !strings.Contains(errOut, "empty") {
		t.Fatalf("init with an empty NDA: %d %q", code, errOut)
	}
	if _, err := os.Stat(vault); err == nil {
		t.Error("a refused init made the vault folder")
	}
	if _, err := os.Stat(rec); err == nil {
		t.Error("a refused init wrote a recovery key")
	}
}
