package customer

// The arithmetic checks behind the validators. Digits are values 0–9, not
// ASCII.

// luhn reports whether the digits pass the Luhn (mod 10) check, the last
// digit being the check digit.
func luhn(d []byte) bool {
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

// mod11 reports whether the digits pass the mod 11 check of Swedish bank
// accounts: weights 1, 2, …, 10, 1, 2, … from the right.
func mod11(d []byte) bool {
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

// num returns the value of the digits.
func num(d []byte) int {
	n := 0
	for _, v := range d {
		n = n*10 + int(v)
	}
	return n
}

// allSame reports whether every digit is the same, as in 0000000000.
func allSame(d []byte) bool {
	for _, v := range d {
		if v != d[0] {
			return false
		}
	}
	return true
}

// digitsOf returns the digits of s, skipping the separators in seps, or
// ok=false if s holds anything else.
func digitsOf(s, seps string) (d []byte, ok bool) {
	d = make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			d = append(d, c-'0')
		case containsByte(seps, c):
		default:
			return nil, false
		}
	}
	return d, true
}

func containsByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}

func ascii(d []byte) string {
	b := make([]byte, len(d))
	for i, v := range d {
		b[i] = '0' + v
	}
	return string(b)
}

// daysIn returns the number of days of a month (1–12).
func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func validDate(y, m, d int) bool {
	return m >= 1 && m <= 12 && d >= 1 && d <= daysIn(y, m)
}
