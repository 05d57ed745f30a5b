package store

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/valv-vault/valv/store/customer"
	"github.com/valv-vault/valv/store/customercsv"
)

// auditActions returns the entries of a compartment's log, by action.
func auditActions(t testing.TB, s *Session, cid CompartmentID) map[Action][]Entry {
	t.Helper()
	m := make(map[Action][]Entry)
	mustNoErr(t, s.ExportAudit(func(e ExportedEntry) error {
		if e.Log == cid.String() {
			m[e.Action] = append(m[e.Action], e.Entry)
		}
		return nil
	}))
	return m
}

func importCSV(t testing.TB, s *Session, cid CompartmentID, file string) (ImportResult, []*customercsv.RowError) {
	t.Helper()
	rows, bad, err := customercsv.ReadAll(strings.NewReader(file), customercsv.Options{})
	mustNoErr(t, err)
	in := make([]ImportRow, len(rows))
	for i, r := range rows {
		in[i] = ImportRow{Line: r.Line, Customer: r.Customer}
	}
	res, err := s.ImportCustomers(cid, in)
	mustNoErr(t, err)
	return res, bad
}

// Invalid rows are reported with their line and field, valid rows are
// added; the log has one import entry and an add per customer.
func TestImportCustomersKeepsValidRows(t *testing.T) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	a, err := s.CreateCompartment("A")
	mustNoErr(t, err)
	b, err := s.CreateCompartment("B")
	mustNoErr(t, err)
	taken, err := s.AddCustomer(b, customer.Customer{Name: "In B"})
	mustNoErr(t, err)
	given := customer.NewCode()
	file := "Kod;Namn;Personnummer;Kort;Konto;E-post\r\n" +
		";Anna Svensson;811228-9874;4111 1111 1111 1111;SE45 5000 0000 0583 9825 7466;anna@example.se\r\n" + // 2 ok
		";Bo Luhn;811228-9875;;;\r\n" + // 3 bad personnummer check digit
		";Cilla Iban;;;SE45 5000 0000 0583 9825 7467;\r\n" + // 4 bad IBAN
		";;;;;\r\n" + // 5 blank: skipped
		";;;4111 1111 1111 1112;;\r\n" + // 6 no name, bad card
		strings.ToLower(string(given)) + ";Dan Kod;;;;\r\n" + // 7 ok, given code (forgivingly written)
		string(given) + ";Dubbel Kod;;;;\r\n" + // 8 same code as line 7
		string(taken) + ";Tagen Kod;;;;\r\n" + // 9 code used in B
		"K7Q3-MX9R-3;Fel Kod;;;;\r\n" + // 10 bad check character
		";Eva Ek;;;;eva@example\r\n" + // 11 bad e-mail
		";Fia Fel;;;;\"fia\r\n@example.se\"\r\n" + // 12 e-mail on two lines (13)
		";Gun Gran;;;;\r\n" // 14 ok
	res, bad := importCSV(t, s, a, file)
	if len(bad) != 0 {
		t.Fatalf("parse errors: %v", bad)
	}
	if res.Added != 3 || len(res.Codes) != 11 {
		t.Fatalf("added %d of %d", res.Added, len(res.Codes))
	}
	want := map[int]string{3: "personnummer", 4: "accounts[0]", 6: "name", 8: "code", 9: "code", 10: "code", 11: "email", 12: "email"}
	var lines []int
	for _, r := range res.Rejected {
		lines = append(lines, r.Line)
		if r.Fields.For(want[r.Line]) == "" {
			t.Errorf("line %d: %v, want an error for %s", r.Line, r.Fields, want[r.Line])
		}
		if strings.Contains(r.Error(), "9875") || strings.Contains(r.Error(), "7467") {
			t.Errorf("an error quotes a value: %v", r)
		}
	}
	if !reflect.DeepEqual(lines, []int{3, 4, 6, 8, 9, 10, 11, 12}) {
		t.Fatalf("rejected lines %v", lines)
	}
	for _, r := range res.Rejected {
		t.Logf("%v", r)
	}
	if !strings.Contains(res.Rejected[3].Error(), "line 8: code: the same code as line 7") || res.Rejected[2].Fields.For("cards[0]") == "" {
		t.Errorf("%v / %v", res.Rejected[3], res.Rejected[2])
	}
	if res.Codes[4] != given || res.Codes[0] == "" || res.Codes[1] != "" {
		t.Fatalf("codes %v", res.Codes)
	}
	r, err := s.RevealCustomer(res.Codes[0])
	mustNoErr(t, err)
	if r.Customer.PersonalNumber != "19811228-9874" || r.Customer.Accounts[0] != "SE4550000000058398257466" || r.Compartment != a {
		t.Fatalf("stored %+v", r)
	}
	acts := auditActions(t, s, a)
	if len(acts[ActionImport]) != 1 || acts[ActionImport][0].Count != 3 || acts[ActionImport][0].Object != "" || len(acts[ActionAdd]) != 3 {
		t.Fatalf("audit: %v", acts)
	}
	// The import entry follows the adds, in the same transaction.
	if acts[ActionImport][0].Seq != acts[ActionAdd][2].Seq+1 {
		t.Fatalf("import entry %d after adds %v", acts[ActionImport][0].Seq, acts[ActionAdd])
	}

	// Nothing valid: nothing added, the attempt logged.
	res, _ = importCSV(t, s, a, "name,personnummer\nX,811228-9875\n")
	if res.Added != 0 || len(res.Rejected) != 1 {
		t.Fatalf("%+v", res)
	}
	acts = auditActions(t, s, a)
	if len(acts[ActionImport]) != 2 || acts[ActionImport][1].Count != 0 || len(acts[ActionAdd]) != 3 {
		t.Fatalf("audit: %v", acts)
	}
	_, total, err := s.ListCustomers(a, 0, 0)
	mustNoErr(t, err)
	if total != 3 {
		t.Fatalf("%d customers", total)
	}
}

func TestExportVariants(t *testing.T) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	a, err := s.CreateCompartment("A")
	mustNoErr(t, err)
	codes, err := s.AddCustomers(a, benchCustomers(50))
	mustNoErr(t, err)
	for _, tc := range []struct {
		v      ExportVariant
		action Action
		check  func(Record) bool
	}{
		{ExportCodes, "csv-export", func(r Record) bool {
			return r.Customer.Name == "" && r.Customer.PersonalNumber == "" && r.Customer.Cards == nil && r.Customer.RetainUntil == "2036-12-31"
		}},
		{ExportMasked, "csv-export-names", func(r Record) bool {
			return strings.HasPrefix(r.Customer.Name, "Kund") && r.Customer.PersonalNumber == "19811228-****" && r.Customer.Cards[0] == "411111******1111" && r.Masked
		}},
		{ExportRevealed, "csv-export-reveal", func(r Record) bool {
			return r.Customer.PersonalNumber == "19811228-9874" && r.Customer.Cards[0] == "4111111111111111" && !r.Masked
		}},
	} {
		var got []customer.Code
		n, err := s.ExportCustomers(a, tc.v, func(r Record) error {
			if !tc.check(r) || r.Version != 1 || r.Compartment != a || r.Time.IsZero() {
				t.Fatalf("%s: %+v", tc.action, r)
			}
			got = append(got, r.Customer.Code)
			return nil
		})
		mustNoErr(t, err)
		if n != 50 || len(got) != 50 {
			t.Fatalf("%s: %d", tc.action, n)
		}
		want := append([]customer.Code(nil), codes...)
		slices.Sort(want)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: not in code order", tc.action)
		}
		acts := auditActions(t, s, a)
		if e := acts[tc.action]; len(e) != 1 || e[0].Count != 50 {
			t.Fatalf("%s: audit %v", tc.action, e)
		}
	}
	// fn's error stops the export, which stays logged.
	stop := errors.New("disk full")
	n, err := s.ExportCustomers(a, ExportRevealed, func(Record) error { return stop })
	if n != 0 || !errors.Is(err, stop) {
		t.Fatalf("%d %v", n, err)
	}
	if len(auditActions(t, s, a)[ActionExportReveal]) != 2 {
		t.Fatal("the failed export is not logged")
	}
}

// Export with names, unmasked, as CSV, then import into a compartment of
// another vault: the records are equal, codes included.
func TestCSVRoundTrip(t *testing.T) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	a, err := s.CreateCompartment("A")
	mustNoErr(t, err)
	cs := benchCustomers(200)
	cs[0].Notes = "=HYPERLINK(\"http://x\")\nrad två; med \"citat\", komma"
	cs[1].Phone = "+46 8 123 45 67"
	cs[2].Addresses = []string{"c/o Ek\nGata 1\n111 22 Ort", "Box 3\n222 33 By"}
	cs[3].Tags = []string{"-minus", "@at", "vanlig tagg"}
	cs[4].Cards = append(cs[4].Cards, "5555 5555 5555 4444")
	cs[5].OrgNumber = "556036-0793"
	cs[6] = customer.Customer{Name: "Bara Namn"}
	_, err = s.AddCustomers(a, cs)
	mustNoErr(t, err)
	for _, excel := range []bool{false, true} {
		var buf bytes.Buffer
		w := customercsv.NewWriter(&buf, customercsv.WriterOptions{Names: true, Excel: excel})
		var want []customer.Customer
		_, err = s.ExportCustomers(a, ExportRevealed, func(r Record) error {
			want = append(want, r.Customer)
			return w.Write(customercsv.ExportRow{Customer: r.Customer, Compartment: r.Compartment.String(), Version: r.Version, Updated: r.Time})
		})
		mustNoErr(t, err)
		mustNoErr(t, w.Flush())

		tv2 := newTestVault(t)
		s2 := tv2.unlock(t, tv2.admin)
		b, err := s2.CreateCompartment("B")
		mustNoErr(t, err)
		res, bad := importCSV(t, s2, b, buf.String())
		if len(bad) != 0 || len(res.Rejected) != 0 || res.Added != len(cs) {
			t.Fatalf("excel %v: bad %v rejected %v", excel, bad, res.Rejected)
		}
		var got []customer.Customer
		_, err = s2.ExportCustomers(b, ExportRevealed, func(r Record) error { got = append(got, r.Customer); return nil })
		mustNoErr(t, err)
		if !reflect.DeepEqual(got, want) {
			for i := range got {
				if !reflect.DeepEqual(got[i], want[i]) {
					t.Fatalf("excel %v: record %d\n got %#v\nwant %#v", excel, i, got[i], want[i])
				}
			}
			t.Fatalf("excel %v: %d records, want %d", excel, len(got), len(want))
		}
	}
}
