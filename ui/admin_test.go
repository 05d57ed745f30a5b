package ui

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/valv-vault/valv/store/service"
)

// hides fails the test if the window shows text.
func hides(t *testing.T, w *Window, text string) {
	t.Helper()
	if all := strings.Join(texts(w.Content()), "\n"); strings.Contains(all, text) {
		t.Fatalf("window shows %q:\n%s", text, all)
	}
}

// The first run: the recovery sheet, the type-back check failing and
// then passing (with the sheet hidden), the first admin's form refusing
// mismatched PINs and a wrong current PIN, then the vault created and
// unlocked.
func TestFirstRun(t *testing.T) {
	useLanguage(t, "en")
	svc := newFakeService()
	svc.demo = false
	svc.cards = []Card{{Serial: 5, Firmware: "5.7.1"}}
	svc.admin().noVault = true
	w, _ := newTestWindow(t, svc)
	shows(t, w, "Step 1 of 3: the recovery key")
	shows(t, w, "G001 G002")
	fr := w.nav.firstRun
	if fr == nil || w.unlock != nil {
		t.Fatal("no first-run screen")
	}

	// Saving writes to the folder chosen; a short passphrase is refused.
	test.Type(fr.passphrase, "short")
	fr.saveTo("/media/usb")
	shows(t, w, "at least 12 characters")
	if fr.passphrase.Text != "" {
		t.Error("the passphrase stays in its entry")
	}
	fr.saveTo("/media/usb")
	shows(t, w, "/media/usb/"+service.RecoverySheetFile)

	test.Tap(fr.keptB)
	shows(t, w, "Step 2 of 3: check your copy")
	hides(t, w, "G001 G002") // the sheet is hidden while typing back
	shows(t, w, "Line 1, group 2")
	shows(t, w, "Line 3, group 4")
	a := svc.admin()
	test.Type(fr.answers[0], strings.ToLower(a.answer(a.check[0])))
	test.Type(fr.answers[1], "XXXX")
	test.Tap(fr.checkB)
	shows(t, w, "These groups do not match the recovery key")
	hides(t, w, "Step 3 of 3")
	if a.kept {
		t.Fatal("a wrong group confirmed the key")
	}
	test.Type(fr.answers[0], strings.ToLower(a.answer(a.check[0])))
	test.Type(fr.answers[1], a.answer(a.check[1]))
	test.Tap(fr.checkB)
	shows(t, w, "Step 3 of 3: the first admin")
	shows(t, w, "YubiKey · serial 5 · firmware 5.7.1")

	fill := func(pin, newPIN2 string) {
		test.Type(fr.name, "Astrid Admin")
		test.Type(fr.screenedBy, "Sigrid Säkerhet")
		test.Type(fr.screenedOn, "2026-01-10")
		test.Type(fr.ndaSigned, "2026-01-11")
		test.Type(fr.pin, pin)
		test.Type(fr.newPIN, "24681357")
		test.Type(fr.newPIN2, newPIN2)
		test.Type(fr.puk, "12345678")
		test.Type(fr.newPUK, "97531864")
		test.Type(fr.newPUK2, "97531864")
	}
	fill("123456", "24681357")
	test.Tap(fr.createB)
	shows(t, w, "No NDA chosen.")
	fr.setNDA("nda.pdf", []byte("%PDF-1.4 signed"))
	shows(t, w, "nda.pdf (15 B)")
	clearEntries(fr.name, fr.screenedBy, fr.screenedOn, fr.ndaSigned)
	fill("123456", "11111111")
	test.Tap(fr.createB)
	shows(t, w, "The two new PINs differ.")
	clearEntries(fr.name, fr.screenedBy, fr.screenedOn, fr.ndaSigned)
	fill("000000", "24681357")
	test.Tap(fr.createB)
	shows(t, w, "Wrong PIN — 2 tries left.")
	if fr.pin.Text != "" || fr.newPIN.Text != "" || fr.newPUK.Text != "" {
		t.Error("PINs stay in their entries")
	}
	clearEntries(fr.name, fr.screenedBy, fr.screenedOn, fr.ndaSigned)
	fill("123456", "24681357")
	test.Tap(fr.createB)
	if w.customers == nil || !w.unlocked {
		t.Fatalf("not unlocked after creating the vault:\n%s", strings.Join(texts(w.Content()), "\n"))
	}
	c := a.created
	if c == nil || c.Serial != 5 || c.Name != "Astrid Admin" || c.NewPIN != "24681357" || c.ScreenedOn.Format(dateLayout) != "2026-01-10" ||
		c.NDASigned.Format(dateLayout) != "2026-01-11" || string(c.NDADocument) != "%PDF-1.4 signed" || c.AllowSimulated {
		t.Fatalf("created with %+v", c)
	}
	shows(t, w, "Compartments") // an admin's navigation
}

func clearEntries(es ...*widget.Entry) {
	for _, e := range es {
		e.SetText("")
	}
}

func openSection(t *testing.T, w *Window, section int) {
	t.Helper()
	if !w.nav.content.Visible() || !w.nav.buttons[section].Visible() {
		t.Fatalf("section %d is not offered", section)
	}
	test.Tap(w.nav.buttons[section])
}

// Compartments: create one, grant it to a key holder, revoke it with the
// re-encryption's progress shown.
func TestCompartmentsCreateGrantRevoke(t *testing.T) {
	useLanguage(t, "en")
	svc := newFakeService()
	w, _ := newTestWindow(t, svc)
	unlock(t, w, svc)
	openSection(t, w, navCompartments)
	s := w.nav.compartments
	shows(t, w, "2 compartments.")
	shows(t, w, "2 key holders")

	test.Tap(s.createB)
	shows(t, w, "Type a name for the compartment.")
	enter(s.newName, "Kunder Väst")
	shows(t, w, "3 compartments.")
	shows(t, w, "Compartment Kunder Väst")
	cid := s.chosen
	if got := svc.admin().grants[cid]; len(got) != 1 {
		t.Fatalf("new compartment's grants: %v", got)
	}

	// Grant to Bo (the only one who does not hold it).
	if len(s.grantSel.Options) != 1 || !strings.HasPrefix(s.grantSel.Options[0], "Bo Berg") {
		t.Fatalf("grant choices %q", s.grantSel.Options)
	}
	s.grantSel.SetSelectedIndex(0)
	test.Tap(s.grantB)
	bo := fakeID(2)
	if !slices.Contains(svc.admin().grants[cid], bo) {
		t.Fatal("not granted")
	}
	shows(t, w, "Bo Berg (YubiKey 10000002)")

	// Revoke from Bo: the progress bar runs to the end.
	var revokeB *widget.Button
	for _, row := range s.holders.Objects {
		r := row.(*fyne.Container)
		if strings.HasPrefix(r.Objects[0].(*widget.Label).Text, "Bo Berg") {
			revokeB = r.Objects[2].(*widget.Button)
		}
	}
	if revokeB == nil {
		t.Fatal("no Revoke button for Bo")
	}
	var seen []float64
	var said []string
	svc.admin().afterProgress = func() {
		seen = append(seen, s.progress.Value)
		said = append(said, s.progText.Text)
	}
	test.Tap(revokeB)
	if !slices.Contains(said, "Re-encrypting: 8 of 12 values.") {
		t.Errorf("progress said %q", said)
	}
	if slices.Contains(svc.admin().grants[cid], bo) {
		t.Fatal("not revoked")
	}
	if len(seen) < 3 || seen[len(seen)-1] != 1 || !s.progress.Visible() {
		t.Fatalf("progress values %v", seen)
	}
	shows(t, w, "Revoked from Bo Berg (YubiKey 10000002). The compartment has a new key")

	// The customers screen offers the new compartment.
	openSection(t, w, navCustomers)
	if !slices.Contains(w.customers.compSelect.Options, "Kunder Väst") {
		t.Fatalf("customer screen compartments %q", w.customers.compSelect.Options)
	}
}

// The audit log: filters by key holder, action, code and date; Verify
// gives a clear verdict for a good and a bad log; export writes the
// entries shown.
func TestAuditFilterVerifyExport(t *testing.T) {
	useLanguage(t, "en")
	svc := newFakeService()
	w, _ := newTestWindow(t, svc)
	unlock(t, w, svc)
	openSection(t, w, navAudit)
	s := w.nav.audit
	total := len(svc.admin().audit)
	if len(s.shown) != total {
		t.Fatalf("%d entries shown of %d", len(s.shown), total)
	}
	shows(t, w, "13 of 13 entries shown.")

	s.holderSel.SetSelected("Bo Berg (YubiKey 10000002)")
	if len(s.shown) != 3 {
		t.Fatalf("Bo's entries: %d", len(s.shown))
	}
	s.actionSel.SetSelected("reveal")
	if len(s.shown) != 1 || s.shown[0].Object != string(fakeCode(0)) {
		t.Fatalf("Bo's reveals: %+v", s.shown)
	}
	s.holderSel.SetSelectedIndex(0) // all key holders
	if len(s.shown) != 2 {
		t.Fatalf("all reveals: %d", len(s.shown))
	}
	test.Type(s.object, strings.ToLower(strings.ReplaceAll(string(fakeCode(1)), "-", "")))
	if len(s.shown) != 1 || s.shown[0].Object != string(fakeCode(1)) {
		t.Fatalf("reveals of %s: %+v", fakeCode(1), s.shown)
	}
	s.object.SetText("")
	s.actionSel.SetSelectedIndex(0)
	test.Type(s.from, "2026-01-16")
	if len(s.shown) != 4 {
		t.Fatalf("from 2026-01-16: %d", len(s.shown))
	}
	test.Type(s.to, "2026-01-16")
	if len(s.shown) != 3 {
		t.Fatalf("on 2026-01-16: %d", len(s.shown))
	}
	shows(t, w, "3 of 13 entries shown.")

	var csvOut, jsonOut bytes.Buffer
	if err := s.export(&csvOut, service.AuditCSV); err != nil {
		t.Fatal(err)
	}
	if err := s.export(&jsonOut, service.AuditJSONL); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(csvOut.String()), "\n"); len(lines) != 4 || lines[0] != "log,seq,time,holder,action,object,count" {
		t.Fatalf("CSV export:\n%s", csvOut.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(jsonOut.String()), "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil || e["time"] == nil {
			t.Fatalf("JSON Lines export: %q: %v", line, err)
		}
	}

	test.Tap(s.verifyB)
	shows(t, w, "Verified: 3 audit logs, 13 entries, every link intact")
	if s.verdict.Importance != widget.SuccessImportance {
		t.Error("a good verdict is not shown as success")
	}
	svc.admin().bad = &service.AuditError{Log: svc.comps[0].ID, Seq: 3, Reason: "the chain link does not match: an entry was changed, removed or inserted"}
	test.Tap(s.verifyB)
	shows(t, w, "The audit log of Kunder Norr does NOT verify. Entry 3 is the first bad one: the chain link does not match")
	if s.verdict.Importance != widget.DangerImportance {
		t.Error("a bad verdict is not shown as danger")
	}
}

// Staff: add a person; enrolling a card is refused, with the reason,
// while they are unscreened and then without an NDA; it succeeds after
// both are recorded. Deactivating asks first.
func TestStaffEnrolRules(t *testing.T) {
	useLanguage(t, "en")
	svc := newFakeService()
	w, _ := newTestWindow(t, svc)
	unlock(t, w, svc)
	openSection(t, w, navStaff)
	s := w.nav.staff
	shows(t, w, "3 people in the staff register.")
	test.Type(s.name, "Dag Dahl")
	enter(s.title, "Handläggare")
	shows(t, w, "4 people in the staff register.")
	if s.chosen == nil || s.chosen.Name != "Dag Dahl" {
		t.Fatalf("the new person is not chosen: %+v", s.chosen)
	}
	shows(t, w, "This person is not screened.")
	id := s.chosen.ID

	enrol := func() {
		s.cardSel.SetSelectedIndex(0)
		test.Type(s.pin, "123456")
		test.Type(s.newPIN, "11223344")
		test.Type(s.newPIN2, "11223344")
		test.Type(s.puk, "12345678")
		test.Type(s.newPUK, "55667788")
		test.Type(s.newPUK2, "55667788")
		test.Tap(s.enrolB)
	}
	enrol()
	if s.detailErr.Text != T("staff.enrol.unscreened") || !s.detailErr.Visible() {
		t.Fatalf("enrolling an unscreened person: %q", s.detailErr.Text)
	}
	if s.pin.Text != "" || s.newPUK.Text != "" {
		t.Error("PINs stay in their entries after a refusal")
	}

	s.scStatus.SetSelectedIndex(1) // passed
	test.Type(s.scBy, "Sigrid Säkerhet")
	test.Type(s.scOn, "2026-01-14")
	test.Tap(s.scB)
	shows(t, w, "Screening recorded.")
	shows(t, w, "Screening: passed on 2026-01-14 by Sigrid Säkerhet")
	enrol()
	if s.detailErr.Text != T("staff.enrol.nonda") {
		t.Fatalf("enrolling without an NDA: %q", s.detailErr.Text)
	}

	s.attachNDA("nda.pdf", []byte("signed"))
	shows(t, w, "Type the day the NDA was signed")
	test.Type(s.ndaSigned, "2026-01-14")
	s.attachNDA("nda.pdf", []byte("signed"))
	shows(t, w, "NDA nda.pdf recorded.")
	shows(t, w, "Screened and with a signed NDA: a card can be enrolled.")
	enrol()
	shows(t, w, "YubiKey 10000001 enrolled. It opens nothing until you grant it a compartment.")
	a := svc.admin()
	m, _ := a.member(id)
	if len(m.Holders) != 1 {
		t.Fatalf("no card recorded for the person: %+v", m)
	}
	shows(t, w, "Cards: 10000001")

	// Deactivate asks for confirmation, then the person is inactive.
	test.Tap(s.deactB)
	overlay := w.Canvas().Overlays().Top()
	if overlay == nil {
		t.Fatal("no confirmation asked")
	}
	if all := strings.Join(texts(overlay), "\n"); !strings.Contains(all, "Deactivate Dag Dahl?") {
		t.Fatalf("confirmation says:\n%s", all)
	}
	w.Canvas().Overlays().Remove(overlay) // cancelled: nothing happens
	if m, _ := a.member(id); !m.Active {
		t.Fatal("deactivated without confirmation")
	}
	s.deactivate(id)
	shows(t, w, "Deactivated. Their cards open nothing")
	if m, _ := a.member(id); m.Active {
		t.Fatal("not deactivated")
	}
}

// Settings: a shorter idle time locks sooner, and is kept in the
// settings file (no personal data in it); a language switch rebuilds the
// window in Swedish.
func TestSettingsChangeIdleTimeout(t *testing.T) {
	useLanguage(t, "en")
	svc := newFakeService()
	file := filepath.Join(t.TempDir(), "valv", "settings.json")
	a := test.NewTempApp(t)
	clk := &fakeClock{}
	w := NewWindowWithOptions(a, svc, Options{Clock: clk, SettingsFile: file})
	w.Resize(fyne.NewSize(900, 620))
	w.Show()
	t.Cleanup(w.Close)
	if w.idle.d != DefaultIdleTimeout {
		t.Fatalf("idle time without settings: %v", w.idle.d)
	}
	unlock(t, w, svc)
	openSection(t, w, navSettings)
	s := w.nav.settings
	s.idleSel.SetSelected("1 minutes")
	s.clipSel.SetSelected("10 seconds")
	test.Tap(s.saveB)
	shows(t, w, "Saved. Valv now locks after 1 minutes without activity.")
	clk.Advance(59 * time.Second)
	if !w.unlocked {
		t.Fatal("locked before a minute")
	}
	clk.Advance(time.Second)
	if w.unlocked {
		t.Fatal("not locked after the new idle time of a minute")
	}
	shows(t, w, "Valv locked itself after 1 minutes without activity.")

	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Errorf("settings file mode %v", fi.Mode())
	}
	var saved Settings
	if err := json.Unmarshal(data, &saved); err != nil || saved.IdleMinutes != 1 || saved.ClipboardSeconds != 10 || saved.Language != "" {
		t.Fatalf("settings file %s: %v", data, err)
	}
	if strings.Contains(string(data), "Anna") || strings.Contains(string(data), svc.pin) {
		t.Fatal("personal data in the settings file")
	}

	// A new window reads them back.
	w2 := NewWindowWithOptions(a, svc, Options{Clock: clk, SettingsFile: file})
	t.Cleanup(w2.Close)
	if w2.idle.d != time.Minute || w2.settings.clipboard() != 10*time.Second {
		t.Fatalf("settings read back: idle %v, clipboard %v", w2.idle.d, w2.settings.clipboard())
	}

	// Swedish, at once.
	t.Cleanup(func() { applyLanguage("en") })
	unlock(t, w, svc)
	openSection(t, w, navSettings)
	w.nav.settings.langSel.SetSelected("Svenska")
	test.Tap(w.nav.settings.saveB)
	shows(t, w, "Inställningar")
	shows(t, w, "Granskningslogg")
	if !w.unlocked {
		t.Fatal("switching the language locked the window")
	}
}

// Copying a code puts it on the clipboard and clears it after the delay,
// unless something else was copied since.
func TestClipboardClearedAfterDelay(t *testing.T) {
	useLanguage(t, "en")
	svc := newFakeService()
	w, clk := newTestWindow(t, svc)
	unlock(t, w, svc)
	w.customers.list.Select(0)
	cb := w.app.Clipboard()
	test.Tap(findButton(t, w, "Copy code"))
	if cb.Content() != string(fakeCode(0)) {
		t.Fatalf("clipboard holds %q", cb.Content())
	}
	clk.Advance(defaultClipboardSeconds*time.Second - time.Second)
	if cb.Content() != string(fakeCode(0)) {
		t.Fatal("cleared too early")
	}
	clk.Advance(time.Second)
	if cb.Content() != "" {
		t.Fatalf("not cleared after %d s: %q", defaultClipboardSeconds, cb.Content())
	}

	test.Tap(findButton(t, w, "Copy code"))
	cb.SetContent("something the user copied elsewhere")
	clk.Advance(defaultClipboardSeconds * time.Second)
	if cb.Content() != "something the user copied elsewhere" {
		t.Fatal("cleared what someone else put on the clipboard")
	}

	// Locking clears a code still on the clipboard.
	test.Tap(findButton(t, w, "Copy code"))
	w.Lock()
	if cb.Content() != "" {
		t.Fatal("the code stays on the clipboard after locking")
	}
}

// sysNet makes a /sys/class/net layout.
func sysNet(t *testing.T, ifaces map[string][2]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, v := range ifaces {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(p, "flags"), []byte(v[0]+"\n"), 0o644)
		os.WriteFile(filepath.Join(p, "operstate"), []byte(v[1]+"\n"), 0o644)
	}
	return dir
}

// The air-gap banner follows the network interfaces (read from fixture
// /sys folders): hidden with only loopback, shown when a cable is
// plugged in, and the settings screen says so.
func TestAirGapStatus(t *testing.T) {
	useLanguage(t, "en")
	svc := newFakeService()
	isolated := sysNet(t, map[string][2]string{"lo": {"0x9", "unknown"}, "eth0": {"0x1002", "down"}})
	connected := sysNet(t, map[string][2]string{"lo": {"0x9", "unknown"}, "eth0": {"0x1003", "up"}})
	svc.admin().sysNet = isolated
	w, clk := newTestWindow(t, svc)
	hides(t, w, "NETWORK CONNECTED")
	if w.nav.airGap.content.Visible() {
		t.Fatal("banner shown on an isolated machine")
	}

	svc.mu.Lock()
	svc.admin().sysNet = connected
	svc.mu.Unlock()
	clk.Advance(airGapEvery)
	if !w.nav.airGap.content.Visible() {
		t.Fatal("no banner with eth0 up")
	}
	shows(t, w, "NETWORK CONNECTED: eth0 is up.")
	unlock(t, w, svc)
	openSection(t, w, navSettings)
	shows(t, w, "Not air-gapped: eth0 can carry network traffic.")

	svc.mu.Lock()
	svc.admin().sysNet = isolated
	svc.mu.Unlock()
	test.Tap(findButton(t, w, "Check again"))
	shows(t, w, "Air-gapped: no network interface other than loopback is up.")
	if w.nav.airGap.content.Visible() {
		t.Fatal("banner still shown after the cable was unplugged")
	}
}

// A key holder who is not an admin gets no compartment or staff section.
func TestNonAdminNavigation(t *testing.T) {
	useLanguage(t, "en")
	svc := newFakeService()
	svc.admin().notAdmin = true
	w, _ := newTestWindow(t, svc)
	unlock(t, w, svc)
	if w.nav.buttons[navCompartments].Visible() || w.nav.buttons[navStaff].Visible() {
		t.Fatal("admin sections offered to a key holder")
	}
	openSection(t, w, navAudit)
	shows(t, w, "entries shown")
	w.Lock()
	if w.nav.content.Visible() || w.nav.audit != nil {
		t.Fatal("the navigation or its screens stay after locking")
	}
}

// Golden images of the audit and staff screens in both languages.
func TestGoldenAdminScreens(t *testing.T) {
	for _, language := range []string{"en", "sv"} {
		t.Run(language, func(t *testing.T) {
			useLanguage(t, language)
			svc := newFakeService()
			w, _ := newTestWindow(t, svc)
			unlock(t, w, svc)
			openSection(t, w, navAudit)
			test.AssertImageMatches(t, "audit_"+language+".png", w.Canvas().Capture())
			openSection(t, w, navStaff)
			w.nav.staff.list.Select(1)
			test.AssertImageMatches(t, "staff_"+language+".png", w.Canvas().Capture())
		})
	}
}
