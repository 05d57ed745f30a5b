package detect

import "github.com/valv-vault/valv/store/idnumber"

// personnummer matches a personnummer or samordningsnummer at group k:
// YYMMDD-NNNN, YYMMDD+NNNN (100 years or older), YYMMDDNNNN,
// YYYYMMDD-NNNN or YYYYMMDDNNNN, and with a space for the dash right after
// the word "personnummer" or the like. The last ten digits pass Luhn, the date is
// a real calendar date (for a samordningsnummer, day minus 60) and not in
// the future.
func (s *scanner) personnummer(k int) cand {
	var n, full int // groups taken; 10 or 12 digits
	var sep sepKind
	switch l := s.glen(k); {
	case l == 6 && (s.sep(k) == sepDash || s.sep(k) == sepPlus) && s.glen(k+1) == 4:
		n, full, sep = 2, 10, s.sep(k)
	case l == 10:
		n, full = 1, 10
	case l == 8 && s.sep(k) == sepDash && s.glen(k+1) == 4:
		n, full, sep = 2, 12, sepDash
	case l == 12:
		n, full = 1, 12
	case (l == 6 || l == 8) && s.sep(k) == sepSpace && s.glen(k+1) == 4:
		// "850312 1234": taken only after a word such as
		// "personnummer".
		if c := s.contextAt(s.g[k].s); !c.labels(Personnummer) && !c.labels(Samordningsnummer) {
			return cand{}
		}
		n, full, sep = 2, l+4, sepSpace
	default:
		return cand{}
	}
	d := s.digits(k, n)
	kind, ok := s.checkPersonnummer(d, sep == sepPlus)
	if !ok {
		return cand{}
	}
	if sep == sepSpace {
		sep = sepDash
	}
	var conf float32
	switch {
	case sep != sepEnd && full == 12:
		conf = 0.98
	case sep != sepEnd:
		conf = 0.97
	case full == 12:
		conf = 0.93
	default:
		conf = 0.9
	}
	if sep == sepEnd {
		c := s.contextAt(s.g[k].s)
		switch {
		case c.nearest == Personnummer || c.nearest == Samordningsnummer:
			conf = 0.99
		case c.nearest != 0 && c.nearest != kind:
			// "Tel: 0701234567" is a phone number even if it could be
			// a date and pass Luhn.
			conf = 0.5
		}
	}
	return s.span(kind, k, n, conf)
}

// checkPersonnummer checks 10 or 12 digits as a personnummer or
// samordningsnummer; plus is the '+' of the 10-digit form.
func (s *scanner) checkPersonnummer(d []byte, plus bool) (Kind, bool) {
	full := len(d)
	last10 := d[full-10:]
	if !idnumber.Luhn(last10) || idnumber.AllSame(last10) {
		return 0, false
	}
	kind := Personnummer
	dt := date{m: idnumber.Value(d[full-8 : full-6]), d: idnumber.Value(d[full-6 : full-4])}
	if dt.d > 60 {
		kind = Samordningsnummer
		dt.d -= 60
	}
	if full == 12 {
		dt.y = idnumber.Value(d[:4])
		if dt.y < 1800 {
			return 0, false
		}
	} else {
		// The century: the latest one that puts the date on or before
		// today; '+' adds a hundred years of age.
		yy := idnumber.Value(d[:2])
		dt.y = s.today.y - s.today.y%100 + yy
		if s.today.before(dt) {
			dt.y -= 100
		}
		if plus {
			dt.y -= 100
		}
	}
	if !dt.valid() || s.today.before(dt) {
		return 0, false
	}
	return kind, true
}
