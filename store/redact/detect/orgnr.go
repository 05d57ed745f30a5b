package detect

import "github.com/valv-vault/valv/store/idnumber"

// orgnr matches an organisationsnummer at group k: NNNNNN-NNNN, NNNNNNNNNN or
// the 12-digit form 16NNNNNNNNNN. The first digit is a legal-form group
// (1-3, 5-9), the third and fourth digits are 20 or more (so it is never a
// date), and the ten digits pass Luhn. A sole trader's organisationsnummer
// is the owner's personnummer and is reported as that.
func (s *scanner) orgnr(k int) cand {
	var n int
	var dashed bool
	var d []byte
	switch l := s.glen(k); {
	case l == 6 && s.sep(k) == sepDash && s.glen(k+1) == 4:
		n, dashed = 2, true
		d = s.digits(k, 2)
	case l == 10:
		n = 1
		d = s.digits(k, 1)
	case l == 12 && s.b[s.g[k].s] == '1' && s.b[s.g[k].s+1] == '6':
		n = 1
		d = s.digits(k, 1)[2:]
	default:
		return cand{}
	}
	if !orgnrOK(d) {
		return cand{}
	}
	conf := float32(0.95)
	if !dashed {
		conf = 0.85
	}
	if s.contextAt(s.g[k].s).named(Organisationsnummer) {
		conf = 0.98
	}
	return s.span(Organisationsnummer, k, n, conf)
}

func orgnrOK(d []byte) bool {
	return d[0] != 0 && d[0] != 4 && d[2] >= 2 && idnumber.Luhn(d) && !idnumber.AllSame(d)
}

// vatSE matches a Swedish VAT number at i, the first digit after "SE":
// SE + ten digits + 01. The ten digits are an organisationsnummer, or for a
// sole trader the owner's personnummer, so it is reported as what they are.
func (s *scanner) vatSE(i int) cand {
	b := s.b
	if i < 2 || upper(b[i-2]) != 'S' || upper(b[i-1]) != 'E' || s.wordBefore(i-2) {
		return cand{}
	}
	e := i
	for e < len(b) && isDigit(b[e]) {
		e++
	}
	if e-i != 12 || b[e-2] != '0' || b[e-1] != '1' || !s.rightOK(e) {
		return cand{}
	}
	d := make([]byte, 0, 10)
	for _, c := range b[i : i+10] {
		d = append(d, c-'0')
	}
	var kind Kind
	switch {
	case orgnrOK(d):
		kind = Organisationsnummer
	default:
		k, ok := s.checkPersonnummer(d, false)
		if !ok {
			return cand{}
		}
		kind = k
	}
	if !s.kinds.Has(kind) {
		return cand{}
	}
	return cand{kind: kind, n: 1, start: i - 2, end: e, conf: 0.95}
}
