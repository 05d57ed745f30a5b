//go:build ignore

// gen writes corpus.txt, the labelled corpus that corpus_test.go measures
// the detectors against. It computes check digits itself (it does not use
// package detect), so a bug there cannot hide in both. Run from
// store/redact/testdata:
//
//	go run gen.go > corpus.txt
//
// -seed N writes another corpus of the same shape, to check that the
// detectors were not tuned to this one.
//
// Format: documents start with "=== <format> <language>" (format text,
// form, csv or md). [[kind:value]] marks a value the detectors must find,
// [[-what:value]] a near-miss they must not find anything in. The test
// removes the brackets. Hand-written tricky cases are in tricky.txt, in the
// same format.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
)

var rng *rand.Rand

func digit() int { return rng.IntN(10) }

func digits(n int) string {
	var b strings.Builder
	for range n {
		b.WriteByte(byte('0' + digit()))
	}
	return b.String()
}

func luhnSum(s string) int {
	sum := 0
	double := false
	for i := len(s) - 1; i >= 0; i-- {
		v := int(s[i] - '0')
		if double {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return sum
}

// luhnDigit returns the check digit to append to s.
func luhnDigit(s string) string {
	return fmt.Sprint((10 - luhnSum(s+"0")%10) % 10)
}

// badLuhnDigit returns a check digit that is wrong for s.
func badLuhnDigit(s string) string {
	good := int(luhnDigit(s)[0] - '0')
	return fmt.Sprint((good + 1 + rng.IntN(9)) % 10)
}

func mod11Digit(s string) (string, bool) {
	// weights from the right 1, 2, …; the check digit has weight 1.
	sum := 0
	w := 2
	for i := len(s) - 1; i >= 0; i-- {
		sum += int(s[i]-'0') * w
		w++
		if w > 10 {
			w = 1
		}
	}
	c := (11 - sum%11) % 11
	if c == 10 {
		return "", false
	}
	return fmt.Sprint(c), true
}

func leap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(y, m int) int {
	d := []int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m]
	if m == 2 && leap(y) {
		d = 29
	}
	return d
}

type pn struct{ y, m, d int }

func randDate(y0, y1 int) pn {
	y := y0 + rng.IntN(y1-y0+1)
	m := 1 + rng.IntN(12)
	return pn{y, m, 1 + rng.IntN(daysIn(y, m))}
}

// personnummer returns a valid number for the date, in a random format.
func personnummer(dt pn, samordning bool) string {
	day := dt.d
	if samordning {
		day += 60
	}
	ten := fmt.Sprintf("%02d%02d%02d%s", dt.y%100, dt.m, day, digits(3))
	ten += luhnDigit(ten)
	old := dt.y <= 1925
	switch f := rng.IntN(5); {
	case old && f < 3:
		return ten[:6] + "+" + ten[6:]
	case f == 0:
		return ten[:6] + "-" + ten[6:]
	case f == 1:
		return fmt.Sprintf("%d%s-%s", dt.y/100, ten[:6], ten[6:])
	case f == 2:
		return fmt.Sprintf("%d%s", dt.y/100, ten)
	case f == 3:
		return ten[:6] + "-" + ten[6:]
	default:
		return ten
	}
}

func orgnr() string {
	first := []byte("2357889")[rng.IntN(7)]
	s := string(first) + digits(1) + fmt.Sprint(2+rng.IntN(8)) + digits(6)
	s += luhnDigit(s)
	switch rng.IntN(4) {
	case 0:
		return s
	case 1:
		return "16" + s
	default:
		return s[:6] + "-" + s[6:]
	}
}

func cardNumber() (string, string) {
	var prefix string
	n := 16
	switch rng.IntN(7) {
	case 0, 1:
		prefix = "4"
	case 2:
		prefix = fmt.Sprint(51 + rng.IntN(5))
	case 3:
		prefix = fmt.Sprint(2221 + rng.IntN(500))
	case 4:
		prefix, n = []string{"34", "37"}[rng.IntN(2)], 15
	case 5:
		prefix = "6011"
	default:
		prefix = fmt.Sprint(3528 + rng.IntN(62))
	}
	s := prefix + digits(n-len(prefix)-1)
	return s, luhnDigit(s)
}

func formatCard(s string) string {
	if len(s) == 15 {
		if rng.IntN(2) == 0 {
			return s
		}
		return s[:4] + " " + s[4:10] + " " + s[10:]
	}
	switch rng.IntN(3) {
	case 0:
		return s
	case 1:
		return s[:4] + " " + s[4:8] + " " + s[8:12] + " " + s[12:]
	default:
		return s[:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:]
	}
}

func card() string {
	s, c := cardNumber()
	return formatCard(s + c)
}

var ibanCountries = []struct {
	cc   string
	bban func() string
}{
	{"SE", func() string { return digits(20) }},
	{"DE", func() string { return digits(18) }},
	{"NO", func() string { return digits(11) }},
	{"FI", func() string { return digits(14) }},
	{"DK", func() string { return digits(14) }},
	{"GB", func() string { return letters(4) + digits(14) }},
	{"NL", func() string { return letters(4) + digits(10) }},
	{"FR", func() string { return digits(23) }},
}

func letters(n int) string {
	var b strings.Builder
	for range n {
		b.WriteByte(byte('A' + rng.IntN(26)))
	}
	return b.String()
}

func mod97(s string) int {
	r := 0
	for _, c := range s {
		if c >= 'A' {
			r = (r*100 + int(c-'A') + 10) % 97
		} else {
			r = (r*10 + int(c-'0')) % 97
		}
	}
	return r
}

func iban(valid bool) string {
	c := ibanCountries[rng.IntN(len(ibanCountries))]
	bban := c.bban()
	check := 98 - mod97(bban+c.cc+"00")
	if !valid {
		check = (check+1+rng.IntN(90))%97 + 2
		if 98-mod97(bban+c.cc+"00") == check {
			check = check%97 + 1
		}
	}
	s := fmt.Sprintf("%s%02d%s", c.cc, check, bban)
	if rng.IntN(3) == 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s[i:min(i+4, len(s))])
	}
	return b.String()
}

// bankAccount returns a valid Swedish clearing + account number.
func bankAccount() string {
	for {
		switch rng.IntN(6) {
		case 0: // SEB, type 1 comment 1
			cl := fmt.Sprint(5000 + rng.IntN(1000))
			acc := digits(6)
			c, ok := mod11Digit(cl[1:] + acc)
			if !ok {
				continue
			}
			acc += c
			return []string{cl + "-" + acc, cl + " " + acc[:3] + " " + acc[3:5] + " " + acc[5:], cl + "-" + acc[:2] + " " + acc[2:5] + " " + acc[5:]}[rng.IntN(3)]
		case 1: // Nordea, type 1 comment 1
			cl := fmt.Sprint(3000 + rng.IntN(300))
			if cl == "3300" {
				continue
			}
			acc := digits(6)
			c, ok := mod11Digit(cl[1:] + acc)
			if !ok {
				continue
			}
			return cl + "-" + acc + c
		case 2: // Avanza, type 1 comment 2
			cl := fmt.Sprint(9550 + rng.IntN(20))
			acc := digits(6)
			c, ok := mod11Digit(cl + acc)
			if !ok {
				continue
			}
			return cl + "-" + acc + c
		case 3: // Handelsbanken, type 2 comment 2
			cl := fmt.Sprint(6000 + rng.IntN(1000))
			acc := digits(8)
			c, ok := mod11Digit(acc)
			if !ok {
				continue
			}
			acc += c
			if rng.IntN(2) == 0 {
				return cl + "-" + acc
			}
			return cl + " " + acc[:3] + " " + acc[3:6] + " " + acc[6:]
		case 4: // Swedbank, type 2 comment 3, five-digit clearing
			cl := fmt.Sprint(8000 + rng.IntN(1000))
			cl += luhnDigit(cl)
			acc := digits(9)
			acc += luhnDigit(acc)
			if rng.IntN(2) == 0 {
				return cl[:4] + "-" + cl[4:] + " " + acc[:3] + " " + acc[3:6] + " " + acc[6:9] + "-" + acc[9:]
			}
			return cl + "-" + acc
		default: // Danske Bank, type 2 comment 1
			acc := digits(9)
			acc += luhnDigit(acc)
			return fmt.Sprint(9180+rng.IntN(10)) + "-" + acc
		}
	}
}

func bankgiro() string {
	for {
		n := 7 + rng.IntN(2)
		s := fmt.Sprint(1+rng.IntN(9)) + digits(n-2)
		s += luhnDigit(s)
		a, b := s[:n-4], s[n-4:]
		if n == 8 && isYear(a) && isYear(b) {
			continue
		}
		return a + "-" + b
	}
}

func isYear(s string) bool { return s >= "1800" && s <= "2199" }

func plusgiro(paired bool) string {
	n := 6 + rng.IntN(3)
	s := fmt.Sprint(1+rng.IntN(9)) + digits(n-2)
	s += luhnDigit(s)
	if !paired {
		return s[:n-1] + "-" + s[n-1:]
	}
	body := s[:n-1]
	var groups []string
	for len(body) > 2 {
		groups = append([]string{body[len(body)-2:]}, groups...)
		body = body[:len(body)-2]
	}
	groups = append([]string{body}, groups...)
	return strings.Join(groups, " ") + "-" + s[n-1:]
}

var firstNames = []string{"anna", "erik", "maria", "lars", "karin", "johan", "sara", "per", "lena", "olof", "eva", "nils", "åsa", "björn", "ingrid", "mikael"}
var lastNames = []string{"andersson", "johansson", "karlsson", "nilsson", "eriksson", "larsson", "olsson", "persson", "svensson", "gustafsson", "lindqvist", "berg", "holm", "öberg"}
var domains = []string{"example.se", "exempel.se", "firma.com", "post.example.org", "mail.test.nu", "kund.example.net", "bolaget.se"}

func email() string {
	f := firstNames[rng.IntN(len(firstNames))]
	l := lastNames[rng.IntN(len(lastNames))]
	initial := string([]rune(f)[:1])
	local := []string{f + "." + l, f + l, initial + l, f + "_" + l + digits(2), f + "+arkiv", l + "." + f}[rng.IntN(6)]
	return local + "@" + domains[rng.IntN(len(domains))]
}

func phone() string {
	switch rng.IntN(9) {
	case 0:
		return fmt.Sprintf("07%c-%s %s %s", "02369"[rng.IntN(5)], sub(3), digits(2), digits(2))
	case 1:
		return fmt.Sprintf("07%c %s %s %s", "02369"[rng.IntN(5)], sub(3), digits(2), digits(2))
	case 2:
		return fmt.Sprintf("08-%s %s %s", sub(3), digits(3), digits(2))
	case 3:
		area := []string{"011", "013", "019", "021", "023", "026", "031", "035", "036", "040", "042", "044", "046", "054", "060", "063", "090"}[rng.IntN(17)]
		return fmt.Sprintf("%s-%s %s %s", area, sub(2), digits(2), digits(2))
	case 4:
		return fmt.Sprintf("+46 7%c %s %s %s", "02369"[rng.IntN(5)], sub(3), digits(2), digits(2))
	case 5:
		return fmt.Sprintf("+46 (0)8-%s %s %s", sub(3), digits(3), digits(2))
	case 6:
		return fmt.Sprintf("+44 20 %s %s", sub(4), digits(4))
	case 7:
		return fmt.Sprintf("+1 (%d) %s-%s", 201+rng.IntN(700), sub(3), digits(4))
	default:
		return fmt.Sprintf("+49 30 %s", sub(8))
	}
}

// sub returns n digits not starting with 0.
func sub(n int) string { return fmt.Sprint(1+rng.IntN(9)) + digits(n-1) }

// ---- near-misses ----

func badDate() string {
	switch rng.IntN(4) {
	case 0:
		return fmt.Sprintf("%d-02-30", 2000+rng.IntN(30))
	case 1:
		return fmt.Sprintf("%d-02-29", 2001+4*rng.IntN(6))
	case 2:
		return fmt.Sprintf("%d-%02d-31", 2000+rng.IntN(30), []int{4, 6, 9, 11}[rng.IntN(4)])
	default:
		return fmt.Sprintf("%d-13-%02d", 1990+rng.IntN(30), 1+rng.IntN(28))
	}
}

func goodDate() string {
	d := randDate(1990, 2030)
	switch rng.IntN(3) {
	case 0:
		return fmt.Sprintf("%d-%02d-%02d", d.y, d.m, d.d)
	case 1:
		return fmt.Sprintf("%02d.%02d.%d", d.d, d.m, d.y)
	default:
		return fmt.Sprintf("%d%02d%02d", d.y, d.m, d.d)
	}
}

func amount() string {
	switch rng.IntN(5) {
	case 0:
		return fmt.Sprintf("%d %03d %03d,%02d kr", 1+rng.IntN(9), rng.IntN(1000), rng.IntN(1000), rng.IntN(100))
	case 1:
		return fmt.Sprintf("%d %03d,%02d SEK", 1+rng.IntN(99), rng.IntN(1000), rng.IntN(100))
	case 2:
		return fmt.Sprintf("€%d,%03d.%02d", 1+rng.IntN(99), rng.IntN(1000), rng.IntN(100))
	case 3:
		return fmt.Sprintf("%d %03d %03d kr", 10+rng.IntN(90), rng.IntN(1000), rng.IntN(1000))
	default:
		return fmt.Sprintf("$%d,%03d,%03d.%02d", 1+rng.IntN(9), rng.IntN(1000), rng.IntN(1000), rng.IntN(100))
	}
}

func orderNumber() string {
	switch rng.IntN(5) {
	case 0:
		return fmt.Sprintf("ORD-%d-%06d", 2020+rng.IntN(6), rng.IntN(1000000))
	case 1:
		return fmt.Sprintf("#%d", 100000+rng.IntN(900000))
	case 2:
		return "4500" + digits(6) // SAP-style purchase order
	case 3:
		return fmt.Sprintf("SO%d", 1000000+rng.IntN(9000000))
	default:
		return fmt.Sprintf("%d-%s", 2020+rng.IntN(6), digits(5))
	}
}

// badPersonnummer fails Luhn, or has no such date, or is in the future.
func badPersonnummer() string {
	dt := randDate(1940, 2010)
	switch rng.IntN(3) {
	case 0:
		ten := fmt.Sprintf("%02d%02d%02d%s", dt.y%100, dt.m, dt.d, digits(3))
		ten += badLuhnDigit(ten)
		return ten[:6] + "-" + ten[6:]
	case 1:
		y := 1941 + rng.IntN(60)
		if leap(y) {
			y++
		}
		ten := fmt.Sprintf("%02d02%02d%s", y%100, 29+rng.IntN(2), digits(3))
		ten += luhnDigit(ten)
		return fmt.Sprintf("%d%s-%s", y/100, ten[:6], ten[6:])
	default:
		ten := fmt.Sprintf("%02d%02d%02d%s", 31+rng.IntN(40), dt.m, dt.d, digits(3))
		ten += luhnDigit(ten)
		return "20" + ten[:6] + "-" + ten[6:]
	}
}

func badCard() string {
	s, c := cardNumber()
	_ = c
	return formatCard(s + badLuhnDigit(s))
}

func badBankgiro() string {
	s := fmt.Sprint(1+rng.IntN(9)) + digits(5)
	s += badLuhnDigit(s)
	return s[:3] + "-" + s[3:]
}

func badOrgnr() string {
	s := "556" + digits(6)
	s += badLuhnDigit(s)
	return s[:6] + "-" + s[6:]
}

func serial() string {
	switch rng.IntN(6) {
	case 0:
		return fmt.Sprintf("070-%s-%s-%s", digits(3), digits(3), digits(4))
	case 1:
		return fmt.Sprintf("07%c-%s %s", "02369"[rng.IntN(5)], digits(3), digits(2))
	case 2:
		return fmt.Sprintf("SN%s", digits(10))
	case 3:
		return fmt.Sprintf("0%s-%s-%s", digits(3), digits(2), digits(2))
	case 4:
		return fmt.Sprintf("+%d", 1000+rng.IntN(9000))
	default:
		return fmt.Sprintf("AB-070%s", digits(7))
	}
}

func misc() string {
	switch rng.IntN(8) {
	case 0:
		return fmt.Sprintf("%d:%02d", rng.IntN(24), rng.IntN(60))
	case 1:
		return fmt.Sprintf("%d.%d.%d", 1+rng.IntN(9), rng.IntN(20), rng.IntN(30))
	case 2:
		return fmt.Sprintf("192.168.%d.%d", rng.IntN(256), rng.IntN(256))
	case 3:
		return fmt.Sprintf("%d %02d", 100+rng.IntN(900), rng.IntN(100))
	case 4:
		return fmt.Sprintf("%d,%d %%", rng.IntN(100), rng.IntN(10))
	case 5:
		return "anna@localhost"
	case 6:
		return fmt.Sprintf("978-91-%s-%s-%d", digits(2), digits(5), rng.IntN(10))
	default:
		return fmt.Sprintf("v%d.%d", 1+rng.IntN(9), rng.IntN(20))
	}
}

// ---- documents ----

func pos(kind, v string) string { return "[[" + kind + ":" + v + "]]" }
func neg(what, v string) string { return "[[-" + what + ":" + v + "]]" }

type value struct {
	kind string
	gen  func() string
}

func pnrValue() string {
	if rng.IntN(6) == 0 {
		return personnummer(randDate(1905, 1925), false)
	}
	return personnummer(randDate(1930, 2020), false)
}

func samValue() string { return personnummer(randDate(1940, 2020), true) }

var positives = []value{
	{"personnummer", pnrValue},
	{"samordningsnummer", samValue},
	{"organisationsnummer", orgnr},
	{"card", card},
	{"iban", func() string { return iban(true) }},
	{"bankaccount", bankAccount},
	{"bankgiro", bankgiro},
	{"plusgiro", func() string { return plusgiro(rng.IntN(2) == 0) }},
	{"email", email},
	{"phone", phone},
}

var negatives = []value{
	{"date", badDate}, {"date", goodDate}, {"amount", amount}, {"order", orderNumber},
	{"personnummer", badPersonnummer}, {"card", badCard},
	{"iban", func() string { return iban(false) }},
	{"bankgiro", badBankgiro}, {"orgnr", badOrgnr}, {"serial", serial}, {"misc", misc},
}

// Words that name each kind, in Swedish and English.
var labels = map[string][2]string{
	"personnummer":        {"personnummer", "personal identity number"},
	"samordningsnummer":   {"samordningsnummer", "co-ordination number"},
	"organisationsnummer": {"org.nr", "organisation number"},
	"card":                {"kortnummer", "card number"},
	"iban":                {"IBAN", "IBAN"},
	"bankaccount":         {"kontonummer", "account number"},
	"bankgiro":            {"bankgiro", "Bankgiro"},
	"plusgiro":            {"plusgiro", "PlusGiro"},
	"email":               {"e-post", "e-mail"},
	"phone":               {"telefon", "phone"},
}

var svFrames = []string{
	"Kunden uppgav %s %s vid mötet den %s.",
	"Vi har noterat %s %s i ärendet, se även %s.",
	"Enligt avtalet gäller %s %s; fakturan avser %s.",
	"Handläggaren kontrollerade %s %s mot registret (%s).",
}

var enFrames = []string{
	"The customer gave %s %s at the meeting on %s.",
	"We have recorded %s %s for this case, see also %s.",
	"Under the agreement the %s is %s; the invoice covers %s.",
	"The officer checked %s %s against the register (%s).",
}

func main() {
	seed := flag.Uint64("seed", 7, "random seed")
	flag.Parse()
	rng = rand.New(rand.NewPCG(*seed, 1))
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	fmt.Fprintln(w, "# Generated by gen.go; do not edit. Regenerate: go run gen.go > corpus.txt")
	// Running text: every positive kind, 30 times each, half Swedish.
	for i := 0; i < 30; i++ {
		for _, lang := range []int{0, 1} {
			fmt.Fprintf(w, "=== text %s\n", []string{"sv", "en"}[lang])
			for j, p := range positives {
				if (i+j)%2 != lang {
					continue
				}
				n := negatives[rng.IntN(len(negatives))]
				frames := svFrames
				if lang == 1 {
					frames = enFrames
				}
				f := frames[rng.IntN(len(frames))]
				fmt.Fprintf(w, f+"\n", labels[p.kind][lang], pos(p.kind, p.gen()), neg(n.kind, n.gen()))
			}
			fmt.Fprintln(w)
		}
	}
	// Near-misses in running text, with words that name a kind nearby.
	for i := 0; i < 20; i++ {
		fmt.Fprintln(w, "=== text sv")
		for _, n := range negatives {
			fmt.Fprintf(w, "Ärende %s: %s, belopp %s.\n", neg("order", orderNumber()), neg(n.kind, n.gen()), neg("amount", amount()))
		}
		fmt.Fprintln(w)
	}
	// Forms.
	for i := 0; i < 15; i++ {
		fmt.Fprintf(w, "=== form %s\n", []string{"sv", "en"}[i%2])
		if i%2 == 0 {
			fmt.Fprintf(w, "Namn: Anna Svensson\nPersonnummer: %s\nTelefon: %s\nE-post: %s\nKontonummer: %s\nDatum: %s\nBelopp: %s\n\n",
				pos("personnummer", pnrValue()), pos("phone", phone()), pos("email", email()), pos("bankaccount", bankAccount()), neg("date", goodDate()), neg("amount", amount()))
		} else {
			fmt.Fprintf(w, "Name: Erik Berg\nCard: %s\nIBAN: %s\nBankgiro: %s\nCompany reg. no.: %s\nOrder: %s\nSerial: %s\n\n",
				pos("card", card()), pos("iban", iban(true)), pos("bankgiro", bankgiro()), pos("organisationsnummer", orgnr()), neg("order", orderNumber()), neg("serial", serial()))
		}
	}
	// CSV.
	for i := 0; i < 6; i++ {
		fmt.Fprintln(w, "=== csv sv")
		fmt.Fprintln(w, "namn;personnummer;telefon;e-post;konto;belopp;datum")
		for j := 0; j < 8; j++ {
			fmt.Fprintf(w, "Kund %d;%s;%s;%s;%s;%s;%s\n", j, pos("personnummer", pnrValue()), pos("phone", phone()), pos("email", email()), pos("bankaccount", bankAccount()), neg("amount", amount()), neg("date", goodDate()))
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w, "=== csv en")
		fmt.Fprintln(w, "customer,card,iban,ref,org no,amount")
		for j := 0; j < 8; j++ {
			fmt.Fprintf(w, "C%d,%s,%s,%s,%s,\"%s\"\n", j, pos("card", card()), pos("iban", iban(true)), neg("order", orderNumber()), pos("organisationsnummer", orgnr()), neg("amount", amount()))
		}
		fmt.Fprintln(w)
	}
}
