package customer

// Helpers for reading what a person typed as digits. Digits are values
// 0–9, not ASCII, as store/idnumber takes them.

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
