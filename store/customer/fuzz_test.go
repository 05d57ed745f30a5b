package customer

import (
	"strings"
	"testing"
)

// FuzzParseCode: never panics; what it accepts is canonical and parses to
// itself.
func FuzzParseCode(f *testing.F) {
	f.Add("K7Q3-MX9R-F")
	f.Add("k7q3 mx9r f")
	f.Add("0000-0000-*")
	f.Add("ÅÄÖ")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCode(s)
		if err != nil {
			return
		}
		if !c.Valid() || len(c) != 11 {
			t.Fatalf("ParseCode(%q) = %q, not canonical", s, c)
		}
	})
}

// FuzzNormalize: never panics, errors never quote a value and each has
// a Reason, and a normalized record normalizes to itself.
func FuzzNormalize(f *testing.F) {
	f.Add("Åsa", "811228-9874", "556012-5790", "4111 1111 1111 1111", "SE45 5000 0000 0583 9825 7466", "a@b.se", "070-123 45 67", "2030-01-01")
	f.Add("", "121212+1212", "16556012-5790", "", "6789-123 456 789", "", "", "")
	f.Fuzz(func(t *testing.T, name, pnr, org, card, acct, email, phone, date string) {
		c := Customer{Name: name, PersonalNumber: pnr, OrgNumber: org, Cards: []string{card}, Accounts: []string{acct}, Email: email, Phone: phone, RetainUntil: date}
		err := c.Normalize(today)
		if err != nil {
			for _, v := range []string{pnr, card, acct} {
				if len(v) >= 6 && strings.Contains(err.Error(), v) {
					t.Fatalf("error quotes %q: %v", v, err)
				}
			}
			fe, _ := AsFieldErrors(err)
			for _, f := range fe {
				if f.Reason == "" {
					t.Fatalf("%s: no Reason for %q", f.Field, f.Message)
				}
			}
			return
		}
		d := c.Clone()
		if err := d.Normalize(today); err != nil {
			t.Fatalf("normalized record does not normalize: %v", err)
		}
		if d.PersonalNumber != c.PersonalNumber || d.OrgNumber != c.OrgNumber || d.Name != c.Name || strings.Join(d.Cards, ",") != strings.Join(c.Cards, ",") || strings.Join(d.Accounts, ",") != strings.Join(c.Accounts, ",") {
			t.Fatalf("not idempotent: %+v vs %+v", c, d)
		}
	})
}
