package detect

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
	want := ibanLength(upper(b[i-2]), upper(b[i-1]))
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
	// Move the first four characters to the end, read letters as 10-35.
	rem := 0
	for j := 0; j < n; j++ {
		c := buf[(j+4)%n]
		if isDigit(c) {
			rem = (rem*10 + int(c-'0')) % 97
		} else {
			rem = (rem*100 + int(c-'A') + 10) % 97
		}
	}
	if rem != 1 {
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

// ibanLengths is the IBAN length of each country in the SWIFT registry.
var ibanLengths = map[[2]byte]int{
	{'A', 'D'}: 24, {'A', 'E'}: 23, {'A', 'L'}: 28, {'A', 'T'}: 20, {'A', 'Z'}: 28,
	{'B', 'A'}: 20, {'B', 'E'}: 16, {'B', 'G'}: 22, {'B', 'H'}: 22, {'B', 'I'}: 27,
	{'B', 'R'}: 29, {'B', 'Y'}: 28, {'C', 'H'}: 21, {'C', 'R'}: 22, {'C', 'Y'}: 28,
	{'C', 'Z'}: 24, {'D', 'E'}: 22, {'D', 'J'}: 27, {'D', 'K'}: 18, {'D', 'O'}: 28,
	{'E', 'E'}: 20, {'E', 'G'}: 29, {'E', 'S'}: 24, {'F', 'I'}: 18, {'F', 'K'}: 18,
	{'F', 'O'}: 18, {'F', 'R'}: 27, {'G', 'B'}: 22, {'G', 'E'}: 22, {'G', 'I'}: 23,
	{'G', 'L'}: 18, {'G', 'R'}: 27, {'G', 'T'}: 28, {'H', 'R'}: 21, {'H', 'U'}: 28,
	{'I', 'E'}: 22, {'I', 'L'}: 23, {'I', 'Q'}: 23, {'I', 'S'}: 26, {'I', 'T'}: 27,
	{'J', 'O'}: 30, {'K', 'W'}: 30, {'K', 'Z'}: 20, {'L', 'B'}: 28, {'L', 'C'}: 32,
	{'L', 'I'}: 21, {'L', 'T'}: 20, {'L', 'U'}: 20, {'L', 'V'}: 21, {'L', 'Y'}: 25,
	{'M', 'C'}: 27, {'M', 'D'}: 24, {'M', 'E'}: 22, {'M', 'K'}: 19, {'M', 'N'}: 20,
	{'M', 'R'}: 27, {'M', 'T'}: 31, {'M', 'U'}: 30, {'N', 'I'}: 28, {'N', 'L'}: 18,
	{'N', 'O'}: 15, {'O', 'M'}: 23, {'P', 'K'}: 24, {'P', 'L'}: 28, {'P', 'S'}: 29,
	{'P', 'T'}: 25, {'Q', 'A'}: 29, {'R', 'O'}: 24, {'R', 'S'}: 22, {'R', 'U'}: 33,
	{'S', 'A'}: 24, {'S', 'C'}: 31, {'S', 'D'}: 18, {'S', 'E'}: 24, {'S', 'I'}: 19,
	{'S', 'K'}: 24, {'S', 'M'}: 27, {'S', 'O'}: 23, {'S', 'T'}: 25, {'S', 'V'}: 28,
	{'T', 'L'}: 23, {'T', 'N'}: 24, {'T', 'R'}: 26, {'U', 'A'}: 29, {'V', 'A'}: 22,
	{'V', 'G'}: 24, {'X', 'K'}: 20, {'Y', 'E'}: 30,
}

func ibanLength(a, b byte) int { return ibanLengths[[2]byte{a, b}] }
