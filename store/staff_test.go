package store

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/crypto/compartmentkey"
)

var testDay = time.Date(2026, 2, 3, 0, 0, 0, 0, time.UTC)

// directoryEntries returns the directory log's entries.
func directoryEntries(t *testing.T, s *Session) []Entry {
	t.Helper()
	var es []Entry
	mustNoErr(t, s.ExportAudit(func(e ExportedEntry) error {
		if e.Log == DirectoryLog {
			es = append(es, e.Entry)
		}
		return nil
	}))
	return es
}

func hasEntry(es []Entry, a Action, object string) bool {
	return slices.ContainsFunc(es, func(e Entry) bool { return e.Action == a && e.Object == object })
}

// TestEnrolNeedsScreeningAndNDA: enrolment of an unscreened person, or
// one without an NDA, is refused with a message that says what to record.
func TestEnrolNeedsScreeningAndNDA(t *testing.T) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	sid, err := s.AddStaff(StaffInfo{Name: "Nils Nyanställd", Title: "Handläggare"})
	mustNoErr(t, err)
	h := newTestHolder(t, "", RoleHolder)
	h.info.Staff, h.info.StaffID = nil, sid

	_, err = s.Enrol(h.info)
	if !errors.Is(err, ErrNotScreened) || !strings.Contains(err.Error(), "is not screened: record a passed screening with `valv staff screen` first") {
		t.Fatalf("enrol unscreened: %v", err)
	}
	if strings.Contains(err.Error(), "Nils") {
		t.Errorf("the error names the person: %v", err)
	}
	mustNoErr(t, s.Screen(sid, Screening{Status: ScreeningFailed, Date: testDay, By: "Säpo-kontakt"}))
	if _, err = s.Enrol(h.info); !errors.Is(err, ErrNotScreened) || !strings.Contains(err.Error(), "failed") {
		t.Fatalf("enrol after a failed screening: %v", err)
	}
	mustNoErr(t, s.Screen(sid, Screening{Status: ScreeningPassed, Date: testDay, By: "Säpo-kontakt"}))
	_, err = s.Enrol(h.info)
	if !errors.Is(err, ErrNoNDA) || !strings.Contains(err.Error(), "has no signed NDA on file: record it with `valv staff nda` first") {
		t.Fatalf("enrol without an NDA: %v", err)
	}
	if err := s.CheckEnrolment(sid); !errors.Is(err, ErrNoNDA) {
		t.Fatalf("CheckEnrolment: %v", err)
	}
	hs, err := s.Holders()
	mustNoErr(t, err)
	if len(hs) != 1 {
		t.Fatalf("a refused enrolment left a key holder: %d holders", len(hs))
	}
	mustNoErr(t, s.RecordNDA(sid, testDay, strings.NewReader("undertecknat sekretessavtal")))
	mustNoErr(t, s.CheckEnrolment(sid))
	hid, err := s.Enrol(h.info)
	mustNoErr(t, err)

	hs, err = s.Holders()
	mustNoErr(t, err)
	i := slices.IndexFunc(hs, func(h Holder) bool { return h.ID == hid })
	if i < 0 || hs[i].StaffID != sid || hs[i].Name != "Nils Nyanställd" {
		t.Fatalf("enrolled holder: %+v", hs)
	}
	staff, err := s.Staff()
	mustNoErr(t, err)
	if len(staff) != 2 {
		t.Fatalf("%d staff records, want 2 (the admin and Nils)", len(staff))
	}
	for _, m := range staff {
		if m.ID == sid && (!slices.Contains(m.Holders, hid) || m.Screening.Status != ScreeningPassed || m.NDA == nil || !m.Active || m.Title != "Handläggare") {
			t.Errorf("staff record: %+v", m)
		}
	}

	// A key holder needs a person; an inline record must be cleared too.
	h2 := newTestHolder(t, "Otto Oscreenad", RoleHolder)
	h2.info.Staff = nil
	if _, err := s.Enrol(h2.info); err == nil || !strings.Contains(err.Error(), "staff register") {
		t.Fatalf("enrol without a staff record: %v", err)
	}
	h2.info.Staff = &StaffInfo{Name: "Otto Oscreenad", NDASigned: testDay, NDADocument: []byte("nda")}
	if _, err := s.Enrol(h2.info); !errors.Is(err, ErrNotScreened) {
		t.Fatalf("enrol an unscreened inline record: %v", err)
	}
	h2.info.Staff = &StaffInfo{Name: "Otto Oscreenad", Screening: Screening{Status: ScreeningPassed, Date: testDay, By: "X"}}
	if _, err := s.Enrol(h2.info); !errors.Is(err, ErrNoNDA) {
		t.Fatalf("enrol an inline record without an NDA: %v", err)
	}

	// Audit: add, screen (twice), NDA and link, with the staff id as object.
	es := directoryEntries(t, s)
	for _, a := range []Action{ActionStaffAdd, ActionStaffScreen, ActionStaffNDA} {
		if !hasEntry(es, a, sid.String()) {
			t.Errorf("no %s entry for the staff id", a)
		}
	}
	if !hasEntry(es, ActionEnrol, hid.String()) {
		t.Error("no enrol entry")
	}
	reports, err := s.VerifyAudit()
	mustNoErr(t, err)
	for _, r := range reports {
		if r.Err != nil {
			t.Errorf("audit: %v", r.Err)
		}
	}
}

func TestCreateNeedsClearedFirstAdmin(t *testing.T) {
	tv := newTestVault(t)
	for _, tc := range []struct {
		staff *StaffInfo
		want  string
	}{
		{nil, "staff record"},
		{&StaffInfo{Name: "A", NDASigned: testDay, NDADocument: []byte("x")}, "the first admin is not screened"},
		{&StaffInfo{Name: "A", Screening: Screening{Status: ScreeningPassed, Date: testDay, By: "B"}}, "the first admin has no signed NDA"},
		{&StaffInfo{Name: "A", Screening: Screening{Status: ScreeningPassed, Date: testDay}, NDASigned: testDay, NDADocument: []byte("x")}, "screener"},
		{&StaffInfo{Name: "A", Screening: Screening{Status: ScreeningPassed, Date: testDay, By: "B"}, NDADocument: []byte("x")}, "NDA signing date"},
		{&StaffInfo{Name: "A", Screening: Screening{Status: ScreeningPassed, Date: time.Now().AddDate(0, 0, 3), By: "B"}, NDASigned: testDay, NDADocument: []byte("x")}, "future"},
	} {
		h := newTestHolder(t, "A", RoleAdmin)
		h.info.Staff = tc.staff
		dir := filepath.Join(t.TempDir(), "v")
		_, err := Create(dir, tv.recovery, h.info)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Create with %+v: %v, want %q", tc.staff, err, tc.want)
		}
		if _, err := os.Stat(filepath.Join(dir, DirectoryFile)); err == nil {
			t.Error("a refused Create left a vault")
		}
	}
	// The first admin's record is there, linked to the admin.
	s := tv.unlock(t, tv.admin)
	staff, err := s.Staff()
	mustNoErr(t, err)
	if len(staff) != 1 || staff[0].Name != "Alva Admin" || staff[0].NDA == nil || staff[0].Screening.Status != ScreeningPassed ||
		len(staff[0].Holders) != 1 || staff[0].Holders[0] != s.Actor() {
		t.Fatalf("first admin's staff record: %+v", staff)
	}
	es := directoryEntries(t, s)
	for _, a := range []Action{ActionStaffAdd, ActionStaffScreen, ActionStaffNDA} {
		if !hasEntry(es, a, staff[0].ID.String()) {
			t.Errorf("no %s entry for the first admin", a)
		}
	}
}

func TestNDADocument(t *testing.T) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	sid, err := s.AddStaff(StaffInfo{Name: "Doris Dokument"})
	mustNoErr(t, err)
	if err := s.NDADocument(sid, new(bytes.Buffer)); !errors.Is(err, ErrNoNDA) {
		t.Fatalf("NDADocument with none on file: %v", err)
	}
	doc := make([]byte, 2*NDAChunk+12345)
	rand.Read(doc)
	mustNoErr(t, s.RecordNDA(sid, testDay, bytes.NewReader(doc)))
	var out bytes.Buffer
	mustNoErr(t, s.NDADocument(sid, &out))
	if !bytes.Equal(out.Bytes(), doc) {
		t.Fatal("the NDA read back differs")
	}
	// A second NDA replaces the first, chunks and all.
	mustNoErr(t, s.RecordNDA(sid, testDay, strings.NewReader("kort avtal")))
	out.Reset()
	mustNoErr(t, s.NDADocument(sid, &out))
	if out.String() != "kort avtal" {
		t.Fatalf("replaced NDA reads %d bytes", out.Len())
	}
	if err := s.RecordNDA(sid, testDay, bytes.NewReader(make([]byte, MaxNDASize+1))); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("an oversized NDA: %v", err)
	}
	if err := s.RecordNDA(sid, testDay, strings.NewReader("")); err == nil {
		t.Fatal("an empty NDA was taken")
	}
	if err := s.RecordNDA(sid, time.Time{}, strings.NewReader("x")); err == nil {
		t.Fatal("an NDA without a signing date was taken")
	}
	if !hasEntry(directoryEntries(t, s), ActionStaffNDAOpen, sid.String()) {
		t.Error("reading the NDA was not logged")
	}
	mustNoErr(t, s.Lock())

	// A chunk altered in the file does not open.
	tv.v.Close()
	edit(t, filepath.Join(tv.dir, DirectoryFile), func(tx *bolt.Tx) error {
		k := ndaKey(sid, 0)
		v := slices.Clone(tx.Bucket(bStaffNDA).Get(k))
		v[len(v)-1] ^= 1
		return tx.Bucket(bStaffNDA).Put(k, v)
	})
	tv.reopen(t)
	s = tv.unlock(t, tv.admin)
	if err := s.NDADocument(sid, &out); err == nil || !strings.Contains(err.Error(), "altered") {
		t.Fatalf("altered NDA: %v", err)
	}
}

func TestStaffAdminOnly(t *testing.T) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	h := newTestHolder(t, "Klara Kontorist", RoleHolder)
	_, err := s.Enrol(h.info)
	mustNoErr(t, err)
	hs := tv.unlock(t, h)
	if _, err := hs.AddStaff(StaffInfo{Name: "X"}); !errors.Is(err, ErrNotAdmin) {
		t.Errorf("AddStaff by a key holder: %v", err)
	}
	if _, err := hs.Staff(); !errors.Is(err, ErrNotAdmin) {
		t.Errorf("Staff by a key holder: %v", err)
	}
	if err := hs.Deactivate(ID{1}, nil); !errors.Is(err, ErrNotAdmin) {
		t.Errorf("Deactivate by a key holder: %v", err)
	}
	if err := hs.Screen(ID{1}, Screening{Status: ScreeningPending}); !errors.Is(err, ErrNotAdmin) {
		t.Errorf("Screen by a key holder: %v", err)
	}
}

// TestDeactivate: deactivating a person revokes every grant of their
// cards (rotating the keys), marks the cards inactive and logs it; their
// cards open nothing after, and an admin among them loses the directory
// key.
func TestDeactivate(t *testing.T) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	a, err := s.CreateCompartment("A")
	mustNoErr(t, err)
	b, err := s.CreateCompartment("B")
	mustNoErr(t, err)
	card1 := newTestHolder(t, "Greta Går", RoleAdmin)
	h1, err := s.Enrol(card1.info)
	mustNoErr(t, err)
	hs, err := s.Holders()
	mustNoErr(t, err)
	sid := hs[slices.IndexFunc(hs, func(h Holder) bool { return h.ID == h1 })].StaffID
	// A second card of the same person.
	card2 := newTestHolder(t, "", RoleHolder)
	card2.info.Staff, card2.info.StaffID = nil, sid
	h2, err := s.Enrol(card2.info)
	mustNoErr(t, err)
	mustNoErr(t, s.Grant(a, h1))
	mustNoErr(t, s.Grant(b, h1))
	mustNoErr(t, s.Grant(b, h2))
	other := newTestHolder(t, "Stina Stannar", RoleHolder)
	ho, err := s.Enrol(other.info)
	mustNoErr(t, err)
	mustNoErr(t, s.Grant(b, ho))
	_, err = s.AddCustomer(b, testCustomer("Kund Kundsson"))
	mustNoErr(t, err)

	mustNoErr(t, s.Deactivate(sid, nil))

	for _, cid := range []CompartmentID{a, b} {
		grants, err := s.Grants(cid)
		mustNoErr(t, err)
		if slices.Contains(grants, h1) || slices.Contains(grants, h2) {
			t.Errorf("compartment %s still granted to the deactivated cards: %v", cid, grants)
		}
		w := wrappedKey(t, tv, cid)
		for _, card := range []*testHolder{card1, card2} {
			if _, err := compartmentkey.UnwrapFor(cid, w, card.identity); !errors.Is(err, compartmentkey.ErrNotGranted) {
				t.Errorf("a deactivated card still opens compartment %s: %v", cid, err)
			}
		}
	}
	if grants, _ := s.Grants(b); !slices.Contains(grants, ho) {
		t.Error("the other holder lost compartment B")
	}
	var wrapped []byte
	tv.v.db.View(func(tx *bolt.Tx) error { wrapped = get(tx.Bucket(bMeta), kDirKey); return nil })
	if _, err := compartmentkey.UnwrapFor(tv.v.dirID, wrapped, card1.identity); !errors.Is(err, compartmentkey.ErrNotGranted) {
		t.Errorf("the deactivated admin still opens the directory key: %v", err)
	}
	for _, card := range []*testHolder{card1, card2} {
		if _, err := tv.v.Unlock(card.identity, card.signer); !errors.Is(err, ErrDeactivated) {
			t.Errorf("a deactivated card unlocks: %v", err)
		}
	}
	if err := s.Grant(a, h1); !errors.Is(err, ErrDeactivated) {
		t.Errorf("granting a deactivated card: %v", err)
	}
	if err := s.CheckEnrolment(sid); err == nil || !strings.Contains(err.Error(), "deactivated") {
		t.Errorf("enrolling a deactivated person: %v", err)
	}
	staff, err := s.Staff()
	mustNoErr(t, err)
	for _, m := range staff {
		if m.ID == sid && m.Active {
			t.Error("the staff record is still active")
		}
	}
	hs, err = s.Holders()
	mustNoErr(t, err)
	for _, h := range hs {
		if (h.ID == h1 || h.ID == h2) != h.Inactive {
			t.Errorf("holder %s inactive = %v", h.ID, h.Inactive)
		}
	}
	if !hasEntry(directoryEntries(t, s), ActionStaffDeactivate, sid.String()) {
		t.Error("no staff-deactivate entry")
	}
	if !hasEntry(directoryEntries(t, s), ActionRevoke, a.String()) {
		t.Error("no revoke entry")
	}
	// The other holder still works; the admin session still verifies.
	os2 := tv.unlock(t, other)
	if cs, err := os2.Compartments(); err != nil || len(cs) != 1 || !cs[0].Unlocked {
		t.Errorf("the other holder: %+v %v", cs, err)
	}
	reports, err := s.VerifyAudit()
	mustNoErr(t, err)
	for _, r := range reports {
		if r.Err != nil {
			t.Errorf("audit: %v", r.Err)
		}
	}
}

// An admin who does not hold a compartment cannot revoke it: the
// deactivation says so, and the recovery key finishes it.
func TestDeactivateUnreachableCompartment(t *testing.T) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	h := newTestHolder(t, "Petra Partiell", RoleHolder)
	hid, err := s.Enrol(h.info)
	mustNoErr(t, err)
	admin2 := newTestHolder(t, "Adam Andra", RoleAdmin)
	_, err = s.Enrol(admin2.info)
	mustNoErr(t, err)
	cid, err := s.CreateCompartment("Bara första admin")
	mustNoErr(t, err)
	mustNoErr(t, s.Grant(cid, hid))
	hs, err := s.Holders()
	mustNoErr(t, err)
	sid := hs[slices.IndexFunc(hs, func(x Holder) bool { return x.ID == hid })].StaffID
	mustNoErr(t, s.Lock())

	s2 := tv.unlock(t, admin2)
	err = s2.Deactivate(sid, nil)
	if err == nil || !strings.Contains(err.Error(), cid.String()) || !strings.Contains(err.Error(), "recovery key") {
		t.Fatalf("deactivation without the compartment's key: %v", err)
	}
	mustNoErr(t, s2.Lock())
	if _, err := tv.v.Unlock(h.identity, h.signer); !errors.Is(err, ErrDeactivated) {
		t.Errorf("the card unlocks after a partial deactivation: %v", err)
	}
	rs, err := tv.v.Unlock(tv.recovery, nil)
	mustNoErr(t, err)
	defer rs.Lock()
	mustNoErr(t, rs.Deactivate(sid, nil))
	if _, err := compartmentkey.UnwrapFor(cid, wrappedKey(t, tv, cid), h.identity); !errors.Is(err, compartmentkey.ErrNotGranted) {
		t.Errorf("the card still opens the compartment: %v", err)
	}
}

// TestStaffCanary: names, titles, screeners and NDA contents appear in no
// byte of the vault folder.
func TestStaffCanary(t *testing.T) {
	tv := newTestVault(t)
	tv.v.Close()
	admin := newTestHolder(t, "Kanarieadmin Först", RoleAdmin)
	admin.info.Staff = &StaffInfo{Name: "Kanarieadmin Först", Title: "Kanarietitel",
		Screening: Screening{Status: ScreeningPassed, Date: testDay, By: "Kanariegranskare Ett"},
		NDASigned: testDay, NDADocument: []byte("KANARIEAVTAL första admin " + strings.Repeat("kanarieklausul ", 100))}
	dir := filepath.Join(t.TempDir(), "v")
	v, err := Create(dir, tv.recovery, admin.info)
	mustNoErr(t, err)
	tv = &testVault{dir: dir, v: v, recovery: tv.recovery, admin: admin}
	t.Cleanup(func() { v.Close() })
	s := tv.unlock(t, admin)
	sid, err := s.AddStaff(StaffInfo{Name: "Kanarieperson Två", Title: "Kanarieroll"})
	mustNoErr(t, err)
	mustNoErr(t, s.Screen(sid, Screening{Status: ScreeningPassed, Date: testDay, By: "Kanariegranskare Två"}))
	big := bytes.Repeat([]byte("KanarieNDA-innehåll "), NDAChunk/10)
	mustNoErr(t, s.RecordNDA(sid, testDay, bytes.NewReader(big)))
	h := newTestHolder(t, "", RoleHolder)
	h.info.Staff, h.info.StaffID = nil, sid
	_, err = s.Enrol(h.info)
	mustNoErr(t, err)
	cid, err := s.CreateCompartment("Kanariefack")
	mustNoErr(t, err)
	mustNoErr(t, s.Deactivate(sid, nil))
	_ = cid
	mustNoErr(t, s.Lock())
	mustNoErr(t, tv.v.Close())

	files, err := os.ReadDir(dir)
	mustNoErr(t, err)
	for _, f := range files {
		lower := bytes.ToLower(readFile(t, filepath.Join(dir, f.Name())))
		for _, word := range []string{"kanarie", "först", "granskare", "avtal", "innehåll", "klausul"} {
			if bytes.Contains(lower, []byte(word)) {
				t.Errorf("%s contains %q", f.Name(), word)
			}
		}
	}
}

func TestLinkHolder(t *testing.T) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	h := newTestHolder(t, "Lina Länk", RoleHolder)
	hid, err := s.Enrol(h.info)
	mustNoErr(t, err)
	uncleared, err := s.AddStaff(StaffInfo{Name: "Ulla Ogranskad"})
	mustNoErr(t, err)
	if err := s.LinkHolder(hid, uncleared); !errors.Is(err, ErrNotScreened) {
		t.Fatalf("linking to an unscreened person: %v", err)
	}
	cleared, err := s.AddStaff(*clearedStaff("Lina Länk (ny post)"))
	mustNoErr(t, err)
	mustNoErr(t, s.LinkHolder(hid, cleared))
	staff, err := s.Staff()
	mustNoErr(t, err)
	for _, m := range staff {
		if got := slices.Contains(m.Holders, hid); got != (m.ID == cleared) {
			t.Errorf("staff %s lists holder: %v", m.ID, got)
		}
	}
	if !hasEntry(directoryEntries(t, s), ActionStaffLink, cleared.String()) {
		t.Error("no staff-link entry")
	}
}
