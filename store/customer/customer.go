// Package customer defines a Valv customer record: its code, its fields,
// their validation and their masked display forms.
//
// The package holds no keys and touches no files; the vault store
// (package store) seals records with the compartment's keys. Validation is
// done here so that the CLI, CSV import and the GUI give the same per-field
// messages ([FieldErrors]); each carries a [Reason] code, so that the GUI
// can word it in Swedish or English (the English message is the CLI's).
//
// No error message of this package quotes a field's value: values are
// personal data and errors reach logs and terminals.
package customer

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// A Customer is one customer record. Fields hold canonical forms after
// [Customer.Normalize].
type Customer struct {
	Code Code   `json:"code"`
	Name string `json:"name"`
	// PersonalNumber is a personnummer or samordningsnummer, YYYYMMDD-NNNN.
	PersonalNumber string   `json:"personnummer,omitempty"`
	OrgNumber      string   `json:"organisationsnummer,omitempty"` // NNNNNN-NNNN
	Addresses      []string `json:"addresses,omitempty"`           // free form, may span lines
	Phone          string   `json:"phone,omitempty"`
	Email          string   `json:"email,omitempty"`
	Cards          []string `json:"cards,omitempty"`    // digits only
	Accounts       []string `json:"accounts,omitempty"` // IBAN or Swedish CCCC-NNNNNNN
	Notes          string   `json:"notes,omitempty"`
	Tags           []string `json:"tags,omitempty"`
	// RetainUntil is the retention date, YYYY-MM-DD: the record may be
	// erased after it.
	RetainUntil string `json:"retain_until,omitempty"`
}

// Limits on free-text fields, in bytes.
const (
	MaxName    = 200
	MaxAddress = 500
	MaxNotes   = 64 << 10
	MaxTag     = 64
	MaxTags    = 50
	MaxList    = 20 // addresses, cards, accounts
)

// A FieldError says what is wrong with one field. Field is the field's
// JSON name, with an index for list fields ("cards[1]"). Message never
// quotes the value.
//
// Reason says why in a form a program can test, with its limits in Min
// and Max (see [Reason]); it is "" where the message has none (a check
// made outside this package).
type FieldError struct {
	Field    string
	Message  string
	Reason   Reason
	Min, Max int
}

func (e FieldError) Error() string { return e.Field + ": " + e.Message }

// FieldErrors is every problem found in a record, in field order.
type FieldErrors []FieldError

func (e FieldErrors) Error() string {
	var b strings.Builder
	for i, f := range e {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f.Error())
	}
	return b.String()
}

// For returns the message for the field, or "".
func (e FieldErrors) For(field string) string {
	for _, f := range e {
		if f.Field == field {
			return f.Message
		}
	}
	return ""
}

// AsFieldErrors returns the FieldErrors in err's chain, if any.
func AsFieldErrors(err error) (FieldErrors, bool) {
	var fe FieldErrors
	ok := errors.As(err, &fe)
	return fe, ok
}

// Normalize checks every field, rewrites the valid ones in their canonical
// form, and returns all problems as [FieldErrors] (nil if there are none).
// today decides the century of 10-digit personal numbers and rejects birth
// dates in the future. The code is checked only if set: the store assigns
// codes to new customers.
func (c *Customer) Normalize(today time.Time) error {
	var errs FieldErrors
	add := func(field string, err error) {
		r, lo, hi := ReasonOf(err)
		errs = append(errs, FieldError{Field: field, Message: err.Error(), Reason: r, Min: lo, Max: hi})
	}
	if c.Code != "" {
		if code, err := ParseCode(string(c.Code)); err != nil {
			r, lo, hi := ReasonOf(err)
			errs = append(errs, FieldError{Field: "code", Message: strings.TrimPrefix(err.Error(), "customer code: "), Reason: r, Min: lo, Max: hi})
		} else {
			c.Code = code
		}
	}
	c.Name = strings.Join(strings.Fields(c.Name), " ")
	switch {
	case c.Name == "":
		add("name", invalid(ReasonRequired, "required"))
	default:
		if err := checkText(c.Name, MaxName, false); err != nil {
			add("name", err)
		}
	}
	if c.PersonalNumber = strings.TrimSpace(c.PersonalNumber); c.PersonalNumber != "" {
		if n, _, err := ParsePersonalNumber(c.PersonalNumber, today); err != nil {
			add("personnummer", err)
		} else {
			c.PersonalNumber = n
		}
	}
	if c.OrgNumber = strings.TrimSpace(c.OrgNumber); c.OrgNumber != "" {
		if n, err := ParseOrgNumber(c.OrgNumber); err != nil {
			add("organisationsnummer", err)
		} else {
			c.OrgNumber = n
		}
	}
	c.Addresses = compact(c.Addresses)
	if len(c.Addresses) > MaxList {
		add("addresses", tooMany("addresses", MaxList))
	}
	for i, a := range c.Addresses {
		if err := checkText(a, MaxAddress, true); err != nil {
			add(fmt.Sprintf("addresses[%d]", i), err)
		}
	}
	if c.Phone = strings.TrimSpace(c.Phone); c.Phone != "" {
		if n, err := ParsePhone(c.Phone); err != nil {
			add("phone", err)
		} else {
			c.Phone = n
		}
	}
	if c.Email = strings.TrimSpace(c.Email); c.Email != "" {
		if n, err := ParseEmail(c.Email); err != nil {
			add("email", err)
		} else {
			c.Email = n
		}
	}
	c.Cards = compact(c.Cards)
	if len(c.Cards) > MaxList {
		add("cards", tooMany("cards", MaxList))
	}
	for i, v := range c.Cards {
		if n, err := ParseCard(v); err != nil {
			add(fmt.Sprintf("cards[%d]", i), err)
		} else {
			c.Cards[i] = n
		}
	}
	c.Accounts = compact(c.Accounts)
	if len(c.Accounts) > MaxList {
		add("accounts", tooMany("accounts", MaxList))
	}
	for i, v := range c.Accounts {
		if n, err := ParseAccount(v); err != nil {
			add(fmt.Sprintf("accounts[%d]", i), err)
		} else {
			c.Accounts[i] = n
		}
	}
	if err := checkText(c.Notes, MaxNotes, true); err != nil {
		add("notes", err)
	}
	c.Tags = normalizeTags(c.Tags)
	if len(c.Tags) > MaxTags {
		add("tags", tooMany("tags", MaxTags))
	}
	for i, t := range c.Tags {
		if err := checkText(t, MaxTag, false); err != nil {
			add(fmt.Sprintf("tags[%d]", i), err)
		}
	}
	if c.RetainUntil = strings.TrimSpace(c.RetainUntil); c.RetainUntil != "" {
		if n, err := ParseDate(c.RetainUntil); err != nil {
			add("retain_until", err)
		} else {
			c.RetainUntil = n
		}
	}
	if errs != nil {
		return errs
	}
	return nil
}

// tooMany is the error of a list with more than max entries.
func tooMany(what string, max int) error {
	return &InvalidError{Reason: ReasonTooMany, Max: max, msg: fmt.Sprintf("at most %d %s", max, what)}
}

// compact trims the entries of a list and drops the empty ones.
func compact(list []string) []string {
	out := list[:0]
	for _, s := range list {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// normalizeTags trims tags, collapses inner spaces and drops empty tags and
// duplicates (ignoring case), keeping the first spelling.
func normalizeTags(tags []string) []string {
	var out []string
	for _, t := range tags {
		t = strings.Join(strings.Fields(t), " ")
		if t == "" || slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, t) }) {
			continue
		}
		out = append(out, t)
	}
	return out
}

// Clone returns a deep copy of c.
func (c *Customer) Clone() Customer {
	d := *c
	d.Addresses = cloneList(c.Addresses)
	d.Cards = cloneList(c.Cards)
	d.Accounts = cloneList(c.Accounts)
	d.Tags = cloneList(c.Tags)
	return d
}

func cloneList(l []string) []string {
	if l == nil {
		return nil
	}
	return append([]string(nil), l...)
}

// Masked returns a copy of c for display before reveal: personal numbers
// show the birth date only, cards at most the first six and last four
// digits, accounts the first four and last four characters.
func (c *Customer) Masked() Customer {
	d := c.Clone()
	d.PersonalNumber = MaskPersonalNumber(d.PersonalNumber)
	for i, v := range d.Cards {
		d.Cards[i] = MaskCard(v)
	}
	for i, v := range d.Accounts {
		d.Accounts[i] = MaskAccount(v)
	}
	return d
}

// MaskPersonalNumber keeps the date part of a normalized personal number:
// "19850315-1234" becomes "19850315-****".
func MaskPersonalNumber(s string) string {
	if i := strings.IndexByte(s, '-'); i >= 0 {
		return s[:i+1] + strings.Repeat("*", len(s)-i-1)
	}
	return mask(s, 0, 0)
}

// MaskCard keeps at most the first six and the last four digits (the
// most PCI DSS allows to display): "4111111111111111" becomes
// "411111******1111".
func MaskCard(s string) string { return mask(s, 6, 4) }

// MaskAccount keeps the first four characters (an IBAN's country and check
// digits, or the clearing number, which names the bank) and the last four.
func MaskAccount(s string) string {
	if i := strings.IndexByte(s, '-'); i >= 0 && i <= 5 {
		return s[:i+1] + mask(s[i+1:], 0, 4)
	}
	return mask(s, 4, 4)
}

// mask replaces all but the first head and last tail runes with '*'. Too
// short a value is masked entirely.
func mask(s string, head, tail int) string {
	r := []rune(s)
	if len(r) <= head+tail+2 {
		head, tail = 0, 0
	}
	for i := head; i < len(r)-tail; i++ {
		r[i] = '*'
	}
	return string(r)
}
