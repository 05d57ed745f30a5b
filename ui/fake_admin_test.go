package ui

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/valv-vault/valv/store/service"
)

// fakeAdmin is the fake service's state for the admin screens: the first
// run, key holders and grants, the staff register, the audit log and
// the network interfaces.
type fakeAdmin struct {
	noVault  bool
	notAdmin bool

	// First run.
	groups  []string // the fake recovery key's groups, as on the sheet
	check   []service.GroupRef
	kept    bool
	saved   string // the folder SaveRecovery wrote to
	created *FirstAdmin

	holders []KeyHolder
	grants  map[string][]ID // by compartment id
	staff   []StaffMember
	audit   []AuditEntry
	bad     *service.AuditError // VerifyAudit's verdict, nil: good

	sysNet string // a /sys/class/net layout for AirGap; "": isolated

	afterProgress func() // called after each progress report of Revoke
}

// fakeDay is the date of everything in the fake vault.
var fakeDay = time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)

func fakeID(i byte) ID {
	var id ID
	for j := range id {
		id[j] = i*16 + byte(j)
	}
	return id
}

func newFakeAdmin(comps []Compartment) *fakeAdmin {
	a := &fakeAdmin{grants: map[string][]ID{}}
	for i := range 15 {
		a.groups = append(a.groups, fmt.Sprintf("G%03d", i))
	}
	a.check = []service.GroupRef{{Line: 1, Group: 2}, {Line: 3, Group: 4}}
	astrid, bo := fakeID(1), fakeID(2)
	a.holders = []KeyHolder{
		{ID: astrid, Name: "Astrid Admin", Serial: 10000001, Admin: true, Staff: fakeID(7)},
		{ID: bo, Name: "Bo Berg", Serial: 10000002, Staff: fakeID(8)},
	}
	passed := Screening{Status: service.ScreeningPassed, Date: fakeDay.AddDate(0, 0, -5), By: "Sigrid Säkerhet"}
	nda := &service.NDA{Signed: fakeDay.AddDate(0, 0, -5), Size: 2048}
	a.staff = []StaffMember{
		{ID: fakeID(7), Name: "Astrid Admin", Title: "Compliance officer", Screening: passed, NDA: nda, Active: true, Holders: []ID{astrid}, Added: fakeDay},
		{ID: fakeID(8), Name: "Bo Berg", Title: "Handläggare", Screening: passed, NDA: nda, Active: true, Holders: []ID{bo}, Added: fakeDay},
		{ID: fakeID(9), Name: "Cecilia Ek", Title: "Praktikant", Screening: Screening{Status: service.ScreeningPending}, Active: true, Added: fakeDay},
	}
	if len(comps) < 2 {
		return a // a fake with no vault contents (cards_screen_test.go)
	}
	a.grants[comps[0].ID] = []ID{astrid, bo}
	a.grants[comps[1].ID] = []ID{astrid}
	entry := func(log string, seq uint64, min int, holder ID, action, object string, count int64) AuditEntry {
		var e AuditEntry
		e.Log, e.Seq, e.Time, e.Holder, e.Action, e.Object, e.Count = log, seq, fakeDay.Add(time.Duration(min)*time.Minute), holder, service.Action(action), object, count
		return e
	}
	n, s := comps[0].ID, comps[1].ID
	a.audit = []AuditEntry{
		entry(service.DirectoryLog, 0, 0, astrid, "vault-create", "", 0),
		entry(service.DirectoryLog, 1, 0, astrid, "enrol", astrid.String(), 0),
		entry(service.DirectoryLog, 2, 5, astrid, "compartment-create", n, 0),
		entry(service.DirectoryLog, 3, 6, astrid, "compartment-create", s, 0),
		entry(service.DirectoryLog, 4, 30, astrid, "enrol", bo.String(), 0),
		entry(service.DirectoryLog, 5, 31, astrid, "grant", n, 0),
		entry(n, 0, 5, astrid, "compartment-create", "", 0),
		entry(n, 1, 31, astrid, "grant", bo.String(), 0),
		entry(n, 2, 60+24*60, bo, "list", "", 3),
		entry(n, 3, 62+24*60, bo, "view", string(fakeCode(0)), 0),
		entry(n, 4, 63+24*60, bo, "reveal", string(fakeCode(0)), 0),
		entry(s, 0, 6, astrid, "compartment-create", "", 0),
		entry(s, 1, 90+48*60, astrid, "reveal", string(fakeCode(1)), 0),
	}
	return a
}

// admin returns the admin state; f.mu is held.
func (f *fakeService) admin() *fakeAdmin {
	if f.adm == nil {
		f.adm = newFakeAdmin(f.comps)
	}
	return f.adm
}

// withAdmin runs fn on the admin state with f.mu held, after the check of
// an unlocked session (what names the call).
func (f *fakeService) withAdmin(what string, fn func(a *fakeAdmin) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(what); err != nil {
		return err
	}
	return fn(f.admin())
}

func (f *fakeService) HasVault() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.admin().noVault
}

func (f *fakeService) NewRecoveryKey() (RecoverySheet, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.admin()
	text := "VALV RECOVERY KEY (fake)\n\nSecret key:\n  AGE-SECRET-KEY-1\n"
	for l := 0; l < 3; l++ {
		text += fmt.Sprintf("  %d: %s\n", l+1, strings.Join(a.groups[l*5:l*5+5], " "))
	}
	return RecoverySheet{Public: "age1fake", Text: text, Check: a.check}, nil
}

// answer is the group the check asks for.
func (a *fakeAdmin) answer(g service.GroupRef) string { return a.groups[(g.Line-1)*5+g.Group-1] }

func (f *fakeService) SaveRecovery(dir, passphrase string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if passphrase != "" && len(passphrase) < service.MinRecoveryPassphrase {
		return nil, errors.New("the passphrase of the protected copy must be at least 12 characters; nothing was saved")
	}
	f.admin().saved = dir
	return []string{dir + "/" + service.RecoveryKeyFile, dir + "/" + service.RecoverySheetFile}, nil
}

func (f *fakeService) ConfirmRecovery(answers []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.admin()
	for i, g := range a.check {
		if i >= len(answers) || strings.ToUpper(strings.TrimSpace(answers[i])) != a.answer(g) {
			return errors.New("the groups typed back do not match the recovery key: check your copy")
		}
	}
	a.kept = true
	return nil
}

func (f *fakeService) CreateVault(fa FirstAdmin) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.admin()
	switch {
	case !a.kept:
		return service.ErrRecoveryNotKept
	case fa.PIN != "123456":
		return &service.WrongPINError{Left: 2}
	case strings.TrimSpace(fa.Name) == "":
		return errors.New("store: a staff member needs a name")
	}
	a.created = &fa
	a.noVault = false
	f.pin, f.puk = fa.NewPIN, fa.NewPUK
	f.unlocked = true
	f.removed = make(chan struct{})
	return nil
}

func (f *fakeService) IsAdmin() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.unlocked && !f.admin().notAdmin
}

func (f *fakeService) KeyHolders() ([]KeyHolder, error) {
	var out []KeyHolder
	err := f.withAdmin("holders", func(a *fakeAdmin) error {
		out = slices.Clone(a.holders)
		return nil
	})
	return out, err
}

func (f *fakeService) AllCompartments() ([]CompartmentAccess, error) {
	var out []CompartmentAccess
	err := f.withAdmin("allcompartments", func(a *fakeAdmin) error {
		for _, c := range f.comps {
			out = append(out, CompartmentAccess{ID: c.ID, Name: c.Name, Unlocked: true, Holders: slices.Clone(a.grants[c.ID])})
		}
		return nil
	})
	return out, err
}

func (f *fakeService) CreateCompartment(name string) (string, error) {
	var id string
	err := f.withAdmin("create-compartment", func(a *fakeAdmin) error {
		if a.notAdmin {
			return errors.New("store: this needs an admin's card or the recovery key")
		}
		id = fmt.Sprintf("%032x", len(f.comps)+0xc0)
		f.comps = append(f.comps, Compartment{ID: id, Name: name})
		a.grants[id] = []ID{a.holders[0].ID}
		return nil
	})
	return id, err
}

func (f *fakeService) Grant(cid string, holder ID) error {
	return f.withAdmin("grant", func(a *fakeAdmin) error {
		if slices.Contains(a.grants[cid], holder) {
			return fmt.Errorf("store: key holder %s already holds compartment %s", holder, cid)
		}
		a.grants[cid] = append(a.grants[cid], holder)
		return nil
	})
}

// revokeValues is how many values the fake re-encrypts in a revocation.
const revokeValues = 12

func (f *fakeService) Revoke(cid string, holder ID, progress Progress) error {
	return f.withAdmin("revoke", func(a *fakeAdmin) error {
		i := slices.Index(a.grants[cid], holder)
		if i < 0 {
			return fmt.Errorf("store: key holder %s does not hold compartment %s", holder, cid)
		}
		for done := 0; done <= revokeValues; done += 4 {
			if progress != nil {
				progress(done, revokeValues)
			}
			if a.afterProgress != nil {
				a.afterProgress()
			}
		}
		a.grants[cid] = slices.Delete(a.grants[cid], i, i+1)
		return nil
	})
}

func (f *fakeService) Staff() ([]StaffMember, error) {
	var out []StaffMember
	err := f.withAdmin("staff", func(a *fakeAdmin) error {
		out = slices.Clone(a.staff)
		return nil
	})
	return out, err
}

func (a *fakeAdmin) member(id ID) (*StaffMember, error) {
	for i := range a.staff {
		if a.staff[i].ID == id {
			return &a.staff[i], nil
		}
	}
	return nil, fmt.Errorf("store: no staff member %s", id)
}

func (f *fakeService) AddStaff(name, title string) (ID, error) {
	var id ID
	err := f.withAdmin("staff-add", func(a *fakeAdmin) error {
		if strings.TrimSpace(name) == "" {
			return errors.New("store: a staff member needs a name")
		}
		id = fakeID(byte(10 + len(a.staff)))
		a.staff = append(a.staff, StaffMember{ID: id, Name: name, Title: title, Screening: Screening{Status: service.ScreeningPending}, Active: true, Added: fakeDay})
		return nil
	})
	return id, err
}

func (f *fakeService) Screen(id ID, sc Screening) error {
	return f.withAdmin("staff-screen", func(a *fakeAdmin) error {
		m, err := a.member(id)
		if err != nil {
			return err
		}
		if sc.Status != service.ScreeningPending && (sc.By == "" || sc.Date.IsZero()) {
			return errors.New("store: a staff member needs a screener's name")
		}
		m.Screening = sc
		return nil
	})
}

func (f *fakeService) RecordNDA(id ID, signed time.Time, doc []byte) error {
	return f.withAdmin("staff-nda", func(a *fakeAdmin) error {
		m, err := a.member(id)
		if err != nil {
			return err
		}
		m.NDA = &service.NDA{Signed: signed, Size: int64(len(doc))}
		return nil
	})
}

func (f *fakeService) Deactivate(id ID, progress Progress) error {
	return f.withAdmin("staff-deactivate", func(a *fakeAdmin) error {
		m, err := a.member(id)
		if err != nil {
			return err
		}
		m.Active = false
		for i := range a.holders {
			if slices.Contains(m.Holders, a.holders[i].ID) {
				a.holders[i].Inactive = true
			}
		}
		for cid, g := range a.grants {
			a.grants[cid] = slices.DeleteFunc(g, func(h ID) bool { return slices.Contains(m.Holders, h) })
		}
		if progress != nil {
			progress(revokeValues, revokeValues)
		}
		return nil
	})
}

func (a *fakeAdmin) cleared(id ID) error {
	m, err := a.member(id)
	if err != nil {
		return err
	}
	switch {
	case !m.Active:
		return fmt.Errorf("store: staff member %s was deactivated and cannot be enrolled", id)
	case m.Screening.Status == service.ScreeningFailed:
		return fmt.Errorf("store: staff member %s %w (the screening failed) and cannot be enrolled", id, service.ErrNotScreened)
	case m.Screening.Status != service.ScreeningPassed:
		return fmt.Errorf("store: staff member %s %w: record a passed screening first", id, service.ErrNotScreened)
	case m.NDA == nil:
		return fmt.Errorf("store: staff member %s %w: record it first", id, service.ErrNoNDA)
	}
	return nil
}

func (f *fakeService) CheckEnrolment(id ID) error {
	return f.withAdmin("check-enrolment", func(a *fakeAdmin) error { return a.cleared(id) })
}

func (f *fakeService) EnrolCard(e CardEnrolment) (ID, error) {
	var hid ID
	err := f.withAdmin("enrol", func(a *fakeAdmin) error {
		if err := a.cleared(e.Staff); err != nil {
			return err
		}
		if e.PIN != "123456" {
			return &service.WrongPINError{Left: 2}
		}
		hid = fakeID(byte(20 + len(a.holders)))
		a.holders = append(a.holders, KeyHolder{ID: hid, Serial: e.Serial, Admin: e.Admin, Staff: e.Staff})
		m, _ := a.member(e.Staff)
		m.Holders = append(m.Holders, hid)
		return nil
	})
	return hid, err
}

func (f *fakeService) AuditEntries() ([]AuditEntry, error) {
	var out []AuditEntry
	err := f.withAdmin("audit", func(a *fakeAdmin) error {
		out = slices.Clone(a.audit)
		return nil
	})
	return out, err
}

func (f *fakeService) VerifyAudit() ([]LogReport, error) {
	var out []LogReport
	err := f.withAdmin("verify", func(a *fakeAdmin) error {
		count := map[string]uint64{}
		for _, e := range a.audit {
			count[e.Log]++
		}
		for _, l := range []string{service.DirectoryLog, f.comps[0].ID, f.comps[1].ID} {
			r := LogReport{Log: l, Entries: count[l]}
			if a.bad != nil && a.bad.Log == l {
				r.Err = a.bad
			}
			out = append(out, r)
		}
		if a.bad != nil {
			return a.bad
		}
		return nil
	})
	return out, err
}

func (f *fakeService) AirGap() AirGapStatus {
	f.mu.Lock()
	dir := f.admin().sysNet
	f.mu.Unlock()
	if dir == "" {
		return AirGapStatus{}
	}
	return service.CheckAirGap(dir)
}

func init() {
	// Tests never read or write the user's settings file.
	defaultSettingsFile = func() string { return "" }
}
