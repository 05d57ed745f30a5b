package service

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/valv-vault/valv/crypto/card"
	"github.com/valv-vault/valv/crypto/recovery"
	"github.com/valv-vault/valv/store"
)

// testAdmin drives the admin calls on the demo vault (part of
// TestDemoService): the staff register's rules for enrolment, a second
// card enrolled, a compartment created, granted and revoked with
// progress, the audit log read, verified and written, and a deactivation.
func testAdmin(t *testing.T, s *Service, pin string) {
	if err := s.Unlock(card.DemoSerial, pin); err != nil {
		t.Fatal(err)
	}
	defer s.Lock()
	if !s.IsAdmin() {
		t.Fatal("the demo admin is no admin")
	}
	holders, err := s.KeyHolders()
	if err != nil || len(holders) != 1 || holders[0].Name != demoAdmin || !holders[0].Admin {
		t.Fatalf("key holders %+v, %v", holders, err)
	}

	// Enrolment is refused, with the reason, until the person is
	// screened and has an NDA; the card is not touched before.
	id, err := s.AddStaff("Test Person", "Clerk")
	if err != nil {
		t.Fatal(err)
	}
	enrol := CardEnrolment{Staff: id, Serial: DemoBlankSerial, PIN: factoryPIN, PUK: factoryPUK, NewPIN: "11112222", NewPUK: "22223333"}
	if _, err := s.EnrolCard(enrol); !errors.Is(err, ErrNotScreened) {
		t.Fatalf("enrolling an unscreened person: %v", err)
	}
	day := time.Now().UTC()
	if err := s.Screen(id, Screening{Status: ScreeningPassed, By: "Security Officer", Date: day}); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckEnrolment(id); !errors.Is(err, ErrNoNDA) {
		t.Fatalf("enrolling without an NDA: %v", err)
	}
	if err := s.RecordNDA(id, day, []byte("signed NDA\n")); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckEnrolment(id); err != nil {
		t.Fatal(err)
	}
	enrol.Serial = card.DemoSerial
	if _, err := s.EnrolCard(enrol); err == nil || !strings.Contains(err.Error(), "unlocked with") {
		t.Fatalf("enrolling the session's own card: %v", err)
	}
	enrol.Serial = DemoBlankSerial
	holder, err := s.EnrolCard(enrol) // the factory PIN works: the refusals left the card alone
	if err != nil {
		t.Fatal(err)
	}
	staff, err := s.Staff()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(staff, func(m StaffMember) bool { return m.ID == id })
	if i < 0 || !slices.Contains(staff[i].Holders, holder) || staff[i].NDA == nil {
		t.Fatalf("staff record after enrolment: %+v", staff)
	}

	// A compartment: created, granted, revoked with progress.
	cid, err := s.CreateCompartment("Testrum")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := s.AddCustomer(cid, Customer{Name: "Rum Kund", RetainUntil: "2030-01-01"}); err != nil {
			t.Fatal(err)
		}
	}
	comp := func() CompartmentAccess {
		t.Helper()
		all, err := s.AllCompartments()
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range all {
			if c.ID == cid {
				return c
			}
		}
		t.Fatalf("compartment %s not listed in %+v", cid, all)
		return CompartmentAccess{}
	}
	if c := comp(); c.Name != "Testrum" || !c.Unlocked || len(c.Holders) != 1 {
		t.Fatalf("new compartment: %+v", c)
	}
	if err := s.Grant(cid, holder); err != nil {
		t.Fatal(err)
	}
	if c := comp(); !slices.Contains(c.Holders, holder) {
		t.Fatalf("granted holder missing: %+v", c)
	}
	var calls, lastDone, lastTotal int
	if err := s.Revoke(cid, holder, func(done, total int) { calls, lastDone, lastTotal = calls+1, done, total }); err != nil {
		t.Fatal(err)
	}
	if calls == 0 || lastTotal == 0 || lastDone != lastTotal {
		t.Errorf("revoke progress: %d calls, last %d of %d", calls, lastDone, lastTotal)
	}
	if c := comp(); slices.Contains(c.Holders, holder) {
		t.Fatalf("revoked holder still listed: %+v", c)
	}
	if err := s.Revoke(cid, holders[0].ID, nil); err == nil {
		t.Error("an admin revoked their own card")
	}

	// The audit log: read, verified, written.
	entries, err := s.AuditEntries()
	if err != nil {
		t.Fatal(err)
	}
	has := func(a store.Action, object string) bool {
		return slices.ContainsFunc(entries, func(e AuditEntry) bool { return e.Action == a && e.Object == object })
	}
	if !has(store.ActionRevoke, holder.String()) || !has(store.ActionGrant, cid) || !has(store.ActionStaffAdd, id.String()) {
		t.Error("the audit log lacks the grant, revoke or staff entries")
	}
	reports, err := s.VerifyAudit()
	if err != nil || len(reports) != 4 {
		t.Fatalf("verify: %d reports, %v", len(reports), err)
	}
	var csvOut, jsonOut bytes.Buffer
	if err := WriteAudit(&csvOut, AuditCSV, entries); err != nil {
		t.Fatal(err)
	}
	if err := WriteAudit(&jsonOut, AuditJSONL, entries); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(csvOut.String(), "\n"); lines != len(entries)+1 || !strings.HasPrefix(csvOut.String(), "log,seq,time,holder,action,object,count\n") {
		t.Errorf("CSV: %d lines for %d entries", lines, len(entries))
	}
	if lines := strings.Count(jsonOut.String(), "\n"); lines != len(entries) {
		t.Errorf("JSON Lines: %d lines for %d entries", lines, len(entries))
	}
	if strings.Contains(csvOut.String()+jsonOut.String(), "Test Person") {
		t.Error("a name in the audit export")
	}

	// Deactivation: the card is inactive.
	if err := s.Deactivate(id, nil); err != nil {
		t.Fatal(err)
	}
	hs, _ := s.KeyHolders()
	if j := slices.IndexFunc(hs, func(h KeyHolder) bool { return h.ID == holder }); j < 0 || !hs[j].Inactive {
		t.Fatalf("deactivated person's card: %+v", hs)
	}
}

// testFirstRun makes a new vault through the first-run calls, with a
// blank simulated card (part of TestDemoService: the PC/SC library of
// the process already talks to the demo's card server).
func testFirstRun(t *testing.T, demo *Service, dir string) {
	const serial = 10000003
	if _, err := demo.sim.AddCard(serial); err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{VaultDir: filepath.Join(dir, "vault")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.HasVault() || !demo.HasVault() {
		t.Fatal("HasVault is wrong")
	}
	sheet, err := s.NewRecoveryKey()
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := s.NewRecoveryKey(); again.Public != sheet.Public || !strings.Contains(sheet.Text, sheet.Public) || len(sheet.Check) != 2 {
		t.Fatalf("sheet: %+v", sheet)
	}
	admin := FirstAdmin{
		Serial: serial, PIN: factoryPIN, PUK: factoryPUK, NewPIN: "33334444", NewPUK: "44445555",
		Name: "First Admin", ScreenedBy: "Security Officer", ScreenedOn: time.Now(), NDASigned: time.Now(),
		NDADocument: []byte("signed NDA\n"),
	}
	if err := s.CreateVault(admin); !errors.Is(err, ErrRecoveryNotKept) {
		t.Fatalf("created before the key was kept: %v", err)
	}

	usb := filepath.Join(dir, "usb")
	os.Mkdir(usb, 0o700)
	if _, err := s.SaveRecovery(usb, "short"); err == nil {
		t.Error("a short passphrase was accepted")
	}
	paths, err := s.SaveRecovery(usb, "a long enough passphrase")
	if err != nil || len(paths) != 3 {
		t.Fatalf("save: %q, %v", paths, err)
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v", p, err, fi.Mode())
		}
	}
	if pdf, _ := os.ReadFile(paths[1]); !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Error("the sheet is not a PDF")
	}
	if _, err := s.SaveRecovery(usb, ""); err == nil {
		t.Error("saving again overwrote the files")
	}
	key, err := recovery.Load(paths[0])
	if err != nil || key.Recipient().String() != sheet.Public {
		t.Fatalf("the saved key: %v", err)
	}

	groups := secretGroups(key)
	var right, wrong []string
	for _, g := range sheet.Check {
		want := groups[(g.Line-1)*groupsPerLine+g.Group-1]
		right = append(right, " "+strings.ToLower(want)+" ")
		wrong = append(wrong, "AAAA")
	}
	if err := s.ConfirmRecovery(wrong); err == nil {
		t.Fatal("wrong groups confirmed")
	}
	if err := s.ConfirmRecovery(right); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateVault(admin); err == nil || !strings.Contains(err.Error(), "SIMULATED") {
		t.Fatalf("a simulated card outside demo mode: %v", err)
	}
	admin.AllowSimulated = true
	if err := s.CreateVault(admin); err != nil {
		t.Fatal(err)
	}
	if !s.HasVault() || !s.Unlocked() || !s.IsAdmin() {
		t.Fatal("not unlocked as admin after creation")
	}
	staff, err := s.Staff()
	if err != nil || len(staff) != 1 || staff[0].Screening.Status != ScreeningPassed || staff[0].NDA == nil {
		t.Fatalf("staff of the new vault: %+v, %v", staff, err)
	}
	s.Lock()
	if err := s.UnlockRecovery(key.IdentityFile()); err != nil {
		t.Fatalf("the kept recovery key does not open the new vault: %v", err)
	}
	s.Lock()
	if err := s.Unlock(serial, "33334444"); err != nil {
		t.Fatalf("the first admin's new PIN: %v", err)
	}
}

// The air-gap check reads flags and operstate: loopback and switched-off
// interfaces do not count; an interface that is on without a link is
// listed but does not break isolation.
func TestCheckAirGap(t *testing.T) {
	dir := t.TempDir()
	iface := func(name, flags, oper string, extra ...string) {
		p := filepath.Join(dir, name)
		os.MkdirAll(p, 0o755)
		os.WriteFile(filepath.Join(p, "flags"), []byte(flags+"\n"), 0o644)
		os.WriteFile(filepath.Join(p, "operstate"), []byte(oper+"\n"), 0o644)
		for _, e := range extra {
			os.Mkdir(filepath.Join(p, e), 0o755)
		}
	}
	iface("lo", "0x9", "unknown")
	iface("eth0", "0x1002", "down")
	if st := CheckAirGap(dir); !st.Isolated() || len(st.Up) != 0 {
		t.Fatalf("loopback and a switched-off card: %+v", st)
	}
	iface("wlan0", "0x1003", "dormant", "wireless")
	if st := CheckAirGap(dir); !st.Isolated() || len(st.Up) != 1 || !st.Up[0].Wireless || st.Up[0].Link {
		t.Fatalf("wi-fi on, not associated: %+v", st)
	}
	iface("eth0", "0x1003", "up")
	if st := CheckAirGap(dir); st.Isolated() || len(st.Up) != 2 || st.Up[0].Name != "eth0" || !st.Up[0].Link {
		t.Fatalf("cable plugged in: %+v", st)
	}
	if st := CheckAirGap(filepath.Join(dir, "missing")); !st.Unknown || st.Isolated() {
		t.Fatalf("no /sys: %+v", st)
	}
}

func TestSheetPDF(t *testing.T) {
	k, err := recovery.Generate()
	if err != nil {
		t.Fatal(err)
	}
	pdf, err := SheetPDF(k.Sheet("Valv vault in /home/åsa/valv"))
	if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("%v", err)
	}
}
