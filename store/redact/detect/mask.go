package detect

import (
	"strings"
	"unicode/utf8"
)

// Mask returns value with its letters and digits replaced by '*', all but
// the last two (the last four of a card number, as PCI DSS allows), so that
// a report can say what was found without holding it. Separators are kept
// so the shape stays recognisable: Mask(Personnummer, "850312-1234") is
// "******-**34".
func Mask(k Kind, value []byte) string {
	keep := 2
	if k == Card {
		keep = 4
	}
	n := 0
	for i := 0; i < len(value); {
		r, sz := utf8.DecodeRune(value[i:])
		if isMaskable(r) {
			n++
		}
		i += sz
	}
	var b strings.Builder
	seen := 0
	for i := 0; i < len(value); {
		r, sz := utf8.DecodeRune(value[i:])
		i += sz
		if !isMaskable(r) {
			if r == utf8.RuneError {
				r = '?'
			}
			b.WriteRune(r)
			continue
		}
		seen++
		if seen > n-keep {
			b.WriteRune(r)
		} else {
			b.WriteByte('*')
		}
	}
	return b.String()
}

func isMaskable(r rune) bool {
	return r != '-' && r != ' ' && r != '+' && r != '(' && r != ')' && r != '@' && r != '.' &&
		r != 0xA0 && r != utf8.RuneError
}

// Label returns the text that replaces a value of kind k in a redacted
// copy: [PERSONNUMMER], [ORGANISATIONSNUMMER], … and for a card its last
// four digits, [KORT ****1234].
func Label(k Kind, value []byte) string {
	switch k {
	case Personnummer:
		return "[PERSONNUMMER]"
	case Samordningsnummer:
		return "[SAMORDNINGSNUMMER]"
	case Organisationsnummer:
		return "[ORGANISATIONSNUMMER]"
	case Card:
		var last [4]byte
		n := 0
		for i := len(value) - 1; i >= 0 && n < 4; i-- {
			if isDigit(value[i]) {
				n++
				last[4-n] = value[i]
			}
		}
		return "[KORT ****" + string(last[4-n:]) + "]"
	case IBAN:
		return "[IBAN]"
	case BankAccount:
		return "[BANKKONTO]"
	case Bankgiro:
		return "[BANKGIRO]"
	case Plusgiro:
		return "[PLUSGIRO]"
	case Email:
		return "[E-POST]"
	case Phone:
		return "[TELEFON]"
	}
	return "[REDACTED]"
}
