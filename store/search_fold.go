package store

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/valv-vault/valv/store/customer"
)

// Search text is compared in a folded form: Unicode compatibility
// decomposition (NFKD), combining marks dropped, lower case, a few
// letters that do not decompose spelled out (ø→o, æ→ae, ß→ss, …), and
// every run of characters that are not letters or digits turned into one
// space; apostrophes are dropped ("O'Brien" is "obrien"). So "Åsa Öberg",
// "ÅSA  öberg" and "asa oberg" all fold to "asa oberg", and "Müller" to
// "muller".

// foldSpecial spells out the letters that NFKD leaves alone.
var foldSpecial = map[rune]string{
	'ø': "o", 'Ø': "o", 'æ': "ae", 'Æ': "ae", 'œ': "oe", 'Œ': "oe",
	'ß': "ss", 'ẞ': "ss", 'đ': "d", 'Đ': "d", 'ð': "d", 'Ð': "d",
	'ł': "l", 'Ł': "l", 'þ': "th", 'Þ': "th", 'ı': "i", 'ħ': "h", 'Ħ': "h",
	'ŧ': "t", 'Ŧ': "t", 'ŋ': "n", 'Ŋ': "n", 'ĸ': "k", 'ſ': "s",
}

// foldTable holds the folded forms of U+0080 to U+024F (Latin-1,
// Latin Extended-A and -B), where Nordic and most European names live.
var foldTable = func() (t [0x250 - 0x80]string) {
	for r := rune(0x80); r < 0x250; r++ {
		t[r-0x80] = computeFold(r)
	}
	return t
}()

// foldRune returns the folded form of a non-ASCII rune: letters and
// digits, with ' ' where a word ends; "" to drop the rune.
func foldRune(r rune) string {
	if r < 0x250 {
		return foldTable[r-0x80]
	}
	return computeFold(r)
}

// computeFold folds a rune by foldOnce, then folds the result again
// until it no longer changes (NFKD can yield characters that fold
// further, as "ŉ" gives "ʼn"), so that folding folded text changes
// nothing.
func computeFold(r rune) string {
	s := foldOnce(r)
	for range 4 {
		var b strings.Builder
		for _, x := range s {
			if x < utf8.RuneSelf {
				b.WriteRune(x)
			} else {
				b.WriteString(foldOnce(x))
			}
		}
		if b.String() == s {
			break
		}
		s = b.String()
	}
	return s
}

// foldOnce folds one rune: "" to drop it, ' ' for a word break.
func foldOnce(r rune) string {
	switch {
	case r == utf8.RuneError:
		return " "
	case r == '\'' || r == '\u2019' || r == '\u02bc': // apostrophes
		return ""
	case unicode.In(r, unicode.Mn, unicode.Me):
		return ""
	}
	if s, ok := foldSpecial[r]; ok {
		return s
	}
	var b strings.Builder
	for _, x := range norm.NFKD.String(string(r)) {
		if x == '\'' || x == '\u2019' || x == '\u02bc' || unicode.In(x, unicode.Mn, unicode.Me) {
			continue
		}
		x = unicode.ToLower(x)
		switch s, ok := foldSpecial[x]; {
		case ok:
			b.WriteString(s)
		case x < utf8.RuneSelf:
			if c := byte(x); c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
				b.WriteByte(c)
			} else {
				b.WriteByte(' ')
			}
		case unicode.IsLetter(x) || unicode.IsNumber(x) || unicode.Is(unicode.Mc, x):
			b.WriteRune(x)
		default:
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// appendFolded appends the folded form of s to dst: its words separated
// by single spaces, with no space first or last.
func appendFolded(dst, s []byte) []byte {
	start := len(dst)
	gap := false // a word ended
	emit := func(c byte) {
		if gap && len(dst) > start {
			dst = append(dst, ' ')
		}
		gap = false
		dst = append(dst, c)
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
				emit(c)
			case c >= 'A' && c <= 'Z':
				emit(c + 'a' - 'A')
			case c == '\'':
			default:
				gap = true
			}
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		i += n
		f := foldRune(r)
		for j := 0; j < len(f); j++ {
			if f[j] == ' ' {
				gap = true
			} else {
				emit(f[j])
			}
		}
	}
	return dst
}

// forEachWord calls fn with each word of folded text (words separated by
// single spaces).
func forEachWord(folded []byte, fn func(w []byte)) {
	for len(folded) > 0 {
		i := 0
		for i < len(folded) && folded[i] != ' ' {
			i++
		}
		if i > 0 {
			fn(folded[:i])
		}
		if i == len(folded) {
			return
		}
		folded = folded[i+1:]
	}
}

// Limits on a search, so that a pasted document cannot make one slow.
const (
	maxSearchLen   = 512 // bytes of the query
	maxSearchWords = 16
)

// A searchQuery is a query normalised for every field: a customer code,
// a personnummer as 12 digits, and the folded words.
type searchQuery struct {
	code   customer.Code // "" unless the query is a valid code
	prefix string        // the query as the start of a code ("K7Q3-M"), "" unless it can be one
	pnr    string        // 12 digits, "" unless the query is a personnummer or samordningsnummer
	words  []string      // folded, distinct, in query order
	folded string        // the folded query: words joined by single spaces
}

// parseSearch normalises a query. today dates 10-digit personnummer (see
// customer.ParsePersonalNumber). It never fails: a query that is no
// code, number or word matches nothing.
func parseSearch(q string, today time.Time) searchQuery {
	var sq searchQuery
	if code, err := customer.ParseCode(q); err == nil {
		sq.code = code
	}
	sq.prefix = codePrefix(q)
	sq.pnr = searchPersonalNumber(q, today)
	folded := appendFolded(nil, []byte(q))
	sq.folded = string(folded)
	forEachWord(folded, func(w []byte) {
		if len(sq.words) < maxSearchWords && !contains(sq.words, w) {
			sq.words = append(sq.words, string(w))
		}
	})
	return sq
}

// codePrefix returns q as the beginning of a canonical code (upper case,
// a dash after each group of four symbols) if it is 3 to 8 symbols of
// Crockford's alphabet, with optional dashes and spaces, at least one of
// them a digit (so that a word such as "anna" or "e-post" is never taken
// for a code); otherwise "". Lower case and the look-alikes O, I and L
// are read as the code parser reads them.
func codePrefix(q string) string {
	if len(q) > 16 {
		return ""
	}
	var b []byte
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '-' || c == ' ':
			continue
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		}
		switch c {
		case 'O':
			c = '0'
		case 'I', 'L':
			c = '1'
		}
		if !strings.ContainsRune(crockford, rune(c)) {
			return ""
		}
		if n := len(b); n == 4 || n == 9 {
			b = append(b, '-')
		}
		b = append(b, c)
	}
	if n := len(b) - strings.Count(string(b), "-"); n < 3 || n > 8 || !strings.ContainsAny(q, "0123456789") {
		return ""
	}
	return string(b)
}

// crockford is Crockford's base-32 alphabet, the symbols of a code.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

func contains(l []string, w []byte) bool {
	for _, s := range l {
		if s == string(w) {
			return true
		}
	}
	return false
}

// searchPersonalNumber returns a personnummer or samordningsnummer typed
// in any accepted form (YYYYMMDD-NNNN, YYYYMMDDNNNN, YYMMDD-NNNN,
// YYMMDD+NNNN, YYMMDDNNNN, with or without spaces) as its 12 digits, or
// "" if q is not one.
func searchPersonalNumber(q string, today time.Time) string {
	if len(q) > 32 {
		return ""
	}
	q = strings.ReplaceAll(q, " ", "")
	n, _, err := customer.ParsePersonalNumber(q, today)
	if err != nil {
		return ""
	}
	return storedPersonalNumber(n)
}

// storedPersonalNumber turns a record's canonical YYYYMMDD-NNNN into its
// 12 digits ("" stays "").
func storedPersonalNumber(s string) string {
	return strings.Replace(s, "-", "", 1)
}
