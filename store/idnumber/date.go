package idnumber

// IsLeap reports whether y is a leap year of the Gregorian calendar.
func IsLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// DaysIn returns the number of days of month m (1–12) of year y, or 0 if
// m is not a month.
func DaysIn(y, m int) int {
	switch m {
	case 2:
		if IsLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	case 1, 3, 5, 7, 8, 10, 12:
		return 31
	}
	return 0
}

// ValidDate reports whether y-m-d is a real calendar date (proleptic
// Gregorian).
func ValidDate(y, m, d int) bool {
	return d >= 1 && d <= DaysIn(y, m)
}
