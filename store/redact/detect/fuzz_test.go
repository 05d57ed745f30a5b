package detect

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/valv-vault/valv/store/idnumber"
)

// Each detector has a fuzz target that runs the scanner with only that
// kind enabled and checks what every detector promises: spans in bounds,
// on rune boundaries, in order and not overlapping, of the asked kind, and
// passing the kind's own check when re-read. FuzzFind runs all of them at
// once.

func seeds(f *testing.F) {
	for _, s := range []string{
		"pnr 19121212-1212 121212+1212 1212121212 701063-2391",
		"org 556012-5790 165560125790",
		"4111 1111 1111 1111 3782 822463 10005 5555-5555-5555-4444",
		"SE45 5000 0000 0583 9825 7466 GB82WEST12345698765432",
		"6789-123 456 789 8327-9 123 456 789-0",
		"Bankgiro 5050-1055 Plusgiro 4 78 90-9 PG 478909",
		"anna.svensson@example.se åsa@exempel.se",
		"070-123 45 67 +46 (0)8-123 456 78 (08) 123 45 67 +1 (415) 555-2671",
		"2024-02-30 1 234 567,89 kr ORD-2024-000123",
		"\xff\xfe12\xc2\xa0345 \xe2\x80\x93 67@\x80.se",
	} {
		f.Add([]byte(s))
	}
	// Lines of the labelled corpus, without their markup.
	for _, name := range []string{"corpus.txt", "tricky.txt"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", name))
		if err != nil {
			continue
		}
		r := strings.NewReplacer("[[", "", "]]", "")
		for i, line := range strings.Split(string(b), "\n") {
			if i%7 == 0 && line != "" {
				f.Add([]byte(r.Replace(line)))
			}
		}
	}
}

// boundaries marks the offsets where decoding b as UTF-8 (an invalid byte
// being one rune, as in a range loop) starts a rune, and len(b).
func boundaries(b []byte) []bool {
	at := make([]bool, len(b)+1)
	for i := 0; i < len(b); {
		at[i] = true
		_, n := utf8.DecodeRune(b[i:])
		i += n
	}
	at[len(b)] = true
	return at
}

func checkMatches(t *testing.T, b []byte, ms []Match, kinds Set) {
	t.Helper()
	at := boundaries(b)
	prev := 0
	for _, m := range ms {
		if m.Start < prev || m.End <= m.Start || m.End > len(b) {
			t.Fatalf("bad span [%d,%d) after %d in %d bytes: %q", m.Start, m.End, prev, len(b), b)
		}
		prev = m.End
		if !at[m.Start] || !at[m.End] {
			t.Fatalf("span [%d,%d) not on rune boundaries in %q", m.Start, m.End, b)
		}
		if !kinds.Has(m.Kind) {
			t.Fatalf("kind %v not asked for (%q)", m.Kind, b[m.Start:m.End])
		}
		if !(m.Confidence > 0 && m.Confidence <= 1) {
			t.Fatalf("confidence %v", m.Confidence)
		}
		v := b[m.Start:m.End]
		if !recheck(m.Kind, v) {
			t.Fatalf("%v %q does not pass its check", m.Kind, v)
		}
	}
}

// recheck validates a matched value independently of the scanner.
func recheck(k Kind, v []byte) bool {
	var d []byte
	for _, c := range v {
		if c >= '0' && c <= '9' {
			d = append(d, c-'0')
		}
	}
	switch k {
	case Personnummer, Samordningsnummer, Organisationsnummer:
		if len(v) > 0 && isLetter(v[0]) && len(d) == 12 { // VAT number SE…01
			d = d[:10]
		}
		return (len(d) == 10 || len(d) == 12) && idnumber.Luhn(d[len(d)-10:])
	case Card:
		return len(d) >= 13 && len(d) <= 19 && idnumber.Luhn(d)
	case Bankgiro, Plusgiro:
		return len(d) >= 5 && len(d) <= 8 && idnumber.Luhn(d)
	case IBAN:
		s := strings.ToUpper(strings.ReplaceAll(string(v), " ", ""))
		s = s[4:] + s[:4]
		r := 0
		for _, c := range s {
			if c >= 'A' {
				r = (r*100 + int(c-'A') + 10) % 97
			} else {
				r = (r*10 + int(c-'0')) % 97
			}
		}
		return r == 1
	case BankAccount:
		return len(d) >= 11 && len(d) <= 15
	case Email:
		return bytes.Count(v, []byte("@")) == 1 && v[0] != '@' && v[len(v)-1] != '.'
	case Phone:
		return len(d) >= 8 && len(d) <= 17
	}
	return false
}

func fuzzKinds(f *testing.F, kinds ...Kind) {
	seeds(f)
	set := SetOf(kinds...)
	f.Fuzz(func(t *testing.T, b []byte) {
		d := Detector{Kinds: set, Now: testNow}
		ms := d.Find(b)
		checkMatches(t, b, ms, set)
		// A match is found again in the same place when the text
		// before it is cut off at a line break.
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 && len(ms) > 0 {
			tail := d.Find(b[i+1:])
			var want []Match
			for _, m := range ms {
				if m.Start > i+1+ctxWindow {
					m.Start -= i + 1
					m.End -= i + 1
					want = append(want, m)
				}
			}
			for _, w := range want {
				found := false
				for _, g := range tail {
					found = found || (g.Start == w.Start && g.End == w.End && g.Kind == w.Kind)
				}
				if !found {
					t.Fatalf("%v at [%d,%d) not found again after cutting at the last line break", w.Kind, w.Start, w.End)
				}
			}
		}
	})
}

func FuzzPersonnummer(f *testing.F) { fuzzKinds(f, Personnummer, Samordningsnummer) }
func FuzzOrgnr(f *testing.F)        { fuzzKinds(f, Organisationsnummer) }
func FuzzCard(f *testing.F)         { fuzzKinds(f, Card) }
func FuzzIBAN(f *testing.F)         { fuzzKinds(f, IBAN) }
func FuzzBankAccount(f *testing.F)  { fuzzKinds(f, BankAccount) }
func FuzzGiro(f *testing.F)         { fuzzKinds(f, Bankgiro, Plusgiro) }
func FuzzEmail(f *testing.F)        { fuzzKinds(f, Email) }
func FuzzPhone(f *testing.F)        { fuzzKinds(f, Phone) }
func FuzzFind(f *testing.F)         { fuzzKinds(f, Kinds...) }
