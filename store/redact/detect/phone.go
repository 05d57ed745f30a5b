package detect

import "github.com/valv-vault/valv/store/idnumber"

// phone matches a phone number at group k.
//
// Swedish numbers start with the trunk 0 and have 8 to 10 digits:
// "070-123 45 67", "08-123 456 78", "(08) 123 45 67", "031-12 34 56". The
// area code group is 08 or three or four digits, and the subscriber number
// does not start with 0. Mobile numbers (070, 072, 073, 076, 079) have ten
// digits. Written as one group of digits, only a mobile number is taken
// (or any number next to a word such as "tel" or "mobil").
//
// International numbers start with '+' or 00 and an assigned country code,
// have at most 15 digits, and may carry the trunk digit in parentheses:
// "+46 70 123 45 67", "+46 (0)8-123 456 78", "+44 20 7946 0958",
// "+1 (415) 555-2671", "0046 70 123 45 67".
func (s *scanner) phone(k int) cand {
	b := s.b
	g0 := s.g[k]
	plus := k == 0 && s.plus >= 0
	start := g0.s
	intl := plus
	pre := 0 // the digits of an international "00" prefix
	if plus {
		start = s.plus
	} else {
		if b[g0.s] != '0' {
			return cand{}
		}
		if g0.e-g0.s >= 2 && b[g0.s+1] == '0' {
			intl, pre = true, 2
		}
	}
	paren := false // "(08) 123 45 67"
	if !intl && start > 0 && b[start-1] == '(' && g0.sep == sepClose {
		paren = true
		start--
	}
	var d [24]byte
	nd := 0
	opens := 0
	var best cand
	for m := 1; m <= 8 && k+m-1 < s.ng; m++ {
		j := k + m - 1
		if m > 1 {
			switch s.g[j-1].sep {
			case sepSpace, sepDash:
			case sepOpen:
				opens++
			case sepClose:
				if !(paren && j-1 == k) {
					opens--
				}
			default:
				return best
			}
			if opens < 0 || opens > 1 {
				return best
			}
		}
		g := s.g[j]
		if nd+g.e-g.s > len(d) {
			return best
		}
		for _, c := range b[g.s:g.e] {
			d[nd] = c - '0'
			nd++
		}
		if opens != 0 {
			continue
		}
		var conf float32
		if intl {
			conf = s.intlPhone(k, m, d[pre:nd], pre)
		} else {
			conf = s.swedishPhone(k, m, d[:nd])
		}
		if conf > 0 && s.rightOK(g.e) {
			best = cand{kind: Phone, n: m, start: start, end: g.e, conf: conf}
		}
	}
	return best
}

func (s *scanner) swedishPhone(k, m int, d []byte) float32 {
	l := len(d)
	if l < 8 || l > 10 || d[0] != 0 || d[1] == 0 {
		return 0
	}
	mobile := false
	if d[1] == 7 {
		switch d[2] {
		case 0, 2, 3, 6, 9:
			mobile = true
			if l != 10 {
				return 0
			}
		case 7, 4:
		default:
			return 0
		}
	}
	if m == 1 {
		switch c := s.contextAt(s.g[k].s); {
		case c.labels(Phone):
			return 0.9
		case mobile:
			return 0.6
		}
		return 0
	}
	// The area code is 08 or three or four digits, the subscriber number
	// five or more digits not starting with 0, in groups of two or more
	// joined by spaces.
	a := s.glen(k)
	if a < 2 || a > 4 || (a == 2 && d[1] != 8) || (mobile && a != 3) || d[a] == 0 || l-a < 5 {
		return 0
	}
	for j := k + 1; j < k+m; j++ {
		if s.glen(j) < 2 || (j > k+1 && s.g[j-1].sep != sepSpace) {
			return 0
		}
	}
	return 0.9
}

// intlPhone checks d, the digits after '+' or 00.
func (s *scanner) intlPhone(k, m int, d []byte, pre int) float32 {
	cc := countryCode(d)
	if cc == 0 || len(d) < 8 || len(d) > 15 {
		return 0
	}
	if m > 1 && s.glen(k)-pre != cc {
		return 0 // "+46 70…", not "+467 0…"
	}
	conf := float32(0.95)
	if pre > 0 {
		conf = 0.85
	}
	nsn := d[cc:]
	// "(0)": the trunk digit, shown but not dialled.
	if m > 2 && s.glen(k+1) == 1 && nsn[0] == 0 && s.sep(k) == sepOpen && s.sep(k+1) == sepClose {
		nsn = nsn[1:]
	}
	switch idnumber.Value(d[:cc]) {
	case 46:
		if len(nsn) > 0 && nsn[0] == 0 {
			nsn = nsn[1:] // "+46 070-…", a common slip
			conf -= 0.1
		}
		if len(nsn) < 7 || len(nsn) > 9 || nsn[0] == 0 {
			return 0
		}
		if nsn[0] == 7 {
			switch nsn[1] {
			case 0, 2, 3, 6, 9:
				if len(nsn) != 9 {
					return 0
				}
			}
		}
	case 1, 7:
		if len(nsn) != 10 || nsn[0] < 2 {
			return 0
		}
	default:
		if len(nsn) < 6 {
			return 0
		}
	}
	return conf
}

// countryCode returns the length of the E.164 country code that d starts
// with, or 0. Country codes are a prefix code, so there is at most one.
func countryCode(d []byte) int {
	if len(d) < 3 {
		return 0
	}
	if d[0] == 1 || d[0] == 7 {
		return 1
	}
	if d[0] == 0 {
		return 0
	}
	p2 := int(d[0])*10 + int(d[1])
	if cc2[p2] {
		return 2
	}
	if cc3[p2] {
		return 3
	}
	return 0
}

// cc2 marks the two-digit country codes; cc3 the two-digit prefixes of the
// zones with three-digit codes.
var cc2, cc3 = func() (two, three [100]bool) {
	for _, c := range []int{20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46,
		47, 48, 49, 51, 52, 53, 54, 55, 56, 57, 58, 60, 61, 62, 63, 64, 65, 66, 81, 82,
		84, 86, 90, 91, 92, 93, 94, 95, 98} {
		two[c] = true
	}
	for _, c := range []int{21, 22, 23, 24, 25, 26, 29, 35, 37, 38, 42, 50, 59, 67, 68,
		69, 80, 85, 87, 88, 96, 97, 99} {
		three[c] = true
	}
	return
}()
