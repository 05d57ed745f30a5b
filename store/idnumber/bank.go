package idnumber

// Swedish bank account numbers are a clearing number (which names the bank)
// and an account number. How long the account number is and how it is
// checked depends on the bank; the table below follows Bankgirot's
// "Bankernas kontonummeruppbyggnad", whose types and comments name the
// rules:
//
//	type 1, comment 1: 7-digit account, mod 11 over the clearing number's
//	                   last three digits and the account
//	type 1, comment 2: 7-digit account, mod 11 over the whole clearing
//	                   number and the account
//	type 2, comment 1: 10-digit account, mod 10 (Luhn): Nordea personkonto
//	                   3300 and 3782 (the account number is the holder's
//	                   personnummer), Danske Bank 9180, Riksgälden 9890,
//	                   Sparbanken Syd, Swedbank 9300 (Sparbanken Öresund)
//	type 2, comment 2: 9-digit account, mod 11 (Handelsbanken)
//	type 2, comment 3: up to 10 digits, mod 10 (Swedbank 8xxx, whose
//	                   clearing number may carry a fifth, Luhn, digit;
//	                   Nordea Plusgirot)
type AccountType uint8

// The account types of Bankgirot's table; 0 is no bank.
const (
	Type1Comment1 AccountType = iota + 1
	Type1Comment2
	Type2Comment1
	Type2Comment2
	Type2Comment3
)

var clearingRanges = []struct {
	lo, hi int
	t      AccountType
}{
	{1100, 1199, Type1Comment1}, // Nordea
	{1200, 1399, Type1Comment1}, // Danske Bank
	{1400, 2099, Type1Comment1}, // Nordea
	{2300, 2399, Type1Comment2}, // Ålandsbanken
	{2400, 2499, Type1Comment1}, // Danske Bank
	{3000, 3299, Type1Comment1}, // Nordea
	{3300, 3300, Type2Comment1}, // Nordea personkonto
	{3301, 3399, Type1Comment1}, // Nordea
	{3400, 3409, Type1Comment1}, // Länsförsäkringar Bank
	{3410, 3781, Type1Comment1}, // Nordea
	{3782, 3782, Type2Comment1}, // Nordea personkonto
	{3783, 3999, Type1Comment1}, // Nordea
	{4000, 4999, Type1Comment2}, // Nordea
	{5000, 5999, Type1Comment1}, // SEB
	{6000, 6999, Type2Comment2}, // Handelsbanken
	{7000, 7999, Type1Comment1}, // Swedbank
	{8000, 8999, Type2Comment3}, // Swedbank
	{9020, 9029, Type1Comment2}, // Länsförsäkringar Bank
	{9040, 9049, Type1Comment2}, // Citibank
	{9060, 9069, Type1Comment1}, // Länsförsäkringar Bank
	{9070, 9079, Type1Comment1}, // Multitude Bank
	{9100, 9109, Type1Comment2}, // Nordnet Bank
	{9120, 9124, Type1Comment1}, // SEB
	{9130, 9149, Type1Comment1}, // SEB
	{9150, 9169, Type1Comment2}, // Skandiabanken
	{9170, 9179, Type1Comment1}, // Ikano Bank
	{9180, 9189, Type2Comment1}, // Danske Bank
	{9190, 9199, Type1Comment2}, // DNB Bank
	{9230, 9239, Type1Comment1}, // Marginalen Bank
	{9250, 9259, Type1Comment1}, // SBAB
	{9260, 9269, Type1Comment2}, // DNB Bank
	{9270, 9279, Type1Comment1}, // ICA Banken
	{9280, 9289, Type1Comment1}, // Resurs Bank
	{9300, 9349, Type2Comment1}, // Swedbank (formerly Sparbanken Öresund)
	{9390, 9399, Type1Comment2}, // Landshypotek
	{9400, 9449, Type1Comment1}, // Forex Bank
	{9460, 9469, Type1Comment1}, // Santander Consumer Bank
	{9470, 9479, Type1Comment2}, // BNP Paribas
	{9500, 9549, Type2Comment3}, // Nordea Plusgirot
	{9550, 9569, Type1Comment2}, // Avanza Bank
	{9570, 9579, Type2Comment1}, // Sparbanken Syd
	{9580, 9589, Type1Comment1}, // Aion Bank
	{9590, 9599, Type1Comment2}, // Erik Penser
	{9630, 9639, Type1Comment1}, // Lån & Spar Bank
	{9640, 9649, Type1Comment2}, // Nordax Bank
	{9660, 9669, Type1Comment2}, // Svea Bank
	{9670, 9679, Type1Comment2}, // JAK Medlemsbank
	{9680, 9689, Type1Comment1}, // Bluestep Finans
	{9700, 9709, Type1Comment2}, // Ekobanken
	{9710, 9719, Type1Comment2}, // Lunar Bank
	{9750, 9759, Type1Comment2}, // Northmill Bank
	{9780, 9789, Type1Comment2}, // Klarna Bank
	{9880, 9889, Type1Comment2}, // Riksgälden
	{9890, 9899, Type2Comment1}, // Riksgälden
	{9960, 9969, Type2Comment3}, // Nordea Plusgirot
}

// ClearingType returns the account type of the bank with the four-digit
// clearing number c, or 0 if no bank has it.
func ClearingType(c int) AccountType {
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

// ValidAccount reports whether acc is an account number of type t at the
// bank with the four-digit clearing number cl (for Swedbank's five-digit
// clearing numbers, the first four). It is false if t is 0.
func ValidAccount(t AccountType, cl, acc []byte) bool {
	var buf [16]byte
	switch t {
	case Type1Comment1:
		return len(cl) == 4 && len(acc) == 7 && Mod11(append(append(buf[:0], cl[1:]...), acc...))
	case Type1Comment2:
		return len(cl) == 4 && len(acc) == 7 && Mod11(append(append(buf[:0], cl...), acc...))
	case Type2Comment1:
		return len(acc) == 10 && Luhn(acc)
	case Type2Comment2:
		return len(acc) == 9 && Mod11(acc)
	case Type2Comment3:
		return len(acc) >= 7 && len(acc) <= 10 && Luhn(acc)
	}
	return false
}
