package detect

import "github.com/valv-vault/valv/store/idnumber"

// bankAccount matches a clearing number and account number at group k:
// "5000-1234567", "6789 123 456 789", "8327-9, 123 456 789-0" written as
// "8327-9 123 456 789-0", "83279-1234567890". Written without any
// separator, it is taken only next to a word such as "konto" or "account".
func (s *scanner) bankAccount(k int) cand {
	var cl [5]byte
	var a int // first group of the account number
	conf := float32(0.75)
	switch l := s.glen(k); {
	case l == 4:
		copy(cl[:], s.digits(k, 1))
		a = k + 1
		if s.sep(k) == sepDash && s.glen(k+1) == 1 && cl[0] == 8 {
			// Swedbank's fifth clearing digit.
			cl[4] = s.b[s.g[k+1].s] - '0'
			if !idnumber.Luhn(cl[:5]) {
				return cand{}
			}
			conf = 0.85
			a = k + 2
			if sp := s.sep(k + 1); sp != sepSpace && sp != sepDash {
				return cand{}
			}
		} else if sp := s.sep(k); sp != sepSpace && sp != sepDash {
			return cand{}
		}
	case l == 5 && s.b[s.g[k].s] == '8':
		copy(cl[:], s.digits(k, 1))
		if !idnumber.Luhn(cl[:5]) {
			return cand{}
		}
		a = k + 1
		conf = 0.85
		if sp := s.sep(k); sp != sepSpace && sp != sepDash {
			return cand{}
		}
	case l >= 11 && l <= 15:
		return s.bankAccountWhole(k)
	default:
		return cand{}
	}
	t := idnumber.ClearingType(idnumber.Value(cl[:4]))
	if t == 0 || a >= s.ng {
		return cand{}
	}
	m := 1
	for m < 5 && a+m < s.ng && (s.sep(a+m-1) == sepSpace || s.sep(a+m-1) == sepDash) {
		m++
	}
	for ; m >= 1; m-- {
		acc := s.digits(a, m)
		if acc == nil || !idnumber.ValidAccount(t, cl[:4], acc) {
			continue
		}
		if s.contextAt(s.g[k].s).named(BankAccount) {
			conf = 0.95
		}
		if c := s.span(BankAccount, k, a+m-k, conf); c.n > 0 {
			return c
		}
	}
	return cand{}
}

// bankAccountWhole matches a clearing and account number written as one
// group of digits, next to a word that says it is an account.
func (s *scanner) bankAccountWhole(k int) cand {
	if !s.contextAt(s.g[k].s).labels(BankAccount) {
		return cand{}
	}
	d := s.digits(k, 1)
	cl := d[:4]
	acc := d[4:]
	if d[0] == 8 && idnumber.Luhn(d[:5]) && idnumber.ValidAccount(idnumber.Type2Comment3, cl, d[5:]) {
		return s.span(BankAccount, k, 1, 0.9)
	}
	if t := idnumber.ClearingType(idnumber.Value(cl)); t != 0 && idnumber.ValidAccount(t, cl, acc) {
		return s.span(BankAccount, k, 1, 0.9)
	}
	return cand{}
}
