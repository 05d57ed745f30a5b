package customer

import (
	"strings"
	"testing"
)

// Every invalid field comes back with the Reason a window translates, its
// limits, and the English message the CLI prints, unchanged.
func TestFieldErrorReasons(t *testing.T) {
	long := strings.Repeat("x", MaxName+1)
	many := make([]string, MaxList+1)
	for i := range many {
		many[i] = "4111 1111 1111 1111"
	}
	tests := []struct {
		name     string
		c        Customer
		field    string
		reason   Reason
		min, max int
		msg      string // part of the English message
	}{
		{"required", Customer{Name: " "}, "name", ReasonRequired, 0, 0, "required"},
		{"name too long", Customer{Name: long}, "name", ReasonTooLong, 0, MaxName, "too long"},
		{"name control", Customer{Name: "a\x01b"}, "name", ReasonControl, 0, 0, "control characters"},
		{"name utf8", Customer{Name: "a\xffb"}, "name", ReasonUTF8, 0, 0, "UTF-8"},
		{"pnr luhn", Customer{Name: "A", PersonalNumber: "121212-1213"}, "personnummer", ReasonLuhn, 0, 0, "check digit"},
		{"pnr format", Customer{Name: "A", PersonalNumber: "12121"}, "personnummer", ReasonFormat, 0, 0, "YYYYMMDD-NNNN"},
		{"pnr plus", Customer{Name: "A", PersonalNumber: "19121212+1212"}, "personnummer", ReasonPlus, 0, 0, "'+'"},
		{"pnr date", Customer{Name: "A", PersonalNumber: "19811328-9873"}, "personnummer", ReasonDate, 0, 0, "calendar date"},
		{"pnr coordination", Customer{Name: "A", PersonalNumber: "19811298-9879"}, "personnummer", ReasonCoordinationDate, 0, 0, "samordningsnummer"},
		{"pnr future", Customer{Name: "A", PersonalNumber: "20301212-1210"}, "personnummer", ReasonFuture, 0, 0, "future"},
		{"pnr too old", Customer{Name: "A", PersonalNumber: "17811228-9874"}, "personnummer", ReasonTooOld, 0, 0, "1850"},
		{"org chars", Customer{Name: "A", OrgNumber: "55601x5790"}, "organisationsnummer", ReasonChars, 0, 0, "only digits"},
		{"org length", Customer{Name: "A", OrgNumber: "556012-579"}, "organisationsnummer", ReasonLength, 10, 10, "10 digits"},
		{"org third digit", Customer{Name: "A", OrgNumber: "811228-9874"}, "organisationsnummer", ReasonOrgThirdDigit, 0, 0, "third digit"},
		{"org legal form", Customer{Name: "A", OrgNumber: "456012-5790"}, "organisationsnummer", ReasonOrgLegalForm, 0, 0, "legal form"},
		{"org luhn", Customer{Name: "A", OrgNumber: "556012-5791"}, "organisationsnummer", ReasonLuhn, 0, 0, "check digit"},
		{"card chars", Customer{Name: "A", Cards: []string{"4111x"}}, "cards[0]", ReasonChars, 0, 0, "only digits"},
		{"card length", Customer{Name: "A", Cards: []string{"4111 1111"}}, "cards[0]", ReasonLength, 13, 19, "13 to 19"},
		{"card all same", Customer{Name: "A", Cards: []string{"0000 0000 0000 0000"}}, "cards[0]", ReasonNotCard, 0, 0, "not a card"},
		{"card luhn", Customer{Name: "A", Cards: []string{"4111 1111 1111 1112"}}, "cards[0]", ReasonLuhn, 0, 0, "check digit"},
		{"too many cards", Customer{Name: "A", Cards: many}, "cards", ReasonTooMany, 0, MaxList, "at most 20 cards"},
		{"account format", Customer{Name: "A", Accounts: []string{"50001234567"}}, "accounts[0]", ReasonFormat, 0, 0, "clearing number"},
		{"account chars", Customer{Name: "A", Accounts: []string{"5000-12x4567"}}, "accounts[0]", ReasonChars, 0, 0, "only digits"},
		{"clearing length", Customer{Name: "A", Accounts: []string{"500-1234567"}}, "accounts[0]", ReasonClearingLength, 0, 0, "four digits"},
		{"clearing five", Customer{Name: "A", Accounts: []string{"50001-1234567"}}, "accounts[0]", ReasonClearingFive, 0, 0, "Swedbank"},
		{"clearing unknown", Customer{Name: "A", Accounts: []string{"0100-1234567"}}, "accounts[0]", ReasonClearing, 0, 0, "no Swedish bank"},
		{"iban country", Customer{Name: "A", Accounts: []string{"QQ45 5000 0000 0583 9825 7466"}}, "accounts[0]", ReasonIBANCountry, 0, 0, "country code"},
		{"iban length", Customer{Name: "A", Accounts: []string{"SE45 5000 0000 0583 9825 746"}}, "accounts[0]", ReasonIBANLength, 0, 0, "wrong length"},
		{"iban checksum", Customer{Name: "A", Accounts: []string{"SE46 5000 0000 0583 9825 7466"}}, "accounts[0]", ReasonIBANChecksum, 0, 0, "check digits"},
		{"iban chars", Customer{Name: "A", Accounts: []string{"SE45-5000"}}, "accounts[0]", ReasonIBANChars, 0, 0, "only letters"},
		{"email", Customer{Name: "A", Email: "nope"}, "email", ReasonFormat, 0, 0, "e-mail"},
		{"email domain", Customer{Name: "A", Email: "a@localhost"}, "email", ReasonEmailDomain, 0, 0, "domain"},
		{"phone chars", Customer{Name: "A", Phone: "070-ABC"}, "phone", ReasonChars, 0, 0, "only digits"},
		{"phone length", Customer{Name: "A", Phone: "070"}, "phone", ReasonLength, 7, 15, "7 to 15"},
		{"retain date", Customer{Name: "A", RetainUntil: "2026-13-01"}, "retain_until", ReasonDate, 0, 0, "YYYY-MM-DD"},
		{"code check", Customer{Name: "A", Code: "K7Q3-MX9R-2"}, "code", ReasonCodeCheck, 0, 0, "mistyped"},
		{"code length", Customer{Name: "A", Code: "K7Q3"}, "code", ReasonLength, 9, 9, "too short"},
		{"code chars", Customer{Name: "A", Code: "K7Q3-MX9R-%"}, "code", ReasonChars, 0, 0, "not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.Normalize(today)
			fe, ok := AsFieldErrors(err)
			if !ok {
				t.Fatalf("Normalize = %v, want FieldErrors", err)
			}
			for _, f := range fe {
				if f.Field != tt.field {
					continue
				}
				if f.Reason != tt.reason || f.Min != tt.min || f.Max != tt.max {
					t.Errorf("%s: reason %q [%d, %d], want %q [%d, %d]", f.Field, f.Reason, f.Min, f.Max, tt.reason, tt.min, tt.max)
				}
				if !strings.Contains(f.Message, tt.msg) || !strings.Contains(err.Error(), tt.field+": "+f.Message) {
					t.Errorf("message %q (in %q), want it to contain %q", f.Message, err, tt.msg)
				}
				return
			}
			t.Fatalf("no error for %s in %v", tt.field, fe)
		})
	}
}

// ReasonOf knows nothing of other errors.
func TestReasonOfOtherError(t *testing.T) {
	if r, _, _ := ReasonOf(FieldErrors{{Field: "x", Message: "y"}}); r != "" {
		t.Errorf("ReasonOf(FieldErrors) = %q", r)
	}
	if r, _, _ := ReasonOf(nil); r != "" {
		t.Errorf("ReasonOf(nil) = %q", r)
	}
}
