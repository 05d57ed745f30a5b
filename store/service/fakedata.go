package service

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/valv-vault/valv/store/customer"
)

// Made-up Swedish names, streets and towns for the demo vault. Numbers are
// random but pass the checks of package customer (Luhn, mod 97), so the
// demo behaves like a real vault; none belongs to a real person.
var (
	fakeFirst = []string{
		"Anna", "Eva", "Maria", "Karin", "Sara", "Lena", "Kerstin", "Emma", "Ingrid", "Malin",
		"Elsa", "Astrid", "Maja", "Ebba", "Linnea", "Sofia", "Ida", "Frida", "Klara", "Signe",
		"Lars", "Erik", "Anders", "Johan", "Per", "Karl", "Nils", "Mikael", "Jan", "Olof",
		"Gustav", "Axel", "Oskar", "Hugo", "Sven", "Björn", "Göran", "Mats", "Leif", "Åke",
	}
	fakeLast = []string{
		"Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson",
		"Svensson", "Gustafsson", "Pettersson", "Jonsson", "Jansson", "Hansson", "Bengtsson", "Jönsson",
		"Lindberg", "Jakobsson", "Magnusson", "Olofsson", "Lindström", "Lindqvist", "Lindgren", "Berg",
		"Axelsson", "Bergström", "Lundberg", "Lind", "Lundgren", "Lundqvist", "Mattsson", "Berglund",
		"Fredriksson", "Sandberg", "Henriksson", "Forsberg", "Sjöberg", "Wallin", "Engström", "Åberg",
	}
	fakeStreets = []string{
		"Storgatan", "Drottninggatan", "Kungsgatan", "Skolgatan", "Kyrkogatan", "Järnvägsgatan",
		"Västra vägen", "Björkvägen", "Ekvägen", "Tallstigen", "Sjövägen", "Ängsvägen",
	}
	fakeTowns = []struct{ zip, town string }{
		{"111 22", "Stockholm"}, {"411 05", "Göteborg"}, {"211 34", "Malmö"}, {"753 20", "Uppsala"},
		{"581 83", "Linköping"}, {"702 11", "Örebro"}, {"903 26", "Umeå"}, {"971 86", "Luleå"},
		{"852 30", "Sundsvall"}, {"352 31", "Växjö"},
	}
)

// fakeCustomers makes n made-up customers from seed, the same ones for
// the same seed.
func fakeCustomers(seed uint64, n int) []customer.Customer {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]customer.Customer, n)
	for i := range out {
		first, last := fakeFirst[rng.IntN(len(fakeFirst))], fakeLast[rng.IntN(len(fakeLast))]
		town := fakeTowns[rng.IntN(len(fakeTowns))]
		c := customer.Customer{
			Name:           first + " " + last,
			PersonalNumber: fakePersonnummer(rng),
			Addresses:      []string{fmt.Sprintf("%s %d\n%s %s", fakeStreets[rng.IntN(len(fakeStreets))], 1+rng.IntN(80), town.zip, town.town)},
			Phone:          fmt.Sprintf("07%d-%03d %02d %02d", rng.IntN(10), rng.IntN(1000), rng.IntN(100), rng.IntN(100)),
			Email:          asciiFold(strings.ToLower(first+"."+last)) + "@exempel.se",
			Cards:          []string{fakeCard(rng)},
			Accounts:       []string{fakeIBAN(rng)},
			Tags:           []string{[]string{"privat", "företag", "hushåll"}[rng.IntN(3)]},
			RetainUntil:    fmt.Sprintf("%d-%02d-%02d", 2027+rng.IntN(10), 1+rng.IntN(12), 1+rng.IntN(28)),
		}
		if rng.IntN(4) == 0 {
			c.Notes = "Kontaktad per telefon om förnyat avtal."
		}
		out[i] = c
	}
	return out
}

func digitsN(rng *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + rng.IntN(10))
	}
	return string(b)
}

// luhnDigit is the check digit that makes s + digit pass Luhn.
func luhnDigit(s string) byte {
	sum := 0
	double := true // the digit to append is not doubled, so the last of s is
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
	return byte('0' + (10-sum%10)%10)
}

// fakePersonnummer is a valid YYYYMMDD-NNNN for a birth date 1940–2004.
func fakePersonnummer(rng *rand.Rand) string {
	y, m := 1940+rng.IntN(65), 1+rng.IntN(12)
	d := 1 + rng.IntN(28)
	ten := fmt.Sprintf("%02d%02d%02d%s", y%100, m, d, digitsN(rng, 3))
	ten += string(luhnDigit(ten))
	return fmt.Sprintf("%d%s-%s", y/100, ten[:6], ten[6:])
}

// fakeCard is a 16-digit Visa-style number passing Luhn.
func fakeCard(rng *rand.Rand) string {
	s := "4" + digitsN(rng, 14)
	return s + string(luhnDigit(s))
}

// fakeIBAN is a Swedish IBAN (SE, 24 characters) with correct check
// digits.
func fakeIBAN(rng *rand.Rand) string {
	bban := []string{"500", "600", "800", "300", "120"}[rng.IntN(5)] + digitsN(rng, 17)
	// mod 97 of BBAN + "SE00", letters as numbers (S = 28, E = 14).
	num := bban + "281400"
	rem := 0
	for i := 0; i < len(num); i++ {
		rem = (rem*10 + int(num[i]-'0')) % 97
	}
	return fmt.Sprintf("SE%02d%s", 98-rem, bban)
}

// asciiFold writes å, ä, ö as a, a, o, as Swedish e-mail addresses do.
func asciiFold(s string) string {
	return strings.NewReplacer("å", "a", "ä", "a", "ö", "o", "é", "e").Replace(s)
}
