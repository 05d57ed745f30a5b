package store

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/valv-vault/valv/store/customer"
)

// TestCanary fills a vault with canary strings in every field a person
// types, edits and rotates, and finds none of them in any byte of the
// vault folder: not in live pages, not in free pages, not in any form
// (as typed, normalized, digits only, lower or upper case).
func TestCanary(t *testing.T) {
	canaries := []string{
		"Zebulonia Kanarieström", // customer name
		"Kanariefack Privat",     // compartment names
		"Kanariefack Företag",    //
		"Ingrid Kanarieadmin",    // staff names
		"Hjalmar Kanariehandläggare",
		"kanarietagg-vip",                                            // tags
		"KanarieAnteckning om kunden",                                // notes
		"Kanariegatan 17",                                            // address
		"kanarie.kund@kanarieexempel.se",                             // e-mail
		"19811228-9874", "198112289874", "8112289874", "811228-9874", // personnummer
		"556012-5790", "5560125790", // organisationsnummer
		"4539578763621486", "4539 5787 6362 1486", // card
		"SE4550000000058398257466", "58398257466", // account
		"0701234567", "070-123 45 67", // phone
	}
	tv := newTestVault(t)
	tv.v.Close()
	// Re-create with a canary admin name.
	admin := newTestHolder(t, "Ingrid Kanarieadmin", RoleAdmin)
	dir := filepath.Join(t.TempDir(), "v")
	v, err := Create(dir, tv.recovery, admin.info)
	mustNoErr(t, err)
	tv = &testVault{dir: dir, v: v, recovery: tv.recovery, admin: admin}
	t.Cleanup(func() { v.Close() })

	s := tv.unlock(t, admin)
	a, err := s.CreateCompartment("Kanariefack Privat")
	mustNoErr(t, err)
	b, err := s.CreateCompartment("Kanariefack Företag")
	mustNoErr(t, err)
	h := newTestHolder(t, "Hjalmar Kanariehandläggare", RoleHolder)
	hid, err := s.Enrol(h.info)
	mustNoErr(t, err)
	mustNoErr(t, s.Grant(a, hid))
	c := customer.Customer{
		Name:           "Zebulonia Kanarieström",
		PersonalNumber: "811228-9874",
		OrgNumber:      "556012-5790",
		Addresses:      []string{"Kanariegatan 17\n123 45 Kanarieby"},
		Phone:          "070-123 45 67",
		Email:          "kanarie.kund@kanarieexempel.se",
		Cards:          []string{"4539 5787 6362 1486"},
		Accounts:       []string{"SE45 5000 0000 0583 9825 7466"},
		Notes:          "KanarieAnteckning om kunden",
		Tags:           []string{"kanarietagg-vip"},
	}
	code, err := s.AddCustomer(a, c)
	mustNoErr(t, err)
	_, err = s.AddCustomer(b, c)
	mustNoErr(t, err)
	_, err = s.EditCustomer(code, func(c *customer.Customer) error { c.Notes += " (ändrad)"; return nil })
	mustNoErr(t, err)
	_, err = s.ViewCustomer(code)
	mustNoErr(t, err)
	mustNoErr(t, s.Lock())
	hs := tv.unlock(t, h)
	_, err = hs.RevealCustomer(code)
	mustNoErr(t, err)
	mustNoErr(t, hs.Lock())
	s = tv.unlock(t, admin)
	mustNoErr(t, s.Revoke(a, hid, nil))
	mustNoErr(t, s.Lock())
	mustNoErr(t, tv.v.Close())

	files, err := os.ReadDir(dir)
	mustNoErr(t, err)
	if len(files) != 3 {
		t.Errorf("vault folder holds %d files; want 3", len(files))
	}
	for _, f := range files {
		data := readFile(t, filepath.Join(dir, f.Name()))
		lower := bytes.ToLower(data)
		for _, c := range canaries {
			for _, form := range []string{c, strings.ToLower(c), strings.ToUpper(c)} {
				if bytes.Contains(data, []byte(form)) || bytes.Contains(lower, []byte(strings.ToLower(form))) {
					t.Errorf("%s contains %q", f.Name(), form)
				}
			}
		}
		for _, word := range []string{"kanarie", "zebulon", "ingrid", "hjalmar"} {
			if bytes.Contains(lower, []byte(word)) {
				t.Errorf("%s contains %q", f.Name(), word)
			}
		}
	}
}
