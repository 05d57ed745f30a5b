package detect

import "github.com/valv-vault/valv/store/idnumber"

// iban matches an IBAN whose check digits start at i, just after the two
// letters of the country code: "SE45 5000 0000 0583 9825 7466" (groups of
// four) or "SE4550000000058398257466". The length must be the country's and
// the number must pass mod 97. If it does not, skip is the end of what looks
// like an IBAN, so that no other number is found inside it.
func (s *scanner) iban(i int) (c cand, skip int) {
	defer func() {
		if c.n == 0 && skip == 0 {
			skip = s.ibanExtent(i - 2)
		}
	}()
	b := s.b
	if i < 2 || !isLetter(b[i-2]) || !isLetter(b[i-1]) || s.wordBefore(i-2) {
		return cand{}, i
	}
	want := idnumber.IBANLength(upper(b[i-2]), upper(b[i-1]))
	if want == 0 {
		return cand{}, i
	}
	var buf [34]byte
	n := 0
	p := i - 2
	for n < want && p < len(b) {
		c := b[p]
		switch {
		case isAlnum(c):
			buf[n] = upper(c)
			n++
			p++
		case c == ' ' && n%4 == 0 && p+1 < len(b) && isAlnum(b[p+1]):
			p++
		default:
			goto done
		}
	}
done:
	if n != want || !isDigit(buf[2]) || !isDigit(buf[3]) || !s.rightOK(p) {
		return cand{}, 0
	}
	if !idnumber.IBANMod97(buf[:n]) {
		return cand{}, 0
	}
	return cand{kind: IBAN, n: 1, start: i - 2, end: p, conf: 0.99}, p
}

// ibanExtent returns the end of an IBAN-like token at i (a country code):
// up to 34 letters and digits, in groups of four joined by single spaces.
func (s *scanner) ibanExtent(i int) int {
	b := s.b
	p, n := i, 0
	for p < len(b) && n < 34 {
		switch {
		case isAlnum(b[p]):
			p++
			n++
		case b[p] == ' ' && n%4 == 0 && p+1 < len(b) && isAlnum(b[p+1]):
			p++
		default:
			return max(p, i+1)
		}
	}
	return p
}

func isLetter(c byte) bool { return (c|0x20)-'a' < 26 }

func upper(c byte) byte {
	if c-'a' < 26 {
		return c - 'a' + 'A'
	}
	return c
}
