// Package idnumber holds the check-digit algorithms and reference tables
// for Swedish and international identifying numbers — Luhn, mod 11,
// calendar dates, bank clearing-number ranges, IBAN country lengths —
// shared by the customer validators and the redaction detectors.
//
// Digits are passed as byte slices of values 0–9, not ASCII, so that a
// caller can collect them without allocating; nothing here allocates.
package idnumber

// Luhn reports whether the digits d pass the Luhn (mod 10) check, the last
// digit being the check digit. It is false for no digits.
func Luhn(d []byte) bool {
	if len(d) == 0 {
		return false
	}
	sum := 0
	double := false
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i])
		if double {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return sum%10 == 0
}

// Mod11 reports whether the digits d pass the mod 11 check of Swedish bank
// accounts: weights 1, 2, …, 10, 1, 2, … from the right, the sum divisible
// by 11. It is false for no digits.
func Mod11(d []byte) bool {
	if len(d) == 0 {
		return false
	}
	sum, w := 0, 1
	for i := len(d) - 1; i >= 0; i-- {
		sum += int(d[i]) * w
		if w++; w > 10 {
			w = 1
		}
	}
	return sum%11 == 0
}

// Value returns the decimal value of the digits d (0 for none).
func Value(d []byte) int {
	n := 0
	for _, v := range d {
		n = n*10 + int(v)
	}
	return n
}

// AllSame reports whether every digit in d is the same, as in 0000000000
// (true for no digits).
func AllSame(d []byte) bool {
	for _, v := range d {
		if v != d[0] {
			return false
		}
	}
	return true
}
