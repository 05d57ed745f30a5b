package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/valv-vault/valv/store/customer"
)

// fakeTerminal is a terminal on which the user types the given lines.
type fakeTerminal struct {
	in  io.Reader
	out bytes.Buffer // what was written to it
}

func (f *fakeTerminal) Read(p []byte) (int, error)  { return f.in.Read(p) }
func (f *fakeTerminal) Write(p []byte) (int, error) { return f.out.Write(p) }
func (*fakeTerminal) Close() error                  { return nil }

// withTerminal makes erase confirm on a fake terminal (or on none, for
// typed == nil) and returns what was written to it.
func withTerminal(t *testing.T, typed *string) *fakeTerminal {
	t.Helper()
	old := confirmTerminal
	t.Cleanup(func() { confirmTerminal = old })
	ft := &fakeTerminal{}
	confirmTerminal = func() (io.ReadWriteCloser, error) {
		if typed == nil {
			return nil, errors.New("no terminal")
		}
		ft.in = strings.NewReader(*typed)
		return ft, nil
	}
	return ft
}

// TestCustomerEraseCLI: the retention listing names the customers past
// their date (codes, compartment, date); erase refuses without a terminal
// or a --yes, and when the code typed back is wrong; it erases with the
// right code or --yes, prints the codes erased and the compaction's
// progress, and the audit log has erase entries by code only.
func TestCustomerEraseCLI(t *testing.T) {
	cv := newCLIVault(t)
	a := strings.TrimSpace(cv.ok(t, cv.admin, "compartment", "create", "Privatkunder"))
	b := strings.TrimSpace(cv.ok(t, cv.admin, "compartment", "create", "Företag"))
	add := func(comp, name, retain string) string {
		return strings.TrimSpace(cv.ok(t, cv.admin, "customer", "add", "--compartment", comp, "--name", name,
			"--personnummer", "811228-9874", "--retain-until", retain))
	}
	old1 := add(a, "Åsa Öberg", "2020-01-31")
	old2 := add(b, "Bertil Berg", "2024-12-31")
	keep := add(a, "Cecilia Ek", "2099-01-01")
	cv.ok(t, cv.admin, "customer", "edit", old1, "--phone", "08-123 456 78")
	doc := filepath.Join(t.TempDir(), "avtal.txt")
	if err := os.WriteFile(doc, bytes.Repeat([]byte("avtal "), 5000), 0o600); err != nil {
		t.Fatal(err)
	}
	cv.ok(t, cv.admin, "doc", "add", old1, doc)

	rc, out, errOut := cv.valv(t, cv.admin, "customer", "retention", "--date", "2025-06-01")
	if rc != 0 || out != old1+"\t"+a+"\t2020-01-31\n"+old2+"\t"+b+"\t2024-12-31\n" || !strings.Contains(errOut, "2 customers past") {
		t.Fatalf("customer retention: %d %q %q", rc, out, errOut)
	}
	if out := cv.ok(t, cv.admin, "customer", "retention", "--date", "2024-06-01"); out != old1+"\t"+a+"\t2020-01-31\n" {
		t.Fatalf("retention on 2024-06-01: %q", out)
	}
	if rc, _, errOut := cv.valv(t, cv.admin, "customer", "retention", "--date", "2024-13-01"); rc != 1 || !strings.Contains(errOut, "--date") {
		t.Fatalf("bad --date: %d %q", rc, errOut)
	}

	// No terminal, no --yes: refused, nothing erased.
	withTerminal(t, nil)
	rc, out, errOut = cv.valv(t, cv.admin, "customer", "erase", old1)
	if rc != 1 || out != "" || !strings.Contains(errOut, "--yes") {
		t.Fatalf("erase without a terminal: %d %q %q", rc, out, errOut)
	}
	// The wrong code typed back: refused.
	typed := keep + "\n"
	ft := withTerminal(t, &typed)
	rc, _, errOut = cv.valv(t, cv.admin, "customer", "erase", old1)
	if rc != 1 || !strings.Contains(errOut, "nothing was erased") || !strings.Contains(ft.out.String(), "Type "+old1) {
		t.Fatalf("erase with the wrong code typed: %d %q %q", rc, errOut, ft.out.String())
	}
	cv.ok(t, cv.admin, "customer", "show", old1)
	// A malformed or unknown code among others: nothing is erased.
	for _, bad := range []string{"not-a-code", string(customer.NewCode())} {
		if rc, out, errOut := cv.valv(t, cv.admin, "customer", "erase", "--yes", old1, bad); rc != 1 || out != "" || !strings.Contains(errOut, "nothing was erased") {
			t.Fatalf("erase with %s: %d %q", bad, rc, errOut)
		}
	}
	cv.ok(t, cv.admin, "customer", "show", old1)

	// The right code typed back (in lower case, without dashes).
	typed = strings.ToLower(strings.ReplaceAll(old1, "-", "")) + "\n"
	withTerminal(t, &typed)
	rc, out, errOut = cv.valv(t, cv.admin, "customer", "erase", old1)
	if rc != 0 || out != "erased\t"+old1+"\n" || !strings.Contains(errOut, "compacting:") || !strings.Contains(errOut, "(100%)") {
		t.Fatalf("erase: %d %q %q", rc, out, errOut)
	}
	if rc, _, errOut := cv.valv(t, cv.admin, "customer", "show", old1); rc != 1 || !strings.Contains(errOut, "no customer") {
		t.Fatalf("show after erase: %d %q", rc, errOut)
	}
	// --yes: no terminal needed.
	withTerminal(t, nil)
	if out := cv.ok(t, cv.admin, "customer", "erase", "--yes", old2); out != "erased\t"+old2+"\n" {
		t.Fatalf("erase --yes: %q", out)
	}
	rc, out, errOut = cv.valv(t, cv.admin, "customer", "retention", "--date", "2025-06-01")
	if rc != 0 || out != "" || !strings.Contains(errOut, "0 customers past") {
		t.Fatalf("retention after erasing: %d %q %q", rc, out, errOut)
	}
	cv.ok(t, cv.admin, "customer", "show", keep)

	// Verified, and logged by code only.
	if out := cv.ok(t, cv.admin, "audit", "verify"); strings.Count(out, "ok\t") != 3 {
		t.Fatalf("audit verify: %s", out)
	}
	out = cv.ok(t, cv.admin, "audit", "export", "--format", "jsonl")
	for _, want := range []string{`"action":"erase","object":"` + old1 + `"`, `"action":"erase","object":"` + old2 + `"`, `"action":"retention-list"`} {
		if !strings.Contains(out, want) {
			t.Errorf("audit export lacks %s", want)
		}
	}
	for _, secret := range []string{"Åsa", "Bertil", "811228-9874", "2020-01-31", "avtal.txt"} {
		if strings.Contains(out, secret) {
			t.Errorf("audit export contains %q", secret)
		}
	}
	if rc, _, errOut := runCLI(t, "", "customer", "erase"); rc != 2 || !strings.Contains(errOut, "customer erase") {
		t.Fatalf("erase without codes: %d %q", rc, errOut)
	}
}
