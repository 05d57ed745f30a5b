package detect

import "github.com/valv-vault/valv/store/idnumber"

// card matches a payment card number (PAN) at group k: 13 to 19 digits,
// written together or in groups of four (the last shorter) or in the
// 4-6-5 and 4-6-4 groups of American Express and Diners, joined by spaces or
// dashes, never mixed. The issuer prefix must be one in use for that length,
// and the digits pass Luhn.
func (s *scanner) card(k int) cand {
	if l := s.glen(k); l >= 13 && l <= 19 {
		d := s.digits(k, 1)
		if cardNumber(d) {
			return s.span(Card, k, 1, 0.9)
		}
		return cand{}
	}
	if s.glen(k) != 4 {
		return cand{}
	}
	sep := s.sep(k)
	if sep != sepSpace && sep != sepDash {
		return cand{}
	}
	// Amex and Diners: 4-6-5 and 4-6-4.
	if s.glen(k+1) == 6 && s.sep(k+1) == sep {
		if l := s.glen(k + 2); l == 5 || l == 4 {
			if cardNumber(s.digits(k, 3)) {
				return s.span(Card, k, 3, 0.95)
			}
		}
		return cand{}
	}
	// Groups of four, the last one to four digits; try the longest first.
	m := 1
	for m < 5 && s.glen(k+m-1) == 4 && s.sep(k+m-1) == sep && s.glen(k+m) >= 1 && s.glen(k+m) <= 4 {
		m++
	}
	for ; m >= 4; m-- {
		total := 4*(m-1) + s.glen(k+m-1)
		if total < 13 || total > 19 {
			continue
		}
		if cardNumber(s.digits(k, m)) {
			if c := s.span(Card, k, m, 0.95); c.n > 0 {
				return c
			}
		}
	}
	return cand{}
}

// cardNumber reports whether d is a card number: a known issuer prefix for
// its length, and Luhn.
func cardNumber(d []byte) bool {
	l := len(d)
	if l < 13 || l > 19 || !issuer(d, l) || idnumber.AllSame(d) {
		return false
	}
	return idnumber.Luhn(d)
}

func issuer(d []byte, l int) bool {
	p2, p3, p4 := idnumber.Value(d[:2]), idnumber.Value(d[:3]), idnumber.Value(d[:4])
	switch {
	case d[0] == 4: // Visa
		return l == 13 || l == 16 || l == 19
	case p2 >= 51 && p2 <= 55: // Mastercard
		return l == 16
	case p4 >= 2221 && p4 <= 2720: // Mastercard 2-series
		return l == 16
	case p4 >= 2200 && p4 <= 2204: // Mir
		return l >= 16
	case p2 == 34 || p2 == 37: // American Express
		return l == 15
	case p3 >= 300 && p3 <= 305, p2 == 36, p2 == 38, p2 == 39: // Diners Club
		return l >= 14
	case p4 >= 3528 && p4 <= 3589: // JCB
		return l >= 16
	case p4 == 6011, p3 >= 644 && p3 <= 649, p2 == 65: // Discover
		return l >= 16
	case p2 == 62: // UnionPay
		return l >= 16
	case p2 == 50, p2 >= 56 && p2 <= 69: // Maestro
		return l >= 12
	}
	return false
}
