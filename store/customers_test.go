package store

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/store/customer"
)

func testCustomer(name string) customer.Customer {
	return customer.Customer{
		Name:           name,
		PersonalNumber: "811228-9874",
		Addresses:      []string{"Storgatan 1\n111 22 Stockholm"},
		Phone:          "070-123 45 67",
		Email:          "kund@example.se",
		Cards:          []string{"4111 1111 1111 1111"},
		Accounts:       []string{"SE45 5000 0000 0583 9825 7466"},
		Notes:          "anteckning",
		Tags:           []string{"vip"},
		RetainUntil:    "2036-12-31",
	}
}

func TestCustomerLifecycle(t *testing.T) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	cid, err := s.CreateCompartment("A")
	mustNoErr(t, err)
	code, err := s.AddCustomer(cid, testCustomer("Åsa Öberg"))
	mustNoErr(t, err)
	if !code.Valid() {
		t.Fatalf("code %q", code)
	}

	codes, total, err := s.ListCustomers(cid, 0, 10)
	mustNoErr(t, err)
	if total != 1 || len(codes) != 1 || codes[0] != code {
		t.Fatalf("ListCustomers = %v, %d", codes, total)
	}

	v, err := s.ViewCustomer(customer.Code(strings.ToLower(string(code))))
	mustNoErr(t, err)
	if !v.Masked || v.Customer.PersonalNumber != "19811228-****" || v.Customer.Cards[0] != "411111******1111" ||
		v.Customer.Name != "Åsa Öberg" || v.Version != 1 || v.Holder != s.Actor() {
		t.Fatalf("ViewCustomer = %+v", v)
	}
	r, err := s.RevealCustomer(code)
	mustNoErr(t, err)
	if r.Masked || r.Customer.PersonalNumber != "19811228-9874" || r.Customer.Cards[0] != "4111111111111111" {
		t.Fatalf("RevealCustomer = %+v", r)
	}

	// A valid edit makes version 2 and keeps version 1.
	e, err := s.EditCustomer(code, func(c *customer.Customer) error {
		c.Phone = "08-123 456 78"
		c.Code = "ZZZZ-ZZZZ-Z" // ignored: codes never change
		return nil
	})
	mustNoErr(t, err)
	if e.Version != 2 || e.Customer.Phone != "08-123 456 78" || e.Customer.Code != code {
		t.Fatalf("EditCustomer = %+v", e)
	}
	// An invalid edit changes nothing and says which field.
	_, err = s.EditCustomer(code, func(c *customer.Customer) error {
		c.Cards = append(c.Cards, "4111 1111 1111 1112")
		c.Email = "nope"
		return nil
	})
	fe, ok := customer.AsFieldErrors(err)
	if !ok || fe.For("cards[1]") == "" || fe.For("email") == "" {
		t.Fatalf("invalid edit: %v", err)
	}
	hist, err := s.CustomerHistory(code, false)
	mustNoErr(t, err)
	if len(hist) != 2 || hist[0].Version != 2 || hist[1].Version != 1 || hist[1].Customer.Phone != "070-123 45 67" || !hist[1].Masked {
		t.Fatalf("CustomerHistory = %+v", hist)
	}

	// Typos and unknown codes.
	bad := string(code[:10]) + string("0123456789ABCDEFGHJKMNPQRSTVWXYZ"[(strings.IndexByte("0123456789ABCDEFGHJKMNPQRSTVWXYZ", code[10])+1)%32])
	if _, err := s.ViewCustomer(customer.Code(bad)); !errors.Is(err, customer.ErrCodeCheck) {
		t.Errorf("typo: %v", err)
	}
	if _, err := s.ViewCustomer(customer.NewCode()); !errors.Is(err, ErrNoCustomer) {
		t.Errorf("unknown: %v", err)
	}

	// A given code that is taken, and a batch with errors, write nothing.
	given := testCustomer("Ny")
	given.Code = code
	if _, err := s.AddCustomer(cid, given); !errors.Is(err, ErrCodeTaken) {
		t.Errorf("taken code: %v", err)
	}
	batch := []customer.Customer{testCustomer("Ett"), {Name: ""}, testCustomer("Tre")}
	batch[2].PersonalNumber = "121212-1213"
	_, err = s.AddCustomers(cid, batch)
	var rows RowErrors
	if !errors.As(err, &rows) || len(rows) != 2 || rows[0].Row != 1 || rows[1].Row != 2 || rows[1].Fields.For("personnummer") == "" {
		t.Fatalf("AddCustomers with errors = %v", err)
	}
	if _, total, _ := s.ListCustomers(cid, 0, 0); total != 1 {
		t.Fatalf("a failed batch wrote %d customers", total-1)
	}

	mustNoErr(t, s.DeleteCustomer(code))
	if _, err := s.ViewCustomer(code); !errors.Is(err, ErrNoCustomer) {
		t.Errorf("view after delete: %v", err)
	}

	// Every action above is in the audit log, with codes only.
	var actions []string
	mustNoErr(t, s.ExportAudit(func(e ExportedEntry) error {
		if e.Log == cid.String() {
			actions = append(actions, string(e.Action))
		}
		return nil
	}))
	want := "compartment-create add list view reveal edit history list delete"
	if got := strings.Join(actions, " "); got != want {
		t.Errorf("audit actions:\n got %s\nwant %s", got, want)
	}
}

func TestCodesUniqueAcrossCompartments(t *testing.T) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	a, err := s.CreateCompartment("A")
	mustNoErr(t, err)
	b, err := s.CreateCompartment("B")
	mustNoErr(t, err)
	code, err := s.AddCustomer(a, testCustomer("Ett"))
	mustNoErr(t, err)
	c := testCustomer("Två")
	c.Code = code
	if _, err := s.AddCustomer(b, c); !errors.Is(err, ErrCodeTaken) {
		t.Fatalf("same code in another compartment: %v", err)
	}
	c.Code = customer.Code(strings.ToLower(string(customer.NewCode())))
	got, err := s.AddCustomer(b, c)
	mustNoErr(t, err)
	if string(got) != strings.ToUpper(string(c.Code)) {
		t.Fatalf("given code stored as %q", got)
	}
}

// A sealed record copied over another record (or into another
// compartment) does not open.
func TestSealedValueMovedFailsToOpen(t *testing.T) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	a, err := s.CreateCompartment("A")
	mustNoErr(t, err)
	b, err := s.CreateCompartment("B")
	mustNoErr(t, err)
	c1, err := s.AddCustomer(a, testCustomer("Ett"))
	mustNoErr(t, err)
	c2, err := s.AddCustomer(a, testCustomer("Två"))
	mustNoErr(t, err)
	c3, err := s.AddCustomer(b, testCustomer("Tre"))
	mustNoErr(t, err)
	_, rid1, err := s.locate(c1)
	mustNoErr(t, err)
	_, rid2, err := s.locate(c2)
	mustNoErr(t, err)
	_, rid3, err := s.locate(c3)
	mustNoErr(t, err)
	mustNoErr(t, s.Lock())
	tv.v.Close()

	var sealed1 []byte
	edit(t, compartmentPath(tv.dir, a), func(tx *bolt.Tx) error {
		b := tx.Bucket(bCustomers)
		sealed1 = get(b, rid1)
		return b.Put(rid2, sealed1)
	})
	edit(t, compartmentPath(tv.dir, b), func(tx *bolt.Tx) error {
		return tx.Bucket(bCustomers).Put(rid3, sealed1)
	})
	tv.reopen(t)
	s = tv.unlock(t, tv.admin)
	if _, err := s.RevealCustomer(c1); err != nil {
		t.Fatalf("the original no longer opens: %v", err)
	}
	for _, c := range []customer.Code{c2, c3} {
		if _, err := s.RevealCustomer(c); err == nil || !strings.Contains(err.Error(), "does not open") {
			t.Errorf("moved record %s: %v", c, err)
		}
	}
	// A version number changed in the clear is caught too.
	mustNoErr(t, s.Lock())
	tv.v.Close()
	edit(t, compartmentPath(tv.dir, a), func(tx *bolt.Tx) error {
		b := tx.Bucket(bCustomers)
		v := get(b, rid1)
		binary.BigEndian.PutUint64(v, 7)
		return b.Put(rid1, v)
	})
	tv.reopen(t)
	s = tv.unlock(t, tv.admin)
	if _, err := s.RevealCustomer(c1); err == nil {
		t.Error("a record with a changed version opened")
	}
}
