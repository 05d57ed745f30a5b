package customer

import (
	"errors"
)

// A Reason says why a field is invalid in a form a program can test, so
// that a window can word it in the user's language. The English Message
// of a [FieldError] stays the CLI's text; the Reason and its limits
// ([FieldError.Min], [FieldError.Max]) are what a translation needs. The
// same Reason can mean slightly different things for different fields
// (ReasonLength is 10 digits for an organisationsnummer, 13 to 19 for a
// card), so a translation is chosen by field and Reason together.
//
// The strings are stable: they may be stored in translation tables.
type Reason string

// The reasons a field can be invalid.
const (
	ReasonRequired Reason = "required" // the field must be filled in
	ReasonFormat   Reason = "format"   // not written in the field's form (YYYYMMDD-NNNN, name@example.se, CCCC-NNNNNNN…)
	ReasonChars    Reason = "chars"    // a character the field does not allow
	ReasonLength   Reason = "length"   // the wrong number of digits or characters: Min to Max
	ReasonLuhn     Reason = "luhn"     // the check digit (the last one) is wrong

	ReasonDate             Reason = "date"              // not a real calendar date
	ReasonCoordinationDate Reason = "coordination-date" // a samordningsnummer whose day minus 60 is not a date
	ReasonFuture           Reason = "future"            // a birth date after today
	ReasonTooOld           Reason = "too-old"           // a year before 1850
	ReasonPlus             Reason = "plus"              // '+' in the 12-digit form of a personnummer

	ReasonOrgThirdDigit Reason = "org-third-digit" // an organisationsnummer's third digit below 2 (a personnummer)
	ReasonOrgLegalForm  Reason = "org-legal-form"  // an organisationsnummer's first digit 0 or 4

	ReasonNotCard Reason = "not-card" // all digits the same

	ReasonClearing       Reason = "clearing"        // no Swedish bank has this clearing number
	ReasonClearingLength Reason = "clearing-length" // a clearing number of other than 4 (or Swedbank's 5) digits
	ReasonClearingFive   Reason = "clearing-five"   // five digits, but not a Swedbank (8xxx-x) clearing number
	ReasonClearingCheck  Reason = "clearing-check"  // a Swedbank clearing number's fifth (check) digit is wrong
	ReasonAccountCheck   Reason = "account-check"   // the account number has not the bank's length or check digit
	ReasonIBANChars      Reason = "iban-chars"      // an IBAN with other than letters, digits and spaces
	ReasonIBANCountry    Reason = "iban-country"    // an IBAN country code not in the registry
	ReasonIBANLength     Reason = "iban-length"     // an IBAN of the wrong length for its country
	ReasonIBANFormat     Reason = "iban-format"     // an IBAN whose third and fourth characters are not digits
	ReasonIBANChecksum   Reason = "iban-checksum"   // an IBAN whose check digits are wrong (mod 97)

	ReasonEmailDomain Reason = "email-domain" // the part after @ is not a domain

	ReasonCodeCheck Reason = "code-check" // a customer code's check character does not match

	ReasonUTF8    Reason = "utf8"     // text that is not valid UTF-8
	ReasonTooLong Reason = "too-long" // text longer than Max bytes
	ReasonOneLine Reason = "one-line" // a line break in a one-line field
	ReasonControl Reason = "control"  // control characters
	ReasonTooMany Reason = "too-many" // more than Max entries in a list (addresses, cards, accounts, tags)

	ReasonDuplicate Reason = "duplicate" // a code given twice, or already in use (imports)
)

// An InvalidError is an error of the validators of this package: an
// English message (which never quotes the value) with its Reason and
// limits. The Parse functions return one (wrapped, for ParseCode).
type InvalidError struct {
	Reason   Reason
	Min, Max int // limits, where the Reason has them (ReasonLength, ReasonTooLong, ReasonTooMany)
	msg      string
}

func (e *InvalidError) Error() string { return e.msg }

// invalid is an *InvalidError without limits.
func invalid(r Reason, msg string) error { return &InvalidError{Reason: r, msg: msg} }

// ReasonOf returns the Reason and limits of a validation error of this
// package, or "" for any other error.
func ReasonOf(err error) (r Reason, min, max int) {
	if errors.Is(err, ErrCodeCheck) {
		return ReasonCodeCheck, 0, 0
	}
	var ie *InvalidError
	if errors.As(err, &ie) {
		return ie.Reason, ie.Min, ie.Max
	}
	return "", 0, 0
}
