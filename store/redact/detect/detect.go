// Package detect finds identifying numbers in text: Swedish personnummer and
// samordningsnummer, organisationsnummer, payment cards, IBANs, Swedish bank
// accounts, Bankgiro and Plusgiro numbers, e-mail addresses and phone
// numbers.
//
// Every detector checks what the number's issuer checks (Luhn, mod 97,
// mod 11, a real calendar date, known prefixes and lengths), so order
// numbers, dates, amounts and numbers that fail their check digit do not
// match. All detectors share one pass over the input: it stops only at digit
// runs, '+' and '@', and hands each candidate to the detectors that can
// start there.
//
// The input is treated as UTF-8 but need not be valid. Every Match is a
// byte span of the input that starts and ends on a rune boundary.
package detect

import (
	"fmt"
	"time"
)

// Kind is a kind of identifying value.
type Kind uint8

// The kinds of value the detectors find.
const (
	Personnummer        Kind = iota + 1 // Swedish personal identity number
	Samordningsnummer                   // Swedish co-ordination number (day + 60)
	Organisationsnummer                 // Swedish organisation number
	Card                                // payment card number (PAN)
	IBAN                                // international bank account number
	BankAccount                         // Swedish clearing + account number
	Bankgiro                            // Swedish Bankgiro number
	Plusgiro                            // Swedish Plusgiro number
	Email                               // e-mail address
	Phone                               // Swedish or international phone number
	numKinds
)

// Kinds lists every kind, in the order of the constants above.
var Kinds = []Kind{Personnummer, Samordningsnummer, Organisationsnummer, Card,
	IBAN, BankAccount, Bankgiro, Plusgiro, Email, Phone}

var kindNames = [numKinds]string{
	Personnummer:        "personnummer",
	Samordningsnummer:   "samordningsnummer",
	Organisationsnummer: "organisationsnummer",
	Card:                "card",
	IBAN:                "iban",
	BankAccount:         "bankaccount",
	Bankgiro:            "bankgiro",
	Plusgiro:            "plusgiro",
	Email:               "email",
	Phone:               "phone",
}

// String returns the kind's lower-case name, as used in reports and in
// ParseKind.
func (k Kind) String() string {
	if k == 0 || k >= numKinds {
		return fmt.Sprintf("Kind(%d)", uint8(k))
	}
	return kindNames[k]
}

// MarshalText returns the kind's name, so reports encode as JSON readably.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText parses a kind's name.
func (k *Kind) UnmarshalText(b []byte) error {
	v, err := ParseKind(string(b))
	*k = v
	return err
}

// ParseKind returns the kind named s (as returned by Kind.String).
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if kindNames[k] == s {
			return k, nil
		}
	}
	return 0, fmt.Errorf("detect: unknown kind %q; use one of personnummer, samordningsnummer, organisationsnummer, card, iban, bankaccount, bankgiro, plusgiro, email, phone", s)
}

// Set is a set of kinds. The zero Set means every kind.
type Set uint16

// All is the set of every kind.
const All Set = 1<<numKinds - 2

// SetOf returns the set holding kinds.
func SetOf(kinds ...Kind) Set {
	var s Set
	for _, k := range kinds {
		if k > 0 && k < numKinds {
			s |= 1 << k
		}
	}
	return s
}

// Has reports whether k is in s. Every kind is in the zero Set.
func (s Set) Has(k Kind) bool {
	if s == 0 {
		s = All
	}
	return s&(1<<k) != 0
}

// Match is one value found in the input: b[Start:End] is the value as
// written, including its separators.
type Match struct {
	Kind       Kind
	Start, End int
	// Confidence is between 0 and 1: how likely the span is a real value
	// of Kind rather than another number that happens to pass the checks.
	// Values written in their usual format, or next to a word that names
	// them ("personnummer", "tel", "bankgiro"), score higher.
	Confidence float32
}

// A Detector finds values. The zero Detector finds every kind and takes
// "today" from the clock; it is safe for concurrent use.
type Detector struct {
	// Kinds restricts the detector to these kinds. Zero means all.
	Kinds Set
	// Now is the date against which the century of a 10-digit
	// personnummer is decided ('-' means under 100 years old on that day,
	// '+' 100 or older). Zero means time.Now().
	Now time.Time
}

// Find returns the values in b, in order, none overlapping.
func Find(b []byte) []Match {
	var d Detector
	return d.Append(nil, b, "")
}

// Find returns the values in b, in order, none overlapping.
func (d *Detector) Find(b []byte) []Match {
	return d.Append(nil, b, "")
}

// Append appends the values in b to dst and returns it. hint is context
// that precedes b but is not part of it, such as a CSV column name or a
// JSON key; it helps to tell, say, a phone number written without
// separators from a personnummer.
func (d *Detector) Append(dst []Match, b []byte, hint string) []Match {
	s := scanner{b: b, hint: hint, kinds: d.Kinds, dst: dst}
	if s.kinds == 0 {
		s.kinds = All
	}
	now := d.Now
	if now.IsZero() {
		now = time.Now()
	}
	y, m, day := now.Date()
	s.today = date{y, int(m), day}
	s.scan()
	return s.dst
}
