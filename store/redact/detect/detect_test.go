package detect

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/valv-vault/valv/store/idnumber"
)

var testNow = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

type want struct {
	kind  Kind
	value string
}

func find(s string, kinds ...Kind) []want {
	d := Detector{Kinds: SetOf(kinds...), Now: testNow}
	var out []want
	for _, m := range d.Find([]byte(s)) {
		out = append(out, want{m.Kind, s[m.Start:m.End]})
	}
	return out
}

func TestFind(t *testing.T) {
	tests := []struct {
		in   string
		want []want
	}{
		// Personnummer and samordningsnummer.
		{"pnr 19121212-1212.", []want{{Personnummer, "19121212-1212"}}},
		{"pnr 121212-1212", []want{{Personnummer, "121212-1212"}}},
		{"pnr 121212+1212", []want{{Personnummer, "121212+1212"}}},
		{"pnr 1212121212", []want{{Personnummer, "1212121212"}}},
		{"pnr 191212121212", []want{{Personnummer, "191212121212"}}},
		{"20000229-2381 is a leap day", []want{{Personnummer, "20000229-2381"}}},
		{"19000229-2381 is not", nil},
		{"samordningsnummer 701063-2391", []want{{Samordningsnummer, "701063-2391"}}},
		{"121212-1213 fails Luhn", nil},
		{"121232-1212 no 32nd", nil},
		{"a future 20301212-1212", nil},
		{"glued ID121212-1212 or 121212-1212X", nil},
		{"decimal 1.1212121212 or 1212121212,5 or 1212121212,50 kr", nil},
		{"Anna,19121212-1212,070-123 45 67,ja", []want{{Personnummer, "19121212-1212"}, {Phone, "070-123 45 67"}}},
		{"12,1212121212,x", []want{{Personnummer, "1212121212"}}},
		// Organisationsnummer.
		{"Volvo 556012-5790", []want{{Organisationsnummer, "556012-5790"}}},
		{"org.nr 5560125790", []want{{Organisationsnummer, "5560125790"}}},
		{"16 form 165560125790", []want{{Organisationsnummer, "165560125790"}}},
		{"556012-5791 fails Luhn", nil},
		{"456012-5791 group 4 unused", nil},
		{"VAT SE556012579001, sole trader SE121212121201", []want{{Organisationsnummer, "SE556012579001"}, {Personnummer, "SE121212121201"}}},
		{"SE556012579101 SE556012579002", nil},
		{"Personnummer: 121212 1212", []want{{Personnummer, "121212 1212"}}},
		{"Datum 121212 1212", nil},
		// Cards.
		{"4111 1111 1111 1111", []want{{Card, "4111 1111 1111 1111"}}},
		{"4111-1111-1111-1111", []want{{Card, "4111-1111-1111-1111"}}},
		{"4111111111111111", []want{{Card, "4111111111111111"}}},
		{"amex 3782 822463 10005 or 378282246310005", []want{{Card, "3782 822463 10005"}, {Card, "378282246310005"}}},
		{"mc 5555 5555 5555 4444 and 2221 0000 0000 0009", []want{{Card, "5555 5555 5555 4444"}, {Card, "2221 0000 0000 0009"}}},
		{"mixed 4111 1111-1111 1111", nil},
		{"4111 1111 1111 1112 fails Luhn", nil},
		{"unknown prefix 9111 1111 1111 1115", nil},
		{"4111 1111 1111 1111 2024", []want{{Card, "4111 1111 1111 1111"}}},
		// IBAN.
		{"IBAN SE45 5000 0000 0583 9825 7466.", []want{{IBAN, "SE45 5000 0000 0583 9825 7466"}}},
		{"SE4550000000058398257466", []want{{IBAN, "SE4550000000058398257466"}}},
		{"GB82 WEST 1234 5698 7654 32", []want{{IBAN, "GB82 WEST 1234 5698 7654 32"}}},
		{"SE45 5000 0000 0583 9825 7467", nil},
		{"NO93 8601 1117 9471", nil},
		{"XSE4550000000058398257466", nil},
		// Bank accounts.
		{"Handelsbanken 6789-123 456 789", []want{{BankAccount, "6789-123 456 789"}}},
		{"Handelsbanken 6789-123 456 788", nil},
		// Bankgiro and Plusgiro.
		{"Bankgiro 5050-1055", []want{{Bankgiro, "5050-1055"}}},
		{"BG 50501055", []want{{Bankgiro, "50501055"}}},
		{"5050-1056", nil},
		{"years 1990-2010", nil},
		{"Plusgiro 4 78 90-9", []want{{Plusgiro, "4 78 90-9"}}},
		{"PG 478909", []want{{Plusgiro, "478909"}}},
		{"4 78 90-8", nil},
		// E-mail.
		{"mail anna.svensson@example.se.", []want{{Email, "anna.svensson@example.se"}}},
		{"åsa@exempel.se", []want{{Email, "åsa@exempel.se"}}},
		{"x 8503121234.a@b.se", []want{{Email, "8503121234.a@b.se"}}},
		{"anna@localhost, @twitter, a@b.c, a..b@c.se", []want{{Email, "b@c.se"}}},
		// Phones.
		{"070-123 45 67", []want{{Phone, "070-123 45 67"}}},
		{"tel 0701234567", []want{{Phone, "0701234567"}}},
		{"(08) 123 45 67", []want{{Phone, "(08) 123 45 67"}}},
		{"08-123 456 78", []want{{Phone, "08-123 456 78"}}},
		{"+46 (0)8-123 456 78", []want{{Phone, "+46 (0)8-123 456 78"}}},
		{"+46 70 123 45 67", []want{{Phone, "+46 70 123 45 67"}}},
		{"0046 70 123 45 67", []want{{Phone, "0046 70 123 45 67"}}},
		{"+44 20 7946 0958", []want{{Phone, "+44 20 7946 0958"}}},
		{"+1 (415) 555-2671", []want{{Phone, "+1 (415) 555-2671"}}},
		{"serial 070-123-456-789, 0701-23, +1234, 070-123 45", nil},
		{"01-02-2024 08-02-2024", nil},
		// Near-misses of every kind.
		{"2024-02-30 1 234 567,89 kr ORD-2024-000123 4500123456 #100234", nil},
		{"IMEI 35 209900 176148 1, ISBN 978-91-29-66543-2, 192.168.1.10", nil},
	}
	for _, tt := range tests {
		got := find(tt.in)
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("Find(%q) = %v; want %v", tt.in, got, tt.want)
		}
	}
}

func TestContextDecides(t *testing.T) {
	// 070123456x is both a mobile number and a valid personnummer for
	// someone born 2007-01-23.
	n := "070123456"
	n += string(rune('0' + checkDigit(n)))
	if got := find("Telefon: " + n); len(got) != 1 || got[0].kind != Phone {
		t.Errorf("after 'Telefon': %v", got)
	}
	if got := find("Personnummer: " + n); len(got) != 1 || got[0].kind != Personnummer {
		t.Errorf("after 'Personnummer': %v", got)
	}
	if got := find("Kunden " + n); len(got) != 1 || got[0].kind != Personnummer {
		t.Errorf("with no context: %v; a personnummer is the safer guess", got)
	}
	d := Detector{Now: testNow}
	if ms := d.Append(nil, []byte(n), "Mobil"); len(ms) != 1 || ms[0].Kind != Phone {
		t.Errorf("with hint 'Mobil': %v", ms)
	}
}

func TestCentury(t *testing.T) {
	// On 2026-11-29, 261128-xxxx was born 2026-11-28 and 261130-xxxx on
	// 1926-11-30 (2026-11-30 has not come yet), so 261130+xxxx, a
	// hundred years earlier, was born 1826: still a date.
	for _, s := range []string{"261128-", "261130-", "261130+"} {
		ten := s[:6] + "123"
		ten += string(rune('0' + checkDigit(ten)))
		v := s + ten[6:]
		if got := find(v); len(got) != 1 {
			t.Errorf("%s: %v", v, got)
		}
	}
	// A 12-digit number cannot be in the future.
	fut := "261130123"
	fut += string(rune('0' + checkDigit(fut)))
	if got := find("20" + fut[:6] + "-" + fut[6:]); len(got) != 0 {
		t.Errorf("20%s: %v (tomorrow)", fut, got)
	}
	// 000229 with '-' is 2000-02-29 (valid); with '+' it is 1900-02-29,
	// which did not exist.
	ten := "000229238"
	ten += string(rune('0' + checkDigit(ten)))
	if got := find(ten[:6] + "-" + ten[6:]); len(got) != 1 {
		t.Errorf("%s-: %v", ten, got)
	}
	if got := find(ten[:6] + "+" + ten[6:]); len(got) != 0 {
		t.Errorf("%s+: %v (1900 was no leap year)", ten, got)
	}
}

func checkDigit(s string) int {
	for c := 0; c < 10; c++ {
		d := make([]byte, 0, len(s)+1)
		for i := range s {
			d = append(d, s[i]-'0')
		}
		if idnumber.Luhn(append(d, byte(c))) {
			return c
		}
	}
	return -1
}

func TestKindSet(t *testing.T) {
	s := "Tel 070-123 45 67, pnr 121212-1212"
	if got := find(s, Phone); len(got) != 1 || got[0].kind != Phone {
		t.Errorf("phones only: %v", got)
	}
	if got := find(s); len(got) != 2 {
		t.Errorf("all: %v", got)
	}
	for _, k := range Kinds {
		if p, err := ParseKind(k.String()); err != nil || p != k {
			t.Errorf("ParseKind(%q) = %v, %v", k, p, err)
		}
	}
}

func TestMaskLabel(t *testing.T) {
	if got := Mask(Personnummer, []byte("850312-1234")); got != "******-**34" {
		t.Errorf("Mask = %q", got)
	}
	if got := Mask(Card, []byte("4111 1111 1111 1111")); got != "**** **** **** 1111" {
		t.Errorf("Mask card = %q", got)
	}
	if got := Label(Card, []byte("4111 1111 1111 1234")); got != "[KORT ****1234]" {
		t.Errorf("Label card = %q", got)
	}
	if got := Mask(Email, []byte("åsa@exempel.se")); strings.Contains(got, "åsa") || strings.Contains(got, "exempel") {
		t.Errorf("Mask email = %q", got)
	}
}

func TestLongRuns(t *testing.T) {
	// A run of more groups than the scanner holds at once.
	var b strings.Builder
	for i := 0; i < 100; i++ {
		b.WriteString("12 ")
	}
	b.WriteString("070-123 45 67")
	if got := find(b.String()); len(got) != 1 || got[0].value != "070-123 45 67" {
		t.Errorf("after a long run: %v", got)
	}
	b.Reset()
	for i := 0; i < 40; i++ {
		b.WriteString("4111 1111 1111 1111 ")
	}
	if got := find(strings.TrimSpace(b.String())); len(got) != 40 {
		t.Errorf("40 cards in one run: found %d", len(got))
	}
}
