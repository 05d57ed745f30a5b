package detect

// Swedish bank account numbers are a clearing number (which names the bank)
// and an account number. How long the account number is and how it is
// checked depends on the bank; this table follows Bankgirot's "Bankernas
// kontonummeruppbyggnad".
//
//	type 1, comment 1: 7-digit account, mod 11 over the clearing number's
//	                   last three digits and the account
//	type 1, comment 2: 7-digit account, mod 11 over the whole clearing
//	                   number and the account
//	type 2, comment 1: 10-digit account, mod 10 (Luhn)
//	type 2, comment 2: 9-digit account, mod 11 (Handelsbanken)
//	type 2, comment 3: up to 10 digits, mod 10 (Swedbank 8xxx, whose
//	                   clearing number may carry a fifth, Luhn, digit;
//	                   Nordea Plusgirot; Nordea personkonto 3300 and 3782,
//	                   whose account number is the holder's personnummer)
type accountType uint8

const (
	t1c1 accountType = iota + 1
	t1c2
	t2c1
	t2c2
	t2c3
)

var clearingRanges = []struct {
	lo, hi int
	t      accountType
}{
	{1100, 1199, t1c1}, // Nordea
	{1200, 1399, t1c1}, // Danske Bank
	{1400, 2099, t1c1}, // Nordea
	{2300, 2399, t1c2}, // Ålandsbanken
	{3000, 3299, t1c1}, // Nordea
	{3300, 3300, t2c3}, // Nordea personkonto
	{3301, 3399, t1c1}, // Nordea
	{3400, 3409, t1c1}, // Länsförsäkringar Bank
	{3410, 3781, t1c1}, // Nordea
	{3782, 3782, t2c3}, // Nordea personkonto
	{3783, 3999, t1c1}, // Nordea
	{5000, 5999, t1c1}, // SEB
	{6000, 6999, t2c2}, // Handelsbanken
	{7000, 7999, t1c1}, // Swedbank
	{8000, 8999, t2c3}, // Swedbank
	{9020, 9029, t1c2}, // Länsförsäkringar Bank
	{9040, 9049, t1c2}, // Citibank
	{9060, 9069, t1c1}, // Länsförsäkringar Bank
	{9070, 9079, t1c1}, // Multitude Bank
	{9100, 9109, t1c2}, // Nordnet Bank
	{9120, 9124, t1c1}, // SEB
	{9130, 9149, t1c1}, // SEB
	{9150, 9169, t1c2}, // Skandiabanken
	{9170, 9179, t1c1}, // Ikano Bank
	{9180, 9189, t2c1}, // Danske Bank
	{9190, 9199, t1c2}, // DNB Bank
	{9230, 9239, t1c1}, // Marginalen Bank
	{9250, 9259, t1c1}, // SBAB
	{9270, 9279, t1c1}, // ICA Banken
	{9280, 9289, t1c1}, // Resurs Bank
	{9300, 9349, t2c1}, // Sparbanken Öresund
	{9390, 9399, t1c2}, // Landshypotek
	{9400, 9449, t1c1}, // Forex Bank
	{9460, 9469, t1c1}, // Santander Consumer Bank
	{9470, 9479, t1c2}, // BNP Paribas
	{9500, 9549, t2c3}, // Nordea Plusgirot
	{9550, 9569, t1c2}, // Avanza Bank
	{9570, 9579, t2c1}, // Sparbanken Syd
	{9580, 9589, t1c2}, // Aion Bank
	{9590, 9599, t1c2}, // Erik Penser
	{9630, 9639, t1c1}, // Lån & Spar Bank
	{9640, 9649, t1c2}, // Nordax Bank
	{9660, 9669, t1c2}, // Svea Bank
	{9670, 9679, t1c2}, // JAK Medlemsbank
	{9680, 9689, t1c1}, // Bluestep Finans
	{9700, 9709, t1c2}, // Ekobanken
	{9750, 9759, t1c2}, // Northmill Bank
	{9780, 9789, t1c2}, // Klarna Bank
	{9880, 9889, t1c2}, // Riksgälden
	{9890, 9899, t2c1}, // Riksgälden
	{9960, 9969, t2c3}, // Nordea Plusgirot
}

func clearingType(c int) accountType {
	for _, r := range clearingRanges {
		if c < r.lo {
			return 0
		}
		if c <= r.hi {
			return r.t
		}
	}
	return 0
}

// validAccount reports whether acc is an account number at the bank with
// clearing number cl (four digits).
func validAccount(t accountType, cl, acc []byte) bool {
	var buf [16]byte
	switch t {
	case t1c1:
		return len(acc) == 7 && mod11(append(append(buf[:0], cl[1:]...), acc...))
	case t1c2:
		return len(acc) == 7 && mod11(append(append(buf[:0], cl...), acc...))
	case t2c1:
		return len(acc) == 10 && luhn(acc)
	case t2c2:
		return len(acc) == 9 && mod11(acc)
	case t2c3:
		if num(cl) == 3300 || num(cl) == 3782 {
			return len(acc) == 10 && luhn(acc)
		}
		return len(acc) >= 7 && len(acc) <= 10 && luhn(acc)
	}
	return false
}

// bankAccount matches a clearing number and account number at group k:
// "5000-1234567", "6789 123 456 789", "8327-9, 123 456 789-0" written as
// "8327-9 123 456 789-0", "83279-1234567890". Written without any
// separator, it is taken only next to a word such as "konto" or "account".
func (s *scanner) bankAccount(k int) cand {
	var cl [5]byte
	var a int // first group of the account number
	conf := float32(0.75)
	switch l := s.glen(k); {
	case l == 4:
		copy(cl[:], s.digits(k, 1))
		a = k + 1
		if s.sep(k) == sepDash && s.glen(k+1) == 1 && cl[0] == 8 {
			// Swedbank's fifth clearing digit.
			cl[4] = s.b[s.g[k+1].s] - '0'
			if !luhn(cl[:5]) {
				return cand{}
			}
			conf = 0.85
			a = k + 2
			if sp := s.sep(k + 1); sp != sepSpace && sp != sepDash {
				return cand{}
			}
		} else if sp := s.sep(k); sp != sepSpace && sp != sepDash {
			return cand{}
		}
	case l == 5 && s.b[s.g[k].s] == '8':
		copy(cl[:], s.digits(k, 1))
		if !luhn(cl[:5]) {
			return cand{}
		}
		a = k + 1
		conf = 0.85
		if sp := s.sep(k); sp != sepSpace && sp != sepDash {
			return cand{}
		}
	case l >= 11 && l <= 15:
		return s.bankAccountWhole(k)
	default:
		return cand{}
	}
	t := clearingType(num(cl[:4]))
	if t == 0 || a >= s.ng {
		return cand{}
	}
	m := 1
	for m < 5 && a+m < s.ng && (s.sep(a+m-1) == sepSpace || s.sep(a+m-1) == sepDash) {
		m++
	}
	for ; m >= 1; m-- {
		acc := s.digits(a, m)
		if acc == nil || !validAccount(t, cl[:4], acc) {
			continue
		}
		if s.contextAt(s.g[k].s).named(BankAccount) {
			conf = 0.95
		}
		if c := s.span(BankAccount, k, a+m-k, conf); c.n > 0 {
			return c
		}
	}
	return cand{}
}

// bankAccountWhole matches a clearing and account number written as one
// group of digits, next to a word that says it is an account.
func (s *scanner) bankAccountWhole(k int) cand {
	if !s.contextAt(s.g[k].s).labels(BankAccount) {
		return cand{}
	}
	d := s.digits(k, 1)
	cl := d[:4]
	acc := d[4:]
	if d[0] == 8 && luhn(d[:5]) && validAccount(t2c3, cl, d[5:]) {
		return s.span(BankAccount, k, 1, 0.9)
	}
	if t := clearingType(num(cl)); t != 0 && validAccount(t, cl, acc) {
		return s.span(BankAccount, k, 1, 0.9)
	}
	return cand{}
}
