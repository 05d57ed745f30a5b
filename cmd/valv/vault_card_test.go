package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/crypto/card"
	"github.com/valv-vault/valv/crypto/compartmentkey"
	"github.com/valv-vault/valv/crypto/yubisim"
	"github.com/valv-vault/valv/crypto/yubisim/pcsctest"
	"github.com/valv-vault/valv/store"
)

// TestTwoKeyHolders drives the vault commands with two simulated YubiKeys
// through the real pcscd: init enrols the admin's card, enrol a second
// holder's, and the second card opens only the compartment granted to it.
func TestTwoKeyHolders(t *testing.T) {
	e := pcsctest.Require(t, yubisim.Config{Serial: 41000001}, yubisim.Config{Serial: 41000002, Version: "5.4.3"})
	admin, clerk := fmt.Sprint(e.Card(0).Serial()), fmt.Sprint(e.Card(1).Serial())
	dir := t.TempDir()
	vault := filepath.Join(dir, "vault")
	recoveryFile := filepath.Join(dir, "recovery.txt")
	must := func(stdin string, args ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, stdin, args...)
		if code != 0 {
			t.Fatalf("valv %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
		return out
	}
	const adminPIN, clerkPIN = "11223344", "55667788"

	// A simulated card is refused without --allow-simulated.
	if c, _, errOut := runCLI(t, "", withScreening(t, dir, "init", "--vault", vault, "--holder", "Astrid Admin",
		"--recovery-out", recoveryFile, "--card", admin, "--pin-stdin")...); c == 0 || !strings.Contains(errOut, "SIMULATED") {
		t.Fatalf("init on a simulated card without --allow-simulated: %d %q", c, errOut)
	}

	// The default PIN is refused as the new one, and nothing is created.
	code, _, errOut := runCLI(t, "123456\n123456\n12345678\n87654321\n", withScreening(t, dir, "init", "--allow-simulated", "--vault", vault, "--holder", "Astrid Admin",
		"--recovery-out", recoveryFile, "--card", admin, "--pin-stdin", "--touch", "never")...)
	if code == 0 || !strings.Contains(errOut, "default") {
		t.Fatalf("init with the default PIN as new PIN: %d %q", code, errOut)
	}
	if _, err := os.Stat(recoveryFile); err == nil {
		t.Fatal("a failed init left its recovery key behind")
	}

	out := must("123456\n"+adminPIN+"\n12345678\n87654321\n", withScreening(t, dir, "init", "--allow-simulated", "--vault", vault, "--holder", "Astrid Admin",
		"--recovery-out", recoveryFile, "--card", admin, "--pin-stdin", "--touch", "never")...)
	if !strings.Contains(out, "YubiKey "+admin+" enrolled as admin") {
		t.Fatalf("init: %s", out)
	}
	north := strings.TrimSpace(must(adminPIN+"\n", "compartment", "create", "--vault", vault, "--card", admin, "--pin-stdin", "Kunder Norr"))
	south := strings.TrimSpace(must(adminPIN+"\n", "compartment", "create", "--vault", vault, "--card", admin, "--pin-stdin", "Kunder Syd"))

	// Bertil is in the staff register, screened and with his NDA, before
	// his card is enrolled.
	nda := filepath.Join(dir, "nda-bertil.pdf")
	if err := os.WriteFile(nda, []byte("%PDF-1.4 Bertils sekretessavtal"), 0o600); err != nil {
		t.Fatal(err)
	}
	bertil := strings.TrimSpace(must(adminPIN+"\n", "staff", "add", "--vault", vault, "--card", admin, "--pin-stdin", "--name", "Bertil Bokförare",
		"--screened-by", "Säkerhetschefen", "--screened-on", "2026-01-10", "--nda", nda, "--nda-signed", "2026-01-12"))
	out = must(adminPIN+"\n123456\n"+clerkPIN+"\n12345678\n13572468\n", "enrol", "--allow-simulated", "--vault", vault, "--card", admin,
		"--new-card", clerk, "--staff", bertil, "--pin-stdin", "--touch", "never")
	if !strings.Contains(out, "YubiKey "+clerk+" enrolled as holder") {
		t.Fatalf("enrol: %s", out)
	}
	must(adminPIN+"\n", "grant", "--vault", vault, "--card", admin, "--pin-stdin", "--compartment", north, "--holder", clerk)

	// The clerk's card opens North and only North.
	out = must(clerkPIN+"\n", "compartment", "list", "--vault", vault, "--card", clerk, "--pin-stdin")
	if !strings.Contains(out, north) || strings.Contains(out, south) {
		t.Fatalf("the clerk sees:\n%s\nwant %s and not %s", out, north, south)
	}
	custCode := must(clerkPIN+"\n", "customer", "add", "--vault", vault, "--card", clerk, "--pin-stdin", "--compartment", north, "--name", "Cecilia Kund")
	if strings.TrimSpace(custCode) == "" {
		t.Fatal("customer add printed no code")
	}
	if c, _, errOut := runCLI(t, clerkPIN+"\n", "customer", "add", "--vault", vault, "--card", clerk, "--pin-stdin",
		"--compartment", south, "--name", "Dag Kund"); c == 0 {
		t.Fatal("the clerk added a customer to a compartment not granted to them")
	} else if strings.Contains(errOut, "Dag Kund") {
		t.Fatalf("an error quotes the name: %q", errOut)
	}

	// A wrong PIN says how many tries are left and never echoes the PIN.
	c, _, errOut := runCLI(t, "99999999\n", "compartment", "list", "--vault", vault, "--card", clerk, "--pin-stdin")
	if c != 1 || !strings.Contains(errOut, "2 tries left") || strings.Contains(errOut, "99999999") {
		t.Fatalf("wrong PIN: %d %q", c, errOut)
	}

	// The recovery key opens both, and gives the anchored recipient.
	out = must("", "compartment", "list", "--vault", vault, "--identity", recoveryFile)
	if !strings.Contains(out, north) || !strings.Contains(out, south) {
		t.Fatalf("recovery key sees:\n%s", out)
	}
	recipient := strings.TrimSpace(must("", "recipient", "--vault", vault, "--identity", recoveryFile, north))
	if !strings.HasPrefix(recipient, "age1") {
		t.Fatalf("recipient = %q", recipient)
	}

	// The audit log verifies.
	out = must(adminPIN+"\n", "audit", "verify", "--vault", vault, "--card", admin, "--pin-stdin")
	if !strings.Contains(strings.ToLower(out), "ok") {
		t.Fatalf("audit verify: %s", out)
	}

	// Backups with the admin's card, through pcscd: the backup, its
	// verification, a restore and a drill open it with the card (the
	// PIN from --pin-stdin), and the clerk's card, no admin's, cannot.
	backupCard(t, vault, admin, adminPIN, clerk, clerkPIN, north, strings.TrimSpace(custCode))

	// Bertil leaves: deactivating him revokes North from his card (a new
	// key) and his card opens nothing after, not even the key wrapped in
	// the file when tried directly.
	must(adminPIN+"\n", "staff", "deactivate", "--vault", vault, "--card", admin, "--pin-stdin", bertil)
	c, _, errOut = runCLI(t, clerkPIN+"\n", "customer", "list", "--vault", vault, "--card", clerk, "--pin-stdin", "--compartment", north)
	if c == 0 || !strings.Contains(errOut, "deactivated") {
		t.Fatalf("a deactivated card lists customers: %d %q", c, errOut)
	}
	if err := cardOpensCompartment(t, vault, north, clerk, clerkPIN); !errors.Is(err, compartmentkey.ErrNotGranted) {
		t.Fatalf("the deactivated card unwraps the compartment key: %v", err)
	}
	if err := cardOpensCompartment(t, vault, north, admin, adminPIN); err != nil {
		t.Fatalf("the admin's card no longer opens North: %v", err)
	}
	out = must(adminPIN+"\n", "staff", "list", "--vault", vault, "--card", admin, "--pin-stdin")
	if !strings.Contains(out, bertil+"\tinactive") || strings.Contains(out, "Bertil") {
		t.Fatalf("staff list after the deactivation:\n%s", out)
	}

	// Coexistence: ykman sees the admin card's slot with its certificate.
	if _, err := exec.LookPath("ykman"); err == nil {
		cmd := exec.Command("ykman", "--reader", e.Reader(0), "piv", "info")
		cmd.Env = e.Environ()
		info, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(info), "age-plugin-yubikey") {
			t.Errorf("ykman piv info: %v\n%s", err, info)
		}
	}
}

// TestRecoveryKeyEnrolsReplacementCard: every card is lost; the recovery
// key from the safe opens the vault, enrols a new card as admin and grants
// it the compartments, and the new card then opens them.
func TestRecoveryKeyEnrolsReplacementCard(t *testing.T) {
	e := pcsctest.Require(t, yubisim.Config{Serial: 42000001}, yubisim.Config{Serial: 42000002})
	lost, replacement := fmt.Sprint(e.Card(0).Serial()), fmt.Sprint(e.Card(1).Serial())
	dir := t.TempDir()
	vault := filepath.Join(dir, "vault")
	recoveryFile := filepath.Join(dir, "recovery.txt")
	must := func(stdin string, args ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, stdin, args...)
		if code != 0 {
			t.Fatalf("valv %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
		return out
	}
	must("123456\n11223344\n12345678\n87654321\n", withScreening(t, dir, "init", "--allow-simulated", "--vault", vault, "--holder", "Astrid Admin",
		"--recovery-out", recoveryFile, "--card", lost, "--pin-stdin", "--touch", "never")...)
	comp := strings.TrimSpace(must("11223344\n", "compartment", "create", "--vault", vault, "--card", lost, "--pin-stdin", "Arkiv"))
	must("11223344\n", "customer", "add", "--vault", vault, "--card", lost, "--pin-stdin", "--compartment", comp, "--name", "Erik Kund")

	e.RemoveCard(0) // the admin's card is gone for good

	// Astrid's staff record, made by init, takes her new card.
	staffList := strings.Fields(must("", "staff", "list", "--vault", vault, "--identity", recoveryFile))
	if len(staffList) == 0 {
		t.Fatal("staff list is empty after init")
	}
	out := must("123456\n24681357\n12345678\n97531864\n", "enrol", "--allow-simulated", "--vault", vault, "--identity", recoveryFile,
		"--new-card", replacement, "--staff", staffList[0], "--role", "admin", "--pin-stdin", "--touch", "never")
	if !strings.Contains(out, "enrolled as admin") {
		t.Fatalf("enrol with the recovery key: %s", out)
	}
	must("", "grant", "--vault", vault, "--identity", recoveryFile, "--compartment", comp, "--holder", replacement)
	out = must("24681357\n", "customer", "list", "--vault", vault, "--card", replacement, "--pin-stdin", "--compartment", comp)
	if len(strings.Fields(out)) == 0 {
		t.Fatal("the replacement card lists no customers")
	}
}

// withScreening appends to args the flags of valv init that record the
// first admin's screening and NDA (a file written in dir).
func withScreening(t *testing.T, dir string, args ...string) []string {
	t.Helper()
	nda := filepath.Join(dir, "nda-first-admin.pdf")
	if err := os.WriteFile(nda, []byte("%PDF-1.4 signed NDA of the first admin"), 0o600); err != nil {
		t.Fatal(err)
	}
	return append(args, "--screened-by", "Säkerhetschefen", "--screened-on", "2026-01-10", "--nda", nda, "--nda-signed", "2026-01-12")
}

// cardOpensCompartment tries to unwrap a compartment's key from its file
// with a card directly, bypassing the vault's checks.
func cardOpensCompartment(t *testing.T, vault, comp, serial, pin string) error {
	t.Helper()
	cid, err := store.ParseID(comp)
	if err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(filepath.Join(vault, comp+store.FileExt), 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var wrapped []byte
	db.View(func(tx *bolt.Tx) error {
		wrapped = bytes.Clone(tx.Bucket([]byte("meta")).Get([]byte("key")))
		return nil
	})
	db.Close()
	n, err := strconv.ParseUint(serial, 10, 32)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := card.Open(uint32(n))
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if err := cs.VerifyPIN(pin); err != nil {
		t.Fatal(err)
	}
	id, err := cs.Identity()
	if err != nil {
		t.Fatal(err)
	}
	k, err := compartmentkey.UnwrapFor(cid, wrapped, id)
	if err == nil {
		k.Destroy()
	}
	return err
}

// backupCard is TestTwoKeyHolders' backup step: valv backup, verify,
// restore and drill with an admin's card through the real PC/SC stack.
func backupCard(t *testing.T, vault, admin, adminPIN, clerk, clerkPIN, comp, code string) {
	t.Helper()
	run := func(stdin string, args ...string) string {
		t.Helper()
		c, out, errOut := runCLI(t, stdin, args...)
		if c != 0 {
			t.Fatalf("valv %s: exit %d\n%s%s", strings.Join(args, " "), c, out, errOut)
		}
		if strings.Contains(out+errOut, adminPIN) {
			t.Fatalf("valv %s printed the PIN", args[0])
		}
		return out
	}
	to := t.TempDir()
	out := run(adminPIN+"\n", "backup", "--to", to, "--vault", vault, "--card", admin, "--pin-stdin")
	m := regexp.MustCompile(`(?m)^backup\t(.+)$`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "verified\tread back whole") {
		t.Fatalf("valv backup with the card: %q", out)
	}
	file := m[1]
	id := regexp.MustCompile(`(?m)^id\t([0-9a-f]{32})$`).FindStringSubmatch(out)[1]

	out = run(adminPIN+"\n", "verify", file, "--vault", vault, "--card", admin, "--pin-stdin")
	if !strings.Contains(out, "ok\t"+file) || !strings.Contains(out, "an enrolled key holder of this vault") {
		t.Fatalf("valv verify --card: %q", out)
	}
	// The card alone, with no vault at hand, opens it too.
	out = run(adminPIN+"\n", "verify", file, "--vault", filepath.Join(t.TempDir(), "none"), "--card", admin, "--pin-stdin")
	if !strings.Contains(out, "ok\t"+file) || !strings.Contains(out, "logged\tno") {
		t.Fatalf("valv verify --card without the vault: %q", out)
	}
	if c, _, errOut := runCLI(t, clerkPIN+"\n", "verify", file, "--vault", vault, "--card", clerk, "--pin-stdin"); c == 0 || !strings.Contains(errOut, "does not open the backup") {
		t.Fatalf("the clerk's card opened a backup: %d %q", c, errOut)
	}

	into := filepath.Join(t.TempDir(), "restored")
	out = run(adminPIN+"\n", "restore", file, "--into", into, "--vault", vault, "--card", admin, "--pin-stdin")
	if !strings.Contains(out, "restored\t"+into) {
		t.Fatalf("valv restore --card: %q", out)
	}
	out = run(adminPIN+"\n", "customer", "list", "--vault", into, "--card", admin, "--pin-stdin", "--compartment", comp)
	if !strings.Contains(out, code) {
		t.Fatalf("the restored vault lists %q, want %s", out, code)
	}

	out = run(adminPIN+"\n", "drill", file, "--vault", vault, "--card", admin, "--pin-stdin")
	if !strings.Contains(out, "drill\tpassed") || !strings.Contains(out, "1 customers in the backup, 1 now") {
		t.Fatalf("valv drill --card: %q", out)
	}

	out = run(adminPIN+"\n", "audit", "export", "--vault", vault, "--card", admin, "--pin-stdin", "--format", "csv")
	for _, want := range []string{",backup," + id + ",", ",backup-verify," + id + ",0", ",restore," + id + ",3", ",drill," + id + ",0"} {
		if !strings.Contains(out, want) {
			t.Errorf("the audit log has no %q", want)
		}
	}
}
