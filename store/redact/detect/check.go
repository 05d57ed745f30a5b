package detect

import "github.com/valv-vault/valv/store/idnumber"

// The check-digit algorithms (Luhn, mod 11, mod 97) and the reference
// tables (clearing numbers, IBAN lengths) are in store/idnumber, shared
// with the customer validators.

type date struct{ y, m, d int }

func (a date) before(b date) bool {
	if a.y != b.y {
		return a.y < b.y
	}
	if a.m != b.m {
		return a.m < b.m
	}
	return a.d < b.d
}

// valid reports whether a is a real calendar date.
func (a date) valid() bool { return idnumber.ValidDate(a.y, a.m, a.d) }
