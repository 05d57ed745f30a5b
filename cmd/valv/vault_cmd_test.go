package main

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/crypto/pivage"
	"github.com/valv-vault/valv/crypto/recovery"
	"github.com/valv-vault/valv/store"
)

// softwareHolder writes a software key holder's PEM file (decryption key,
// signing key) and returns its enrolment data.
func softwareHolder(t *testing.T, dir, name string, serial uint32, role store.Role) (store.HolderInfo, string) {
	t.Helper()
	dk, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var file []byte
	for _, k := range []any{dk, sk} {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		file = append(file, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})...)
	}
	path := filepath.Join(dir, fmt.Sprintf("holder-%d.pem", serial))
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
	id, err := pivage.NewIdentity(dk)
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	staff := &store.StaffInfo{Name: name, Screening: store.Screening{Status: store.ScreeningPassed, Date: day, By: "Säkerhetschefen"},
		NDASigned: day, NDADocument: []byte("signed NDA")}
	return store.HolderInfo{Name: name, Serial: serial, Slot: 0x82, Recipient: id.Recipient(), SigningKey: &sk.PublicKey, Role: role, Staff: staff, Signer: sk}, path
}

type cliVault struct {
	dir, admin, holder, recovery string
	holderSerial                 string
}

// newCLIVault creates a vault with a software admin and enrols a second,
// software key holder (card enrolment is not part of these commands).
func newCLIVault(t *testing.T) *cliVault {
	tmp := t.TempDir()
	rk, err := recovery.Generate()
	if err != nil {
		t.Fatal(err)
	}
	cv := &cliVault{dir: filepath.Join(tmp, "vault"), recovery: filepath.Join(tmp, "recovery.txt"), holderSerial: "5002"}
	if err := rk.WriteFile(cv.recovery); err != nil {
		t.Fatal(err)
	}
	adminInfo, adminPath := softwareHolder(t, tmp, "Alva Admin", 5001, store.RoleAdmin)
	holderInfo, holderPath := softwareHolder(t, tmp, "Hugo Handläggare", 5002, store.RoleHolder)
	cv.admin, cv.holder = adminPath, holderPath
	v, err := store.Create(cv.dir, rk.Identity(), adminInfo)
	if err != nil {
		t.Fatal(err)
	}
	s, err := v.Unlock(rk.Identity(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Enrol(holderInfo); err != nil {
		t.Fatal(err)
	}
	s.Lock()
	v.Close()
	return cv
}

// valv runs a vault command with --vault and --identity.
func (cv *cliVault) valv(t *testing.T, identity string, args ...string) (int, string, string) {
	t.Helper()
	args = append(args, "--vault", cv.dir, "--identity", identity)
	return runCLI(t, "", args...)
}

// ok runs a vault command that must succeed and returns its output.
func (cv *cliVault) ok(t *testing.T, identity string, args ...string) string {
	t.Helper()
	code, out, errOut := cv.valv(t, identity, args...)
	if code != 0 {
		t.Fatalf("valv %v: exit %d\nstdout: %s\nstderr: %s", args, code, out, errOut)
	}
	return out
}

var codeRE = regexp.MustCompile(`^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]$`)

func TestVaultCLI(t *testing.T) {
	cv := newCLIVault(t)
	a := strings.TrimSpace(cv.ok(t, cv.admin, "compartment", "create", "Privatkunder"))
	b := strings.TrimSpace(cv.ok(t, cv.admin, "compartment", "create", "Företag"))
	out := cv.ok(t, cv.admin, "compartment", "list")
	if !strings.Contains(out, a) || !strings.Contains(out, b) || strings.Contains(out, "Privatkunder") {
		t.Fatalf("compartment list: %q", out)
	}
	out = cv.ok(t, cv.admin, "compartment", "list", "--names")
	if !strings.Contains(out, "Privatkunder") || !strings.Contains(out, "Företag") {
		t.Fatalf("compartment list --names: %q", out)
	}

	// Customers: add, with clear per-field errors.
	code := strings.TrimSpace(cv.ok(t, cv.admin, "customer", "add", "--compartment", a[:8],
		"--name", "Åsa Öberg", "--personnummer", "811228-9874", "--card-number", "4111 1111 1111 1111",
		"--address", `Storgatan 1\n111 22 Stockholm`, "--tag", "vip", "--email", "asa@example.se"))
	if !codeRE.MatchString(code) {
		t.Fatalf("customer add printed %q", code)
	}
	rc, _, errOut := cv.valv(t, cv.admin, "customer", "add", "--compartment", a, "--name", "X", "--personnummer", "121212-1213", "--email", "nope")
	if rc != 1 || !strings.Contains(errOut, "personnummer: the check digit") || !strings.Contains(errOut, "email:") || strings.Contains(errOut, "121212-1213") {
		t.Fatalf("invalid add: %d %q", rc, errOut)
	}
	if rc, _, errOut := cv.valv(t, cv.admin, "customer", "add", "--name", "X"); rc != 1 || !strings.Contains(errOut, "several compartments") {
		t.Fatalf("add without --compartment: %d %q", rc, errOut)
	}

	out = cv.ok(t, cv.admin, "customer", "list")
	if out != code+"\t"+a+"\n" {
		t.Fatalf("customer list: %q", out)
	}
	out = cv.ok(t, cv.admin, "customer", "search", strings.ToLower(strings.ReplaceAll(code, "-", "")))
	if out != code+"\t"+a+"\tcode\n" {
		t.Fatalf("customer search: %q", out)
	}
	typo := code[:10] + map[bool]string{true: "1", false: "0"}[code[10] == '0']
	if rc, _, errOut := cv.valv(t, cv.admin, "customer", "search", typo); rc != 1 || !strings.Contains(errOut, "mistyped") {
		t.Fatalf("search with a typo: %d %q", rc, errOut)
	}

	out = cv.ok(t, cv.admin, "customer", "show", code)
	if !strings.Contains(out, "Åsa Öberg") || !strings.Contains(out, "19811228-****") || !strings.Contains(out, "411111******1111") ||
		strings.Contains(out, "4111111111111111") || !strings.Contains(out, "masked") {
		t.Fatalf("customer show: %s", out)
	}
	out = cv.ok(t, cv.admin, "customer", "show", code, "--reveal")
	if !strings.Contains(out, "19811228-9874") || !strings.Contains(out, "4111111111111111") {
		t.Fatalf("customer show --reveal: %s", out)
	}
	out = cv.ok(t, cv.admin, "customer", "edit", code, "--phone", "08-123 456 78", "--tag", "vip", "--tag", "kredit")
	if out != code+"\tversion 2\n" {
		t.Fatalf("customer edit: %q", out)
	}
	out = cv.ok(t, cv.admin, "customer", "show", "--history", code)
	if strings.Count(out, "Code:") != 2 || !strings.Contains(out, "Tags:          vip, kredit") {
		t.Fatalf("customer show --history: %s", out)
	}

	// Grant A to the holder: they see A only, and nothing of B.
	out = cv.ok(t, cv.admin, "holder", "list")
	if strings.Count(out, "\n") != 2 || strings.Contains(out, "Hugo") {
		t.Fatalf("holder list: %q", out)
	}
	cv.ok(t, cv.admin, "grant", "--compartment", a, "--holder", cv.holderSerial)
	out = cv.ok(t, cv.holder, "compartment", "list", "--names")
	if !strings.Contains(out, a) || strings.Contains(out, b) || strings.Contains(out, "Företag") {
		t.Fatalf("holder's compartment list: %q", out)
	}
	if rc, _, errOut := cv.valv(t, cv.holder, "customer", "add", "--compartment", b, "--name", "X"); rc != 1 || !strings.Contains(errOut, "no compartment") {
		t.Fatalf("holder adds to B: %d %q", rc, errOut)
	}
	if rc, _, errOut := cv.valv(t, cv.holder, "compartment", "create", "C"); rc != 1 || !strings.Contains(errOut, "admin") {
		t.Fatalf("holder creates a compartment: %d %q", rc, errOut)
	}
	cv.ok(t, cv.holder, "customer", "show", code)

	// Revoke: progress on stderr, and the holder opens nothing.
	rc, out, errOut = cv.valv(t, cv.admin, "revoke", "--compartment", a, "--holder", cv.holderSerial)
	if rc != 0 || !strings.Contains(out, "revoked") || !strings.Contains(errOut, "re-encrypting") {
		t.Fatalf("revoke: %d %q %q", rc, out, errOut)
	}
	if rc, _, errOut := cv.valv(t, cv.holder, "customer", "show", code); rc != 1 || !strings.Contains(errOut, "no customer") {
		t.Fatalf("revoked holder shows: %d %q", rc, errOut)
	}

	// The recovery key opens everything.
	out = cv.ok(t, cv.recovery, "customer", "list", "--compartment", a)
	if !strings.Contains(out, code) {
		t.Fatalf("recovery customer list: %q", out)
	}

	// The audit log verifies and exports codes only.
	out = cv.ok(t, cv.admin, "audit", "verify")
	if strings.Count(out, "ok\t") != 3 || !strings.Contains(out, "last signed by") {
		t.Fatalf("audit verify: %s", out)
	}
	for _, format := range []string{"csv", "jsonl"} {
		out = cv.ok(t, cv.admin, "audit", "export", "--format", format)
		for _, want := range []string{"reveal", "edit", "grant", "revoke", code} {
			if !strings.Contains(out, want) {
				t.Errorf("audit export %s lacks %q", format, want)
			}
		}
		// Whole numbers only: four digits turn up by chance in random ids and times.
		for _, secret := range []string{"Åsa", "Öberg", "811228-9874", "8112289874", "Privatkunder", "Hugo"} {
			if strings.Contains(out, secret) {
				t.Errorf("audit export %s contains %q", format, secret)
			}
		}
	}
	outFile := filepath.Join(t.TempDir(), "audit.csv")
	cv.ok(t, cv.admin, "audit", "export", "--out", outFile)
	if data, err := os.ReadFile(outFile); err != nil || !strings.HasPrefix(string(data), "log,seq,time,holder,action,object,count\n") {
		t.Fatalf("audit export --out: %v %q", err, data)
	}
	if rc, _, _ := cv.valv(t, cv.admin, "audit", "export", "--out", outFile); rc != 1 {
		t.Fatal("audit export overwrote a file")
	}

	// Delete an entry of A's log: verify fails and names it.
	db, err := bolt.Open(filepath.Join(cv.dir, a+store.FileExt), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("audit")).Delete([]byte{0, 0, 0, 0, 0, 0, 0, 3})
	})
	db.Close()
	rc, out, errOut = cv.valv(t, cv.admin, "audit", "verify")
	if rc != 1 || !strings.Contains(out, "FAIL\t"+a+"\tentry 3: missing") || !strings.Contains(errOut, "entry 3") {
		t.Fatalf("audit verify after tampering: %d %q %q", rc, out, errOut)
	}
}

func TestVaultCLIErrors(t *testing.T) {
	cv := newCLIVault(t)
	if rc, _, errOut := runCLI(t, "", "customer", "list", "--vault", cv.dir); rc != 1 || !strings.Contains(errOut, "--identity") {
		t.Fatalf("no identity: %d %q", rc, errOut)
	}
	if rc, _, errOut := cv.valv(t, filepath.Join(t.TempDir(), "missing"), "customer", "list"); rc != 1 || !strings.Contains(errOut, "no such file") {
		t.Fatalf("missing identity file: %d %q", rc, errOut)
	}
	junk := filepath.Join(t.TempDir(), "junk")
	os.WriteFile(junk, []byte("AGE-SECRET-KEY-1NOTAKEY\n"), 0o600)
	if rc, _, errOut := cv.valv(t, junk, "customer", "list"); rc != 1 || strings.Contains(errOut, "NOTAKEY") {
		t.Fatalf("junk identity: %d %q", rc, errOut)
	}
	stranger, path := softwareHolder(t, t.TempDir(), "S", 9, store.RoleHolder)
	_ = stranger
	if rc, _, errOut := cv.valv(t, path, "customer", "list"); rc != 1 || !strings.Contains(errOut, "not enrolled") {
		t.Fatalf("stranger: %d %q", rc, errOut)
	}
	if rc, _, errOut := runCLI(t, "", "customer", "list", "--vault", t.TempDir(), "--identity", cv.admin); rc != 1 || !strings.Contains(errOut, "no vault") {
		t.Fatalf("no vault: %d %q", rc, errOut)
	}
	for _, args := range [][]string{{"customer"}, {"customer", "frob"}, {"audit"}, {"compartment", "create"}, {"grant"}} {
		if rc, _, _ := runCLI(t, "", args...); rc != 2 {
			t.Errorf("%v: exit %d; want 2", args, rc)
		}
	}
}
