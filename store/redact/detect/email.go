package detect

import (
	"unicode"
	"unicode/utf8"
)

// emailAt matches an e-mail address around the '@' at i: a local part of
// letters, digits and ._%+- (not starting or ending with '.', no ".."), and
// a domain of at least two labels whose last is two or more letters.
// Letters outside ASCII are allowed ("åsa@exempel.se"). A value found
// earlier inside the address (a number in its local part) is dropped: the
// whole address is the match.
func (s *scanner) emailAt(i int) int {
	if !s.kinds.Has(Email) {
		return i + 1
	}
	b := s.b
	st := i
	for st > 0 && i-st < 64 {
		c := b[st-1]
		if c < utf8.RuneSelf {
			if !isAlnum(c) && c != '.' && c != '_' && c != '%' && c != '+' && c != '-' {
				break
			}
			if c == '.' && st < i && b[st] == '.' {
				break // ".."
			}
			st--
			continue
		}
		r, sz := utf8.DecodeLastRune(b[:st])
		if r == utf8.RuneError || !(unicode.IsLetter(r) || unicode.IsDigit(r)) {
			break
		}
		st -= sz
	}
	for st < i && (b[st] == '.' || b[st] == '-' || b[st] == '+') {
		st++
	}
	if st == i || b[i-1] == '.' {
		return i + 1
	}
	e, ok := s.domain(i + 1)
	if !ok {
		return i + 1
	}
	// Drop what was found inside the local part.
	for len(s.dst) > 0 && s.dst[len(s.dst)-1].End > st {
		s.dst = s.dst[:len(s.dst)-1]
	}
	s.dst = append(s.dst, Match{Kind: Email, Start: st, End: e, Confidence: 0.97})
	return e
}

// domain reads a domain name starting at i and returns its end.
func (s *scanner) domain(i int) (int, bool) {
	b := s.b
	p := i
	labels := 0
	lastEnd := -1      // end of the last complete label
	tldLetters := true // whether the last label is all letters
	for p < len(b) && p-i < 253 {
		ls := p
		letters := true
		for p < len(b) && p-ls < 63 {
			c := b[p]
			if c < utf8.RuneSelf {
				if isLetter(c) {
					p++
					continue
				}
				if isDigit(c) || c == '-' {
					letters = false
					p++
					continue
				}
				break
			}
			r, sz := utf8.DecodeRune(b[p:])
			if r == utf8.RuneError || !(unicode.IsLetter(r) || unicode.IsDigit(r)) {
				break
			}
			p += sz
		}
		if p == ls || b[ls] == '-' || b[p-1] == '-' {
			break
		}
		labels++
		lastEnd, tldLetters = p, letters && p-ls >= 2
		if p+1 < len(b) && b[p] == '.' && b[p+1] != '.' {
			p++
			continue
		}
		break
	}
	if labels < 2 || !tldLetters {
		return 0, false
	}
	if lastEnd < len(b) && (b[lastEnd] == '@' || isAlnum(b[lastEnd]) || b[lastEnd] == '_') {
		return 0, false
	}
	return lastEnd, true
}
