package detect

// luhn reports whether the decimal digits d (values 0-9, not ASCII) pass the
// Luhn (mod 10) check, the last digit being the check digit.
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

// mod11 reports whether the digits d pass the mod 11 check used for Swedish
// bank accounts: weights 1, 2, 3, …, 10, 1, 2, … from the right, sum
// divisible by 11.
func mod11(d []byte) bool {
	if len(d) == 0 {
		return false
	}
	sum := 0
	w := 1
	for i := len(d) - 1; i >= 0; i-- {
		sum += int(d[i]) * w
		w++
		if w > 10 {
			w = 1
		}
	}
	return sum%11 == 0
}

// num returns the value of the digits d.
func num(d []byte) int {
	n := 0
	for _, v := range d {
		n = n*10 + int(v)
	}
	return n
}

// allSame reports whether every digit in d is the same, as in 0000000000.
func allSame(d []byte) bool {
	for _, v := range d[1:] {
		if v != d[0] {
			return false
		}
	}
	return true
}

type date struct{ y, m, d int }

func (a date) before(b date) bool {
	if a.y != b.y {
		return a.y < b.y
	}
	if a.m != b.m {
		return a.m < b.m
	}
	return a.d < b.d
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// valid reports whether a is a real calendar date.
func (a date) valid() bool {
	if a.m < 1 || a.m > 12 || a.d < 1 {
		return false
	}
	days := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[a.m]
	if a.m == 2 && isLeap(a.y) {
		days = 29
	}
	return a.d <= days
}
