package detect

import "github.com/valv-vault/valv/store/idnumber"

// bankgiro matches a Bankgiro number at group k: seven or eight digits
// written NNN-NNNN or NNNN-NNNN, passing Luhn. Written without the dash, or
// as a range of years ("1990-2010"), it is taken only next to "bankgiro" or
// "BG".
func (s *scanner) bankgiro(k int) cand {
	l0 := s.glen(k)
	if (l0 == 3 || l0 == 4) && s.sep(k) == sepDash && s.glen(k+1) == 4 {
		d := s.digits(k, 2)
		if d[0] == 0 || !idnumber.Luhn(d) || idnumber.AllSame(d) {
			return cand{}
		}
		c := s.contextAt(s.g[k].s)
		named := c.named(Bankgiro)
		if l0 == 4 && yearLike(d[:4]) && yearLike(d[4:]) && !named {
			return cand{}
		}
		conf := float32(0.8)
		switch {
		case c.nearest == Bankgiro:
			conf = 0.97
		case c.nearest != 0:
			conf = 0.6
		}
		return s.span(Bankgiro, k, 2, conf)
	}
	if (l0 == 7 || l0 == 8) && s.sep(k) != sepDash {
		d := s.digits(k, 1)
		if d[0] == 0 || !idnumber.Luhn(d) || dateLike(d) || !s.contextAt(s.g[k].s).labels(Bankgiro) {
			return cand{}
		}
		return s.span(Bankgiro, k, 1, 0.9)
	}
	return cand{}
}

// dateLike reports whether eight digits read as a date, YYYYMMDD.
func dateLike(d []byte) bool {
	return len(d) == 8 && yearLike(d[:4]) && date{idnumber.Value(d[:4]), idnumber.Value(d[4:6]), idnumber.Value(d[6:])}.valid()
}

func yearLike(d []byte) bool {
	y := idnumber.Value(d)
	return y >= 1800 && y <= 2199
}

// plusgiro matches a Plusgiro number at group k: five to eight digits (the
// two- to four-digit numbers of old are not taken: too many things look like
// them), the
// last one (the Luhn check digit) set off by a dash, the others in pairs
// from the right: "4 78 90-1", "12 34 56-7". Written otherwise ("123456-7",
// "1234567") it is taken only next to "plusgiro" or "PG".
func (s *scanner) plusgiro(k int) cand {
	j := k
	for j < s.ng && j-k < 4 && s.sep(j) == sepSpace {
		j++
	}
	if j >= s.ng || s.sep(j) != sepDash || s.glen(j+1) != 1 {
		// Without the dash, only next to the word.
		if l := s.glen(k); j == k && l >= 5 && l <= 8 && s.sep(k) != sepDash {
			if d := s.digits(k, 1); idnumber.Luhn(d) && !idnumber.AllSame(d) && !dateLike(d) && s.contextAt(s.g[k].s).labels(Plusgiro) {
				return s.span(Plusgiro, k, 1, 0.9)
			}
		}
		return cand{}
	}
	n := j + 2 - k
	d := s.digits(k, n)
	if len(d) < 5 || len(d) > 8 || !idnumber.Luhn(d) || idnumber.AllSame(d) {
		return cand{}
	}
	paired := j > k && s.glen(k) <= 3
	for i := k + 1; i <= j; i++ {
		paired = paired && s.glen(i) == 2
	}
	conf := float32(0.8)
	switch {
	case s.contextAt(s.g[k].s).labels(Plusgiro):
		conf = 0.97
	case !paired || len(d) < 6:
		return cand{}
	}
	return s.span(Plusgiro, k, n, conf)
}
