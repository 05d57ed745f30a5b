package customer

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// A Code names a customer everywhere outside the detail view: in lists,
// exports, file names and the audit log. It is random, so it says nothing
// about the customer.
//
// # Format
//
// A code is 40 random bits written as 8 symbols of Crockford's base32
// (0-9 and A-Z without I, L, O and U), followed by one check symbol, and
// displayed in groups as XXXX-XXXX-C, for example "K7Q3-MX9R-F".
//
// The check symbol is Crockford's: the 40-bit value modulo 37, written
// with the base32 symbols for 0–31 and "*~$=U" for 32–36. Because 37 is a
// prime that divides neither 32 nor 31, every change of a single symbol
// and every swap of two adjacent symbols changes the remainder, so both
// kinds of typo are always rejected. [NewCode] draws values whose check is
// below 32, so the codes Valv issues use only letters and digits (safe in
// file names and shells); [ParseCode] still accepts the five extra check
// symbols, as Crockford's scheme defines them.
//
// Parsing is forgiving where Crockford says to be: letter case, hyphens
// and spaces are ignored, O reads as 0 and I and L as 1.
type Code string

const (
	codeSymbols = 8 // data symbols
	codeBits    = 5 * codeSymbols

	alphabet      = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	checkAlphabet = alphabet + "*~$=U"
)

// decodeSymbol maps a Crockford symbol to its value, or -1.
var decodeSymbol = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i, c := range alphabet {
		t[c] = int8(i)
		t[c|0x20] = int8(i) // lower case (only letters change)
	}
	for _, a := range []struct {
		c byte
		v int8
	}{{'O', 0}, {'o', 0}, {'I', 1}, {'i', 1}, {'L', 1}, {'l', 1}} {
		t[a.c] = a.v
	}
	return t
}()

// ErrCodeCheck is returned (wrapped) by ParseCode when the check symbol
// does not match: the code was mistyped.
var ErrCodeCheck = errors.New("the check character does not match; the code was probably mistyped")

// NewCode returns a new random code.
func NewCode() Code {
	for {
		var b [8]byte
		rand.Read(b[:])
		v := binary.BigEndian.Uint64(b[:]) >> (64 - codeBits)
		if v%37 < 32 && v != 0 {
			return format(v)
		}
	}
}

func format(v uint64) Code {
	var s [codeSymbols + 3]byte
	j := len(s) - 1
	s[j] = checkAlphabet[v%37]
	j--
	s[j] = '-'
	for i := 0; i < codeSymbols; i++ {
		if i == 4 {
			j--
			s[j] = '-'
		}
		j--
		s[j] = alphabet[v&31]
		v >>= 5
	}
	return Code(s[:])
}

// ParseCode reads a code as a person may type it and returns it in the
// canonical form XXXX-XXXX-C. A wrong length, a character outside the
// alphabet or a check symbol that does not match is an error that says
// which.
func ParseCode(s string) (Code, error) {
	var syms []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '-' || c == ' ':
			continue
		case len(syms) == codeSymbols && strings.IndexByte(checkAlphabet, upper(c)) >= 0:
			syms = append(syms, upper(c))
		case decodeSymbol[c] >= 0:
			syms = append(syms, c)
		default:
			if c >= 0x80 || c < 0x20 {
				return "", fmt.Errorf("customer code: %w", invalid(ReasonChars, fmt.Sprintf("character %d is not allowed (codes use the letters and digits of Crockford's base32)", i+1)))
			}
			return "", fmt.Errorf("customer code: %w", invalid(ReasonChars, fmt.Sprintf("%q is not allowed (codes use the letters and digits of Crockford's base32)", c)))
		}
		if len(syms) > codeSymbols+1 {
			return "", fmt.Errorf("customer code: %w", &InvalidError{Reason: ReasonLength, Min: codeSymbols + 1, Max: codeSymbols + 1,
				msg: fmt.Sprintf("too long; a code has %d characters and a check character, like K7Q3-MX9R-F", codeSymbols)})
		}
	}
	if len(syms) != codeSymbols+1 {
		return "", fmt.Errorf("customer code: %w", &InvalidError{Reason: ReasonLength, Min: codeSymbols + 1, Max: codeSymbols + 1,
			msg: fmt.Sprintf("too short; a code has %d characters and a check character, like K7Q3-MX9R-F", codeSymbols)})
	}
	var v uint64
	for _, c := range syms[:codeSymbols] {
		d := decodeSymbol[c]
		if d < 0 {
			return "", fmt.Errorf("customer code: %w", invalid(ReasonChars, fmt.Sprintf("%q is not allowed", c)))
		}
		v = v<<5 | uint64(d)
	}
	check := syms[codeSymbols]
	if d := decodeSymbol[check]; d >= 0 {
		check = alphabet[d] // O→0, I/L→1, lower case
	}
	if checkAlphabet[v%37] != check {
		return "", fmt.Errorf("customer code: %w", ErrCodeCheck)
	}
	return format(v), nil
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

// String returns the code in its canonical form.
func (c Code) String() string { return string(c) }

// Valid reports whether c is a code in canonical form.
func (c Code) Valid() bool {
	p, err := ParseCode(string(c))
	return err == nil && p == c
}
