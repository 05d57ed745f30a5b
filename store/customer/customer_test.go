package customer

import (
	"strings"
	"testing"
	"time"

	"github.com/valv-vault/valv/store/idnumber"
)

var today = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func TestNewCodeRoundTrip(t *testing.T) {
	seen := make(map[Code]bool)
	for range 2000 {
		c := NewCode()
		if len(c) != 11 || c[4] != '-' || c[9] != '-' {
			t.Fatalf("NewCode() = %q; want XXXX-XXXX-C", c)
		}
		if strings.ContainsAny(string(c), "*~$=UILO") {
			t.Fatalf("NewCode() = %q uses a symbol outside the letters and digits", c)
		}
		p, err := ParseCode(string(c))
		if err != nil || p != c {
			t.Fatalf("ParseCode(%q) = %q, %v", c, p, err)
		}
		if seen[c] {
			t.Fatalf("NewCode repeated %q", c)
		}
		seen[c] = true
	}
}

func TestParseCodeForgiving(t *testing.T) {
	c := NewCode()
	s := string(c)
	variants := []string{
		strings.ToLower(s),
		strings.ReplaceAll(s, "-", ""),
		" " + strings.ReplaceAll(s, "-", " ") + " ",
		strings.NewReplacer("0", "O", "1", "l").Replace(s),
	}
	for _, v := range variants {
		if p, err := ParseCode(v); err != nil || p != c {
			t.Errorf("ParseCode(%q) = %q, %v; want %q", v, p, err, c)
		}
	}
}

// TestParseCodeTypos checks that every single-symbol substitution and
// every swap of adjacent different symbols is rejected.
func TestParseCodeTypos(t *testing.T) {
	for range 50 {
		c := strings.ReplaceAll(string(NewCode()), "-", "")
		for i := range c {
			set := alphabet
			if i == codeSymbols {
				set = checkAlphabet
			}
			for _, r := range set {
				if byte(r) == c[i] {
					continue
				}
				typo := c[:i] + string(r) + c[i+1:]
				if _, err := ParseCode(typo); err == nil {
					t.Fatalf("substitution %q of %q accepted", typo, c)
				}
			}
			if i+1 < len(c) && c[i] != c[i+1] {
				swap := c[:i] + string(c[i+1]) + string(c[i]) + c[i+2:]
				if _, err := ParseCode(swap); err == nil {
					t.Fatalf("swap %q of %q accepted", swap, c)
				}
			}
		}
	}
}

func TestParseCodeErrors(t *testing.T) {
	for in, want := range map[string]string{
		"":               "too short",
		"K7Q3-MX9R":      "too short",
		"K7Q3-MX9R-FF-3": "too long",
		"K7Q3-MU9R-2":    "not allowed",
		"K7Q3_MX9R-2":    "not allowed",
		"K7Q3-MX9R-Ä":    "not allowed",
	} {
		_, err := ParseCode(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseCode(%q) = %v; want an error with %q", in, err, want)
		}
	}
	// The example in the documentation is valid; DESIGN.md's shape
	// "K7Q3-MX9R-2" has the wrong check symbol.
	if c, err := ParseCode("k7q3mx9rf"); err != nil || c != "K7Q3-MX9R-F" {
		t.Errorf("ParseCode(example) = %q, %v", c, err)
	}
	if _, err := ParseCode("K7Q3-MX9R-2"); err == nil || !strings.Contains(err.Error(), "mistyped") {
		t.Errorf("ParseCode(K7Q3-MX9R-2) = %v; want a typo error", err)
	}
	c := string(NewCode())
	bad := c[:10] + string(checkAlphabet[(strings.IndexByte(checkAlphabet, c[10])+1)%37])
	if _, err := ParseCode(bad); err == nil || !strings.Contains(err.Error(), "mistyped") {
		t.Errorf("ParseCode(%q) = %v; want a typo error", bad, err)
	}
}

func TestCodeCheckSymbolsAbove31(t *testing.T) {
	// Value 32 has check symbol '*' (32 mod 37 = 32).
	c := format(32)
	if c[10] != '*' {
		t.Fatalf("format(32) = %q; want check '*'", c)
	}
	if p, err := ParseCode(string(c)); err != nil || p != c {
		t.Fatalf("ParseCode(%q) = %q, %v", c, p, err)
	}
	if p, err := ParseCode(strings.ToLower(string(format(36)))); err != nil || p[10] != 'U' {
		t.Fatalf("ParseCode(lower U check) = %q, %v", p, err)
	}
}

func TestPersonalNumber(t *testing.T) {
	tests := []struct {
		in, want string
		coord    bool
		err      string
	}{
		{in: "19121212-1212", want: "19121212-1212"},
		{in: "121212-1212", want: "20121212-1212"},
		{in: "121212+1212", want: "19121212-1212"},
		{in: "1212121212", want: "20121212-1212"},
		{in: "191212121212", want: "19121212-1212"},
		{in: " 811228-9874 ", want: "19811228-9874"},
		{in: "20000229-2381", want: "20000229-2381"},
		{in: "701063-2391", want: "19701063-2391", coord: true},
		{in: "19000229-2381", err: "calendar date"},
		{in: "121212-1213", err: "check digit"},
		{in: "121232-" + withLuhn("121232121")[6:], err: "calendar date"},
		{in: "20" + withLuhn("301212121")[:6] + "-" + withLuhn("301212121")[6:], err: "future"},
		{in: "19121212+1212", err: "10-digit form"},
		{in: "12121-21212", err: "10 or 12 digits"},
		{in: "abc", err: "10 or 12 digits"},
		{in: "701093-" + withLuhn("701093239")[6:], err: "plus 60"},
	}
	for _, tt := range tests {
		got, coord, err := ParsePersonalNumber(tt.in, today)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParsePersonalNumber(%q) = %q, %v; want error with %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want || coord != tt.coord {
			t.Errorf("ParsePersonalNumber(%q) = %q, %v, %v; want %q, %v", tt.in, got, coord, err, tt.want, tt.coord)
		}
	}
	// The century is the latest that puts the date on or before today.
	n := withLuhn("260602000") // 2 June 2026, after today: a century earlier
	if got, _, err := ParsePersonalNumber(n[:6]+"-"+n[6:], today); err != nil || !strings.HasPrefix(got, "1926") {
		t.Errorf("ParsePersonalNumber(%q) = %q, %v; want 1926…", n, got, err)
	}
	n = withLuhn("260601000")
	if got, _, err := ParsePersonalNumber(n, today); err != nil || !strings.HasPrefix(got, "2026") {
		t.Errorf("ParsePersonalNumber(%q) = %q, %v; want 2026…", n, got, err)
	}
}

// withLuhn appends the Luhn check digit to the digits s.
func withLuhn(s string) string {
	for c := byte('0'); c <= '9'; c++ {
		d, _ := digitsOf(s+string(c), "")
		if idnumber.Luhn(d) {
			return s + string(c)
		}
	}
	panic("unreachable")
}

func TestOrgNumber(t *testing.T) {
	for in, want := range map[string]string{
		"556012-5790":  "556012-5790",
		"5560125790":   "556012-5790",
		"165560125790": "556012-5790",
	} {
		if got, err := ParseOrgNumber(in); err != nil || got != want {
			t.Errorf("ParseOrgNumber(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"556012-5791": "check digit",
		"456012-5791": "legal form",
		"811228-9874": "third digit",
		"55601":       "10 digits",
		"5560x25790":  "only digits",
	} {
		if _, err := ParseOrgNumber(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseOrgNumber(%q) = %v; want error with %q", in, err, want)
		}
	}
}

func TestCard(t *testing.T) {
	for in, want := range map[string]string{
		"4111 1111 1111 1111": "4111111111111111",
		"4111-1111-1111-1111": "4111111111111111",
		"3782 822463 10005":   "378282246310005",
		"4222222222222":       "4222222222222",
	} {
		if got, err := ParseCard(in); err != nil || got != want {
			t.Errorf("ParseCard(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"4111 1111 1111 1112":  "check digit",
		"4111 1111 1111":       "13 to 19",
		"41111111111111111111": "13 to 19",
		"0000 0000 0000 0000":  "not a card",
		"4111/1111/1111/1111":  "only digits",
	} {
		if _, err := ParseCard(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseCard(%q) = %v; want error with %q", in, err, want)
		}
	}
}

func TestAccount(t *testing.T) {
	for in, want := range map[string]string{
		"SE45 5000 0000 0583 9825 7466": "SE4550000000058398257466",
		"se4550000000058398257466":      "SE4550000000058398257466",
		"GB82 WEST 1234 5698 7654 32":   "GB82WEST12345698765432",
		"6789-123 456 789":              "6789-123456789",
	} {
		if got, err := ParseAccount(in); err != nil || got != want {
			t.Errorf("ParseAccount(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"SE45 5000 0000 0583 9825 7467": "check digits",
		"NO93 8601 1117 9471":           "wrong length",
		"XX45 5000":                     "registry",
		"6789-123 456 788":              "check digit",
		"0999-1234567":                  "clearing number",
		"67891234567":                   "clearing number, '-'",
		"SE45-5000":                     "letters, digits",
	} {
		if _, err := ParseAccount(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseAccount(%q) = %v; want error with %q", in, err, want)
		}
	}
}

func TestEmailPhoneDate(t *testing.T) {
	if got, err := ParseEmail(" anna.svensson@Example.SE "); err != nil || got != "anna.svensson@example.se" {
		t.Errorf("ParseEmail = %q, %v", got, err)
	}
	for _, bad := range []string{"anna", "Anna <a@b.se>", "a@localhost", "a@b.se x"} {
		if _, err := ParseEmail(bad); err == nil {
			t.Errorf("ParseEmail(%q) accepted", bad)
		}
	}
	if got, err := ParsePhone(" +46  70 123 45 67"); err != nil || got != "+46 70 123 45 67" {
		t.Errorf("ParsePhone = %q, %v", got, err)
	}
	for _, bad := range []string{"070-12", "phone 070", "+46 70 123 45 67 89 01 23"} {
		if _, err := ParsePhone(bad); err == nil {
			t.Errorf("ParsePhone(%q) accepted", bad)
		}
	}
	if _, err := ParseDate("2026-02-30"); err == nil {
		t.Error("ParseDate accepted 30 February")
	}
	if got, err := ParseDate("2030-12-31"); err != nil || got != "2030-12-31" {
		t.Errorf("ParseDate = %q, %v", got, err)
	}
}

func TestNormalizeFieldErrors(t *testing.T) {
	c := Customer{
		Name:           "  ",
		PersonalNumber: "121212-1213",
		Cards:          []string{"4111 1111 1111 1111", "4111 1111 1111 1112"},
		Email:          "nope",
		Tags:           []string{"vip", " VIP ", "", "bad\x01tag"},
		RetainUntil:    "2026-13-01",
	}
	err := c.Normalize(today)
	fe, ok := AsFieldErrors(err)
	if !ok {
		t.Fatalf("Normalize = %v; want FieldErrors", err)
	}
	for _, f := range []string{"name", "personnummer", "cards[1]", "email", "tags[1]", "retain_until"} {
		if fe.For(f) == "" {
			t.Errorf("no error for %s in %v", f, fe)
		}
	}
	if fe.For("cards[0]") != "" {
		t.Errorf("valid card reported: %v", fe)
	}
	for _, secret := range []string{"121212-1213", "4111 1111 1111 1112"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error quotes a value: %v", err)
		}
	}
}

func TestNormalizeAndMask(t *testing.T) {
	c := Customer{
		Name:           " Åsa   Öberg ",
		PersonalNumber: "811228-9874",
		OrgNumber:      "5560125790",
		Addresses:      []string{"Storgatan 1\n111 22 Stockholm", " "},
		Phone:          "070-123 45 67",
		Email:          "asa@example.se",
		Cards:          []string{"4111 1111 1111 1111"},
		Accounts:       []string{"SE45 5000 0000 0583 9825 7466", "6789-123 456 789"},
		Notes:          "Ringer helst på förmiddagen.\nTvå rader.",
		Tags:           []string{"vip", "Vip", "kredit"},
		RetainUntil:    "2036-01-31",
	}
	if err := c.Normalize(today); err != nil {
		t.Fatal(err)
	}
	if c.Name != "Åsa Öberg" || c.PersonalNumber != "19811228-9874" || c.OrgNumber != "556012-5790" ||
		len(c.Addresses) != 1 || len(c.Tags) != 2 || c.Cards[0] != "4111111111111111" {
		t.Fatalf("Normalize gave %+v", c)
	}
	m := c.Masked()
	if m.PersonalNumber != "19811228-****" {
		t.Errorf("masked personnummer %q", m.PersonalNumber)
	}
	if m.Cards[0] != "411111******1111" {
		t.Errorf("masked card %q", m.Cards[0])
	}
	if m.Accounts[0] != "SE45****************7466" || m.Accounts[1] != "6789-*****6789" {
		t.Errorf("masked accounts %q", m.Accounts)
	}
	if c.Cards[0] != "4111111111111111" {
		t.Error("Masked changed the original")
	}
	if got := MaskCard("4222222222222"); got != "422222***2222" {
		t.Errorf("MaskCard(13 digits) = %q", got)
	}
}
