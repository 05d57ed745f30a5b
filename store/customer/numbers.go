package customer

import (
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valv-vault/valv/store/idnumber"
)

// The validators below take what a person typed and return it in a
// canonical form, or an error whose message explains what is wrong without
// quoting the value (which may be a personal number and must not reach a
// log).

// ParsePersonalNumber checks a personnummer or samordningsnummer and
// returns it as YYYYMMDD-NNNN.
//
// Accepted: YYMMDD-NNNN, YYMMDD+NNNN (the + marks someone aged 100 or
// more), YYMMDDNNNN, YYYYMMDD-NNNN and YYYYMMDDNNNN, with surrounding
// spaces. The last ten digits must pass Luhn, the date must be a real
// calendar date (for a samordningsnummer the day is the birth day plus 60)
// and not after today. A 10-digit number gets the latest century that puts
// the date on or before today, and a hundred years earlier with '+'.
func ParsePersonalNumber(s string, today time.Time) (norm string, coordination bool, err error) {
	s = strings.TrimSpace(s)
	plus := false
	switch n := len(s); {
	case n == 11 && (s[6] == '-' || s[6] == '+'):
		plus = s[6] == '+'
		s = s[:6] + s[7:]
	case n == 13 && s[8] == '-':
		s = s[:8] + s[9:]
	case n == 13 && s[8] == '+':
		return "", false, invalid(ReasonPlus, "'+' is only written in the 10-digit form (YYMMDD+NNNN); the 12-digit form already has the century")
	}
	d, ok := digitsOf(s, "")
	if !ok || (len(d) != 10 && len(d) != 12) {
		return "", false, invalid(ReasonFormat, "write it as YYYYMMDD-NNNN or YYMMDD-NNNN (10 or 12 digits)")
	}
	last10 := d[len(d)-10:]
	if !idnumber.Luhn(last10) {
		return "", false, invalid(ReasonLuhn, "the check digit (the last one) is wrong; check for a typo")
	}
	m, day := idnumber.Value(last10[2:4]), idnumber.Value(last10[4:6])
	if day > 60 {
		coordination = true
		day -= 60
	}
	ty, tm, td := today.Date()
	var y int
	if len(d) == 12 {
		y = idnumber.Value(d[:4])
		if y < 1850 {
			return "", false, invalid(ReasonTooOld, "the year is before 1850")
		}
	} else {
		y = ty - ty%100 + idnumber.Value(d[:2])
		if after(y, m, day, ty, int(tm), td) {
			y -= 100
		}
		if plus {
			y -= 100
		}
	}
	if !idnumber.ValidDate(y, m, day) {
		if coordination {
			return "", false, invalid(ReasonCoordinationDate, "not a real date (in a samordningsnummer the day is the birth day plus 60)")
		}
		return "", false, invalid(ReasonDate, "the date is not a real calendar date")
	}
	if after(y, m, day, ty, int(tm), td) {
		return "", false, invalid(ReasonFuture, "the date is in the future")
	}
	full := make([]byte, 0, 13)
	full = append(full, ascii([]byte{byte(y / 1000), byte(y / 100 % 10), byte(y / 10 % 10), byte(y % 10)})...)
	full = append(full, ascii(last10[2:6])...)
	full = append(full, '-')
	full = append(full, ascii(last10[6:])...)
	return string(full), coordination, nil
}

func after(y, m, d, y2, m2, d2 int) bool {
	if y != y2 {
		return y > y2
	}
	if m != m2 {
		return m > m2
	}
	return d > d2
}

// ParseOrgNumber checks an organisationsnummer (NNNNNN-NNNN, NNNNNNNNNN or
// 16NNNNNNNNNN) and returns it as NNNNNN-NNNN: the first digit is a
// legal-form group (not 0 or 4), the third digit is 2 or more (so that it
// is never a date) and the ten digits pass Luhn.
func ParseOrgNumber(s string) (string, error) {
	d, ok := digitsOf(strings.TrimSpace(s), "- ")
	if !ok {
		return "", invalid(ReasonChars, "only digits and one '-' are allowed, as in NNNNNN-NNNN")
	}
	if len(d) == 12 && d[0] == 1 && d[1] == 6 {
		d = d[2:]
	}
	switch {
	case len(d) != 10:
		return "", &InvalidError{Reason: ReasonLength, Min: 10, Max: 10, msg: "an organisationsnummer has 10 digits, as in NNNNNN-NNNN"}
	case d[2] < 2:
		return "", invalid(ReasonOrgThirdDigit, "the third digit of an organisationsnummer is 2 or more; a sole trader's number is the personnummer, which goes in its own field")
	case d[0] == 0 || d[0] == 4:
		return "", invalid(ReasonOrgLegalForm, "the first digit (the legal form) cannot be 0 or 4")
	case !idnumber.Luhn(d):
		return "", invalid(ReasonLuhn, "the check digit (the last one) is wrong; check for a typo")
	}
	return ascii(d[:6]) + "-" + ascii(d[6:]), nil
}

// ParseCard checks a payment card number (13–19 digits, spaces and
// hyphens allowed) and returns its digits: the length must be right and
// the number must pass Luhn.
func ParseCard(s string) (string, error) {
	d, ok := digitsOf(strings.TrimSpace(s), " -")
	switch {
	case !ok:
		return "", invalid(ReasonChars, "only digits, spaces and hyphens are allowed")
	case len(d) < 13 || len(d) > 19:
		return "", &InvalidError{Reason: ReasonLength, Min: 13, Max: 19, msg: "a card number has 13 to 19 digits"}
	case idnumber.AllSame(d):
		return "", invalid(ReasonNotCard, "this is not a card number")
	case !idnumber.Luhn(d):
		return "", invalid(ReasonLuhn, "the check digit (the last one) is wrong; check for a typo")
	}
	return ascii(d), nil
}

// ParseAccount checks a bank account number and returns it in a canonical
// form. Two forms are accepted:
//
//   - an IBAN (two letters first): the length registered for its country
//     and the mod-97 check; returned without spaces, in upper case;
//   - a Swedish clearing number and account number separated by '-' or ','
//     (spaces inside the account number allowed), as "5000-1234567" or
//     "8327-9, 123 456 789-0": the clearing number must belong to a bank
//     and the account number have that bank's length and check (mod 10 or
//     mod 11, per Bankgirot's "Bankernas kontonummeruppbyggnad"); returned
//     as CCCC-NNNNNNN (CCCCC-… for a five-digit Swedbank clearing number).
func ParseAccount(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && isLetter(s[0]) && isLetter(s[1]) {
		return parseIBAN(s)
	}
	i := strings.IndexAny(s, "-,")
	if i < 0 {
		return "", invalid(ReasonFormat, "write a Swedish account as clearing number, '-', account number (5000-1234567), or give an IBAN")
	}
	cl, ok1 := digitsOf(strings.TrimSpace(s[:i]), "")
	acc, ok2 := digitsOf(strings.TrimSpace(s[i+1:]), " -")
	if !ok1 || !ok2 {
		return "", invalid(ReasonChars, "only digits, spaces and hyphens are allowed in a Swedish account number")
	}
	if len(cl) == 5 {
		if cl[0] != 8 {
			return "", invalid(ReasonClearingFive, "only Swedbank clearing numbers (8xxx-x) have five digits")
		}
		if !idnumber.Luhn(cl) {
			return "", invalid(ReasonClearingCheck, "the clearing number's fifth (check) digit is wrong")
		}
	} else if len(cl) != 4 {
		return "", invalid(ReasonClearingLength, "the clearing number has four digits (five for Swedbank 8xxx-x)")
	}
	t := idnumber.ClearingType(idnumber.Value(cl[:4]))
	if t == 0 {
		return "", invalid(ReasonClearing, "no Swedish bank has this clearing number")
	}
	if len(acc) == 0 || !idnumber.ValidAccount(t, cl[:4], acc) {
		return "", invalid(ReasonAccountCheck, "the account number does not have the bank's length or check digit; check for a typo")
	}
	return ascii(cl) + "-" + ascii(acc), nil
}

func isLetter(c byte) bool { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') }

func parseIBAN(s string) (string, error) {
	b := make([]byte, 0, 34)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ':
		case c >= '0' && c <= '9', c >= 'A' && c <= 'Z':
			b = append(b, c)
		case c >= 'a' && c <= 'z':
			b = append(b, c-'a'+'A')
		default:
			return "", invalid(ReasonIBANChars, "an IBAN has only letters, digits and spaces")
		}
	}
	want := idnumber.IBANLength(b[0], b[1])
	switch {
	case want == 0:
		return "", invalid(ReasonIBANCountry, "the IBAN's country code is not in the IBAN registry")
	case len(b) != want:
		return "", invalid(ReasonIBANLength, "the IBAN has the wrong length for its country")
	case b[2] > '9' || b[3] > '9':
		return "", invalid(ReasonIBANFormat, "the IBAN's third and fourth characters are check digits")
	}
	if !idnumber.IBANMod97(b) {
		return "", invalid(ReasonIBANChecksum, "the IBAN's check digits are wrong; check for a typo")
	}
	return string(b), nil
}

// ParseEmail checks an e-mail address (a bare address, no display name)
// and returns it with the domain in lower case.
func ParseEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s || len(s) > 254 {
		return "", invalid(ReasonFormat, "not an e-mail address of the form name@example.se")
	}
	at := strings.LastIndexByte(s, '@')
	domain := strings.ToLower(s[at+1:])
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return "", invalid(ReasonEmailDomain, "the part after @ must be a domain such as example.se")
	}
	return s[:at+1] + domain, nil
}

// ParsePhone checks a telephone number: digits with spaces, hyphens and
// parentheses, an optional leading '+', 7 to 15 digits in all (E.164).
// It returns the number trimmed, with runs of spaces collapsed.
func ParsePhone(s string) (string, error) {
	s = strings.Join(strings.Fields(s), " ")
	body := strings.TrimPrefix(s, "+")
	d, ok := digitsOf(body, " -()")
	switch {
	case !ok:
		return "", invalid(ReasonChars, "only digits, spaces, hyphens, parentheses and a leading + are allowed")
	case len(d) < 7 || len(d) > 15:
		return "", &InvalidError{Reason: ReasonLength, Min: 7, Max: 15, msg: "a telephone number has 7 to 15 digits"}
	}
	return s, nil
}

// ParseDate checks a date written YYYY-MM-DD (a real calendar date, year
// 1000 to 9999).
func ParseDate(s string) (string, error) {
	s = strings.TrimSpace(s)
	bad := invalid(ReasonDate, "write the date as YYYY-MM-DD, a real calendar date")
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return "", bad
	}
	d, ok := digitsOf(s, "-")
	if !ok || len(d) != 8 || d[0] == 0 || !idnumber.ValidDate(idnumber.Value(d[:4]), idnumber.Value(d[4:6]), idnumber.Value(d[6:])) {
		return "", bad
	}
	return s, nil
}

// checkText checks free text: valid UTF-8, at most max bytes, and no
// control characters other than newline and tab (when multiline).
func checkText(s string, max int, multiline bool) error {
	if !utf8.ValidString(s) {
		return invalid(ReasonUTF8, "the text is not valid UTF-8")
	}
	if len(s) > max {
		return &InvalidError{Reason: ReasonTooLong, Max: max, msg: "too long"}
	}
	for _, r := range s {
		if r == '\n' || r == '\t' {
			if multiline {
				continue
			}
			return invalid(ReasonOneLine, "must be one line")
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return invalid(ReasonControl, "contains control characters")
		}
	}
	return nil
}
