package detect

import (
	"unicode"
	"unicode/utf8"
)

// The scanner makes one pass over the input. It skips every byte that cannot
// start a value (anchor is false) and stops at digits, '+' and '@'. At a
// digit it reads a "run": digit groups joined by single separators (space,
// no-break space, '-', '+', parentheses), such as "070-123 45 67" or
// "4111 1111 1111 1111". Each detector then tries to match a whole number of
// groups starting at a group, so a value never starts or ends inside a group
// of digits.

// sepKind is what joins a group of digits to the next one.
type sepKind uint8

const (
	sepEnd   sepKind = iota // the run ends after this group
	sepSpace                // ' ', U+00A0, U+2009 or U+202F
	sepDash                 // '-', U+2011 or U+2013
	sepPlus                 // '+'
	sepOpen                 // "(" or " ("
	sepClose                // ")" or ") "
)

type group struct {
	s, e int     // the digits are b[s:e]
	sep  sepKind // what follows
}

// maxGroups bounds a run; longer runs are read in windows. No detector
// takes more than maxTake groups.
const (
	maxGroups = 32
	maxTake   = 10
)

// cand is one detector's answer at a group.
type cand struct {
	kind       Kind
	n          int // groups taken; 0 means no match
	start, end int
	conf       float32
}

type scanner struct {
	b     []byte
	hint  string
	kinds Set
	today date
	dst   []Match

	// The current run.
	g         [maxGroups]group
	ng        int
	truncated bool
	plus      int // position of a '+' before the run, or -1

	// Context, computed on demand for the group at ctxPos.
	ctxPos  int
	ctxDone bool
	ctx     context

	dig [64]byte // scratch for digits
}

var anchor = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	t['+'] = true
	t['@'] = true
	return t
}()

func isDigit(c byte) bool { return c-'0' < 10 }

func isAlnum(c byte) bool {
	return c-'0' < 10 || (c|0x20)-'a' < 26
}

func isDash(r rune) bool {
	return r >= 0x2010 && r <= 0x2015 || r == 0x2212
}

func (s *scanner) scan() {
	b := s.b
	n := len(b)
	for i := 0; i < n; {
		for i < n && !anchor[b[i]] {
			i++
		}
		if i >= n {
			break
		}
		switch c := b[i]; {
		case c == '@':
			i = s.emailAt(i)
		case c == '+':
			i = s.plusAt(i)
		default:
			i = s.digitsAt(i)
		}
	}
}

// wordBefore reports whether the rune before i is a letter or digit.
func (s *scanner) wordBefore(i int) bool {
	if i == 0 {
		return false
	}
	c := s.b[i-1]
	if c < utf8.RuneSelf {
		return isAlnum(c) || c == '_'
	}
	r, _ := utf8.DecodeLastRune(s.b[:i])
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// leftOK reports whether a value may start at i: it is not glued to a word
// or to a number before it ("ORD-8503121234", "1.8503121234").
// Commas separate, as in comma-separated data.
func (s *scanner) leftOK(i int) bool {
	if i == 0 {
		return true
	}
	b := s.b
	c := b[i-1]
	switch c {
	case '.':
		return i < 2 || !isDigit(b[i-2])
	case ',':
		// "12,8503121234" is two fields of comma-separated data
		// rather than a number with ten decimals.
		return true
	case '-', '/', '_', '+', '\\', '=':
		return i < 2 || !isAlnum(b[i-2])
	case '@', '&':
		return false
	}
	if c >= utf8.RuneSelf {
		r, sz := utf8.DecodeLastRune(b[:i])
		if isDash(r) {
			return i-sz < 1 || !isAlnum(b[i-sz-1])
		}
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}
	return !isAlnum(c)
}

// rightOK reports whether a value may end at e: it is not glued to a word or
// a number after it ("8503121234-A", "8503121234.5", "8503121234,50").
func (s *scanner) rightOK(e int) bool {
	b := s.b
	if e >= len(b) {
		return true
	}
	c := b[e]
	switch c {
	case '.':
		return e+1 >= len(b) || !isDigit(b[e+1])
	case ',':
		// Not the integer part of an amount, "…,50 kr"; but a comma
		// before a longer number separates fields: "…,0701234567".
		n := 0
		for e+1+n < len(b) && n < 3 && isDigit(b[e+1+n]) {
			n++
		}
		return n == 0 || n == 3
	case '-', '/', '_', '+', '\\', '=':
		return e+1 >= len(b) || !isAlnum(b[e+1])
	case '@':
		return false
	}
	if c >= utf8.RuneSelf {
		r, sz := utf8.DecodeRune(b[e:])
		if isDash(r) {
			return e+sz >= len(b) || !isAlnum(b[e+sz])
		}
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}
	return !isAlnum(c)
}

// skipWord returns the end of the letters and digits starting at i.
func (s *scanner) skipWord(i int) int {
	for i < len(s.b) && (isAlnum(s.b[i]) || s.b[i] == '_') {
		i++
	}
	return i
}

func (s *scanner) digitsAt(i int) int {
	if s.wordBefore(i) {
		c, skip := s.iban(i)
		if c.n > 0 && s.kinds.Has(IBAN) {
			s.emit(c)
			return c.end
		}
		if c := s.vatSE(i); c.n > 0 {
			s.emit(c)
			return c.end
		}
		return max(skip, s.skipWord(i))
	}
	if !s.leftOK(i) {
		for i < len(s.b) && isDigit(s.b[i]) {
			i++
		}
		return i
	}
	s.plus = -1
	s.parseRun(i)
	return s.processRun()
}

func (s *scanner) plusAt(i int) int {
	if i+1 >= len(s.b) || !isDigit(s.b[i+1]) || !s.leftOK(i) || s.wordBefore(i) {
		return i + 1
	}
	s.plus = i
	s.parseRun(i + 1)
	return s.processRun()
}

// sepAt reads the separator at i, if a digit follows it.
func (s *scanner) sepAt(i int) (sepKind, int) {
	b := s.b
	n := len(b)
	if i+1 >= n {
		return sepEnd, i
	}
	switch b[i] {
	case ' ':
		if isDigit(b[i+1]) {
			return sepSpace, i + 1
		}
		if b[i+1] == '(' && i+2 < n && isDigit(b[i+2]) {
			return sepOpen, i + 2
		}
	case '-':
		if isDigit(b[i+1]) {
			return sepDash, i + 1
		}
	case '+':
		if isDigit(b[i+1]) {
			return sepPlus, i + 1
		}
	case '(':
		if isDigit(b[i+1]) {
			return sepOpen, i + 1
		}
	case ')':
		if isDigit(b[i+1]) {
			return sepClose, i + 1
		}
		if b[i+1] == ' ' && i+2 < n && isDigit(b[i+2]) {
			return sepClose, i + 2
		}
	case 0xC2: // U+00A0 no-break space
		if b[i+1] == 0xA0 && i+2 < n && isDigit(b[i+2]) {
			return sepSpace, i + 2
		}
	case 0xE2:
		if i+3 < n && b[i+1] == 0x80 && isDigit(b[i+3]) {
			switch b[i+2] {
			case 0x89, 0xAF: // thin space, narrow no-break space
				return sepSpace, i + 3
			case 0x91, 0x93: // non-breaking hyphen, en dash
				return sepDash, i + 3
			}
		}
	}
	return sepEnd, i
}

func (s *scanner) parseRun(i int) {
	s.ng = 0
	s.truncated = false
	s.ctxDone = false
	b := s.b
	for {
		st := i
		for i < len(b) && isDigit(b[i]) {
			i++
		}
		g := &s.g[s.ng]
		g.s, g.e, g.sep = st, i, sepEnd
		s.ng++
		sep, next := s.sepAt(i)
		if sep == sepEnd {
			return
		}
		if s.ng == maxGroups {
			s.truncated = true
			return
		}
		g.sep = sep
		i = next
	}
}

// processRun matches the current run and returns where scanning goes on.
func (s *scanner) processRun() int {
	limit := s.ng
	if s.truncated {
		limit = s.ng - maxTake - 2
	}
	k := 0
	matched := -1 // the group after the last match
	for k < limit {
		if k == 0 && s.plus >= 0 {
			// "+46 …": only a phone number starts with '+'.
			if s.kinds.Has(Phone) {
				if c := s.phone(0); c.n > 0 {
					s.emit(c)
					k += c.n
					continue
				}
			}
			k++
			continue
		}
		if k > 0 && (!s.leftOK(s.g[k].s) || (k != matched && s.inBlock(k))) {
			k++
			continue
		}
		c := s.best(k)
		if c.n == 0 {
			k++
			continue
		}
		s.emit(c)
		k += c.n
		matched = k
	}
	if k < s.ng && s.truncated {
		return s.g[k].s
	}
	return s.g[s.ng-1].e
}

// inBlock reports whether group k is inside a block of three or more
// groups of four digits ("4730 3744 0324 9585"): such a block is one number
// (a card, an account), and if it is not valid as a whole, no part of it is
// taken for something else.
func (s *scanner) inBlock(k int) bool {
	if k == 0 || s.glen(k) != 4 || s.glen(k-1) != 4 {
		return false
	}
	n := 2
	for j := k - 2; j >= 0 && s.glen(j) == 4 && s.g[j].sep == s.g[k-1].sep; j-- {
		n++
	}
	for j := k + 1; j < s.ng && s.glen(j) == 4 && s.g[j-1].sep == s.g[k-1].sep; j++ {
		n++
	}
	return n >= 3
}

func (s *scanner) best(k int) cand {
	var best cand
	take := func(c cand) {
		if c.n == 0 || !s.kinds.Has(c.kind) {
			return
		}
		if c.conf > best.conf || (c.conf == best.conf && c.end-c.start > best.end-best.start) {
			best = c
		}
	}
	// Only the detectors whose values can start with a group this long.
	l := s.glen(k)
	if l >= 6 && l <= 12 && l&1 == 0 && (s.kinds.Has(Personnummer) || s.kinds.Has(Samordningsnummer)) {
		take(s.personnummer(k))
	}
	if (l == 6 || l == 10 || l == 12) && s.kinds.Has(Organisationsnummer) {
		take(s.orgnr(k))
	}
	if (l == 4 || l >= 13 && l <= 19) && s.kinds.Has(Card) {
		take(s.card(k))
	}
	if (l == 4 || l == 5 || l >= 11 && l <= 15) && s.kinds.Has(BankAccount) {
		take(s.bankAccount(k))
	}
	if (l == 3 || l == 4 || l == 7 || l == 8) && s.kinds.Has(Bankgiro) {
		take(s.bankgiro(k))
	}
	if l <= 8 && s.kinds.Has(Plusgiro) {
		take(s.plusgiro(k))
	}
	if s.b[s.g[k].s] == '0' && s.kinds.Has(Phone) {
		take(s.phone(k))
	}
	return best
}

func (s *scanner) emit(c cand) {
	s.dst = append(s.dst, Match{Kind: c.kind, Start: c.start, End: c.end, Confidence: c.conf})
}

// glen returns the number of digits in group k, or 0 past the run.
func (s *scanner) glen(k int) int {
	if k >= s.ng {
		return 0
	}
	return s.g[k].e - s.g[k].s
}

// sep returns the separator after group k.
func (s *scanner) sep(k int) sepKind {
	if k >= s.ng {
		return sepEnd
	}
	return s.g[k].sep
}

// digits returns the digit values of groups k..k+n-1, or nil if there are
// more than fit in the scratch buffer.
func (s *scanner) digits(k, n int) []byte {
	d := s.dig[:0]
	for j := k; j < k+n; j++ {
		g := s.g[j]
		if len(d)+g.e-g.s > len(s.dig) {
			return nil
		}
		for _, c := range s.b[g.s:g.e] {
			d = append(d, c-'0')
		}
	}
	return d
}

// span returns a candidate for groups k..k+n-1 if it may end there.
func (s *scanner) span(kind Kind, k, n int, conf float32) cand {
	end := s.g[k+n-1].e
	if !s.rightOK(end) {
		return cand{}
	}
	return cand{kind: kind, n: n, start: s.g[k].s, end: end, conf: conf}
}

// context says which kinds are named by the words just before a value.
type context struct {
	has     uint16 // bit per Kind named within the window or by the hint
	nearest Kind   // the kind whose keyword is closest to the value
	dist    int    // bytes between that keyword and the value
}

func (c context) named(k Kind) bool { return c.has&(1<<k) != 0 }

// labels reports whether the value is labelled as k: the keyword just
// before it ("Plusgiro: 1234567", "PG-nr 1234567") or the hint.
func (c context) labels(k Kind) bool { return c.nearest == k && c.dist <= 16 }

var keywords = []struct {
	word string
	kind Kind
}{
	{"personnummer", Personnummer}, {"personnr", Personnummer}, {"pnr", Personnummer},
	{"pers.nr", Personnummer}, {"person nr", Personnummer}, {"födelsenummer", Personnummer},
	{"personal identity", Personnummer}, {"personal number", Personnummer},
	{"identity number", Personnummer}, {"id-nr", Personnummer}, {"id nr", Personnummer},
	{"identitetsnummer", Personnummer}, {"ssn", Personnummer},
	{"samordningsn", Samordningsnummer}, {"coordination", Samordningsnummer}, {"co-ordination", Samordningsnummer},
	{"org", Organisationsnummer},
	{"kort", Card}, {"card", Card}, {"visa", Card}, {"mastercard", Card}, {"amex", Card},
	{"konto", BankAccount}, {"account", BankAccount}, {"clearing", BankAccount}, {"acct", BankAccount},
	{"bankgiro", Bankgiro}, {"bg ", Bankgiro}, {"bg:", Bankgiro}, {"bg-nr", Bankgiro}, {"bg nr", Bankgiro}, {"bg.", Bankgiro},
	{"plusgiro", Plusgiro}, {"postgiro", Plusgiro}, {"pg ", Plusgiro}, {"pg:", Plusgiro}, {"pg-nr", Plusgiro}, {"pg nr", Plusgiro}, {"pg.", Plusgiro},
	{"tel", Phone}, {"mobil", Phone}, {"phone", Phone}, {"fax", Phone}, {"ring", Phone},
	{"sms", Phone}, {"växel", Phone}, {"call", Phone}, {"nummer till", Phone},
}

const ctxWindow = 40

// keywordsByFirst indexes keywords by their first byte; keywordPair marks
// the pairs of bytes a keyword starts with, a cheap test before comparing.
var keywordsByFirst, keywordPair = func() (t [256][]int, pair *[256][256]bool) {
	pair = new([256][256]bool)
	for i, kw := range keywords {
		t[kw.word[0]] = append(t[kw.word[0]], i)
		pair[kw.word[0]][kw.word[1]] = true
	}
	return t, pair
}()

func lower(c byte) byte {
	if c-'A' < 26 {
		return c + 'a' - 'A'
	}
	return c
}

func lowerInto(dst []byte, src []byte) []byte {
	for _, c := range src {
		dst = append(dst, lower(c))
	}
	return dst
}

// nearestKeyword finds the keyword in w that ends last, and sets the bits
// of every keyword found in has.
func nearestKeyword(w []byte, has *uint16) (Kind, int) {
	var kind Kind
	bestEnd := -1
	for j := 0; j+1 < len(w); j++ {
		if !keywordPair[w[j]][w[j+1]] {
			continue
		}
		for _, ki := range keywordsByFirst[w[j]] {
			kw := keywords[ki]
			if len(w)-j >= len(kw.word) && string(w[j:j+len(kw.word)]) == kw.word {
				*has |= 1 << kw.kind
				if e := j + len(kw.word); e >= bestEnd {
					bestEnd, kind = e, kw.kind
				}
			}
		}
	}
	return kind, len(w) - bestEnd
}

// contextAt returns the context of a value starting at pos.
func (s *scanner) contextAt(pos int) context {
	if s.ctxDone && s.ctxPos == pos {
		return s.ctx
	}
	var buf [ctxWindow]byte
	from := max(pos-ctxWindow, 0)
	win := lowerInto(buf[:0], s.b[from:pos])
	var c context
	c.nearest, c.dist = nearestKeyword(win, &c.has)
	if s.hint != "" {
		var hb [65]byte
		h := s.hint
		if len(h) > 64 {
			h = h[:64]
		}
		hw := lowerInto(hb[:0], []byte(h))
		hw = append(hw, ' ')
		var has uint16
		if k, _ := nearestKeyword(hw, &has); c.nearest == 0 && k != 0 {
			c.nearest, c.dist = k, 0
		}
		c.has |= has
	}
	// A samordningsnummer is a kind of personal identity number.
	if c.has&(1<<Samordningsnummer) != 0 {
		c.has |= 1 << Personnummer
	}
	s.ctx, s.ctxPos, s.ctxDone = c, pos, true
	return c
}
