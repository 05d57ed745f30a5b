package idnumber

import "testing"

// digits turns "1234" into []byte{1, 2, 3, 4}; other characters are
// skipped, so that numbers can be written as people write them.
func digits(s string) []byte {
	var d []byte
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= '0' && c <= '9' {
			d = append(d, c-'0')
		}
	}
	return d
}

func TestLuhn(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"79927398713", true},         // the textbook example
		{"79927398710", false},        // …with a wrong check digit
		{"4111 1111 1111 1111", true}, // Visa test card
		{"4111 1111 1111 1112", false},
		{"3782 822463 10005", true}, // American Express test card
		{"121212-1212", true},       // personnummer (Skatteverket's example)
		{"121212-1213", false},
		{"811228-9874", true},
		{"556012-5790", true}, // organisationsnummer
		{"556012-5791", false},
		{"8327-9", true}, // Swedbank five-digit clearing number
		{"8327-8", false},
		{"0", true},
		{"", false},
	} {
		if got := Luhn(digits(tt.in)); got != tt.want {
			t.Errorf("Luhn(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	// Every single-digit change of a valid number is caught.
	d := digits("4111111111111111")
	for i := range d {
		for v := byte(0); v < 10; v++ {
			if v == d[i] {
				continue
			}
			e := append([]byte(nil), d...)
			e[i] = v
			if Luhn(e) {
				t.Errorf("Luhn accepts %v (digit %d changed)", e, i)
			}
		}
	}
}

func TestMod11(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"123 456 789", true}, // Handelsbanken: 9+16+21+24+25+24+21+16+9 = 165 = 15·11
		{"123 456 788", false},
		{"000 1234560", true}, // SEB 5000-1234560: "000" and the account
		{"000 1234561", false},
		{"9550 1234566", true}, // Avanza 9550-1234566: whole clearing number; 11 digits, so weights wrap
		{"9550 1234567", false},
		{"0", true},
		{"", false},
	} {
		if got := Mod11(digits(tt.in)); got != tt.want {
			t.Errorf("Mod11(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestValueAllSame(t *testing.T) {
	if got := Value(digits("0071")); got != 71 {
		t.Errorf("Value(0071) = %d", got)
	}
	if got := Value(nil); got != 0 {
		t.Errorf("Value() = %d", got)
	}
	for in, want := range map[string]bool{
		"0000000000": true, "7": true, "": true, "1111111112": false, "2111111111": false,
	} {
		if got := AllSame(digits(in)); got != want {
			t.Errorf("AllSame(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestDates(t *testing.T) {
	if !IsLeap(2000) || IsLeap(1900) || !IsLeap(2024) || IsLeap(2023) || IsLeap(2100) || !IsLeap(1600) {
		t.Error("IsLeap")
	}
	for _, tt := range []struct {
		y, m, d int
		want    bool
	}{
		{2000, 2, 29, true},
		{1900, 2, 29, false}, // not a leap year (divisible by 100)
		{2024, 2, 29, true},
		{2023, 2, 29, false},
		{2023, 2, 28, true},
		{2023, 4, 30, true},
		{2023, 4, 31, false},
		{2023, 12, 31, true},
		{2023, 1, 32, false},
		{2023, 0, 10, false},
		{2023, 13, 10, false},
		{2023, 6, 0, false},
		{1850, 7, 31, true},
	} {
		if got := ValidDate(tt.y, tt.m, tt.d); got != tt.want {
			t.Errorf("ValidDate(%d, %d, %d) = %v, want %v", tt.y, tt.m, tt.d, got, tt.want)
		}
	}
	for m, want := range [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31} {
		if got := DaysIn(2023, m); got != want {
			t.Errorf("DaysIn(2023, %d) = %d, want %d", m, got, want)
		}
	}
}

func TestClearingRangesSorted(t *testing.T) {
	// ClearingType stops at the first range above c, so the table must be
	// sorted and without overlaps.
	prev := 999
	for _, r := range clearingRanges {
		if r.lo > r.hi || r.lo <= prev || r.hi > 9999 || r.t < Type1Comment1 || r.t > Type2Comment3 {
			t.Errorf("range %d–%d (type %d) out of order or malformed", r.lo, r.hi, r.t)
		}
		prev = r.hi
	}
}

func TestClearingType(t *testing.T) {
	for c, want := range map[int]AccountType{
		1100: Type1Comment1, // Nordea
		1399: Type1Comment1, // Danske Bank
		2300: Type1Comment2, // Ålandsbanken
		3300: Type2Comment1, // Nordea personkonto
		3301: Type1Comment1,
		3782: Type2Comment1, // Nordea personkonto
		5000: Type1Comment1, // SEB
		6789: Type2Comment2, // Handelsbanken
		7000: Type1Comment1, // Swedbank
		8327: Type2Comment3, // Swedbank
		9180: Type2Comment1, // Danske Bank
		9550: Type1Comment2, // Avanza
		9960: Type2Comment3, // Nordea Plusgirot
		2400: Type1Comment1, // Danske Bank
		4999: Type1Comment2, // Nordea
		9260: Type1Comment2, // DNB Bank
		9580: Type1Comment1, // Aion Bank
		9710: Type1Comment2, // Lunar Bank
		0:    0,
		999:  0,
		2200: 0,
		9000: 0,
		9999: 0,
	} {
		if got := ClearingType(c); got != want {
			t.Errorf("ClearingType(%d) = %d, want %d", c, got, want)
		}
	}
}

func TestValidAccount(t *testing.T) {
	for _, tt := range []struct {
		cl, acc string
		want    bool
	}{
		{"5000", "1234560", true}, // SEB, type 1 comment 1
		{"5000", "1234561", false},
		{"5000", "123456", false}, // too short
		{"1200", "7654326", true}, // Danske Bank
		{"7000", "1111116", true}, // Swedbank 7xxx
		{"7000", "1111117", false},
		{"9550", "1234566", true}, // Avanza, type 1 comment 2
		{"9550", "1234567", false},
		{"2300", "7654325", true},   // Ålandsbanken
		{"6789", "123456789", true}, // Handelsbanken, type 2 comment 2
		{"6789", "123456788", false},
		{"6789", "23456789", false},          // Handelsbanken accounts have 9 digits
		{"9180", "1234567897", true},         // Danske Bank, type 2 comment 1
		{"9180", "123456789", false},         // 10 digits
		{"3300", "1212121212", true},         // Nordea personkonto: the personnummer
		{"3300", "1212121213", false},        //
		{"3300", "1234566", false},           // personkonto has 10 digits
		{"8327", "1234567897", true},         // Swedbank 8xxx, type 2 comment 3
		{"8327", "1234566", true},            // shorter Swedbank account
		{"8327", "123455", false},            // fewer than 7 digits
		{"9500", "1234567897", true},         // Nordea Plusgirot
		{"9999", "1234567897", false},        // no bank
		{"5000", "12345678901234567", false}, // far too long
		{"9071", "417 23 83", true},          // Multitude Bank, type 1 comment 1
		{"9273", "956 609 3", true},          // ICA Banken, type 1 comment 1
		{"8424", "983 189 224 6", true},      // Swedbank 8424-4
		{"8351", "392 242 224 5", true},      // Swedbank 8351-9
		{"2400", "1234564", true},            // Danske Bank 24xx, type 1 comment 1
		{"4000", "1234567", true},            // Nordea 4xxx, type 1 comment 2
		{"4000", "1234564", false},           // …not comment 1
		{"9580", "7654323", true},            // Aion Bank, type 1 comment 1
		{"9580", "7654325", false},           // …not comment 2
	} {
		cl, acc := digits(tt.cl), digits(tt.acc)
		if got := ValidAccount(ClearingType(Value(cl)), cl, acc); got != tt.want {
			t.Errorf("ValidAccount(%s-%s) = %v, want %v", tt.cl, tt.acc, got, tt.want)
		}
	}
	// The comment decides which clearing digits count.
	if ValidAccount(Type1Comment2, digits("5000"), digits("1234560")) {
		t.Error("5000-1234560 passes as type 1 comment 2")
	}
	if ValidAccount(Type1Comment1, digits("9550"), digits("1234566")) {
		t.Error("9550-1234566 passes as type 1 comment 1")
	}
}

func TestIBAN(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"SE4550000000058398257466", true},
		{"SE4550000000058398257467", false},
		{"SE5450000000058398257466", false}, // check digits swapped
		{"GB82WEST12345698765432", true},
		{"GB82WEST12345698765423", false},
		{"DE89370400440532013000", true},
		{"NO9386011117947", true},
		{"FR1420041010050500013M02606", true},
		{"MT84MALT011000012345MTLCAST001S", true},
		{"SE45", false},
	} {
		b := []byte(tt.in)
		ok := IBANLength(b[0], b[1]) == len(b) && IBANMod97(b)
		if ok != tt.want {
			t.Errorf("IBAN %q valid = %v, want %v", tt.in, ok, tt.want)
		}
	}
	for cc, want := range map[string]int{
		"SE": 24, "NO": 15, "DE": 22, "GB": 22, "FR": 27, "MT": 31, "RU": 33, "LC": 32,
		"US": 0, "XX": 0, "se": 0,
	} {
		if got := IBANLength(cc[0], cc[1]); got != want {
			t.Errorf("IBANLength(%s) = %d, want %d", cc, got, want)
		}
	}
}
