package store

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/store/customer"
)

// luhnPNR completes nine digits (YYMMDDNNN) with the Luhn check digit
// and returns YYMMDD-NNNC.
func luhnPNR(nine string) string {
	sum := 0
	for i := range 9 {
		d := int(nine[i] - '0')
		if i%2 == 0 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return fmt.Sprintf("%s-%s%d", nine[:6], nine[6:], (10-sum%10)%10)
}

func TestSearchFold(t *testing.T) {
	for in, want := range map[string]string{
		"Åsa Öberg":               "asa oberg",
		"ÅSA   öBERG ":            "asa oberg",
		"Müller":                  "muller",
		"Ærø Sørensen":            "aero sorensen",
		"Straße":                  "strasse",
		"O'Brien":                 "obrien",
		"O\u2019Brien":            "obrien",
		"Łódź":                    "lodz",
		"Kunden föredrar e-post.": "kunden foredrar e post",
		"A\u030asa":               "asa", // decomposed Å
		"ﬁnn":                     "finn",
		"Ｆｕｌｌ":                    "full",
		"Þór Guðmundsdóttir":      "thor gudmundsdottir",
		"Ĳssel":                   "ijssel",
		"—·—":                     "",
		"Zoë-Émilie 2":            "zoe emilie 2",
		"\xff bad":                "bad",
	} {
		if got := string(appendFolded(nil, []byte(in))); got != want {
			t.Errorf("fold(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSearchPersonalNumberForms(t *testing.T) {
	today := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, in := range []string{"19811228-9874", "198112289874", "811228-9874", "8112289874", " 811228 9874 ", "19811228 9874"} {
		if got := searchPersonalNumber(in, today); got != "198112289874" {
			t.Errorf("%q → %q", in, got)
		}
	}
	// 100 or older: '+' in the 10-digit form.
	old := luhnPNR("201010123") // 1920-10-10 with '+'
	if got := searchPersonalNumber(strings.Replace(old, "-", "+", 1), today); got != "19"+strings.Replace(old, "-", "", 1) {
		t.Errorf("%q → %q", old, got)
	}
	// Samordningsnummer: the day plus 60.
	sam := luhnPNR("811288123")
	if got := searchPersonalNumber(sam, today); got != "19"+strings.Replace(sam, "-", "", 1) {
		t.Errorf("samordningsnummer %q → %q", sam, got)
	}
	for _, in := range []string{"811228-9875", "8112289", "Åsa", "", "19811228+9874", "99999999999999999999999999999999999999"} {
		if got := searchPersonalNumber(in, today); got != "" {
			t.Errorf("%q → %q, want none", in, got)
		}
	}
}

// searchFixture is a compartment of customers chosen to exercise every
// field and rank.
type searchFixture struct {
	tv    *testVault
	s     *Session
	cid   CompartmentID
	codes map[string]customer.Code // by role
}

func newSearchFixture(t *testing.T) *searchFixture {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	cid, err := s.CreateCompartment("A")
	mustNoErr(t, err)
	f := &searchFixture{tv: tv, s: s, cid: cid, codes: make(map[string]customer.Code)}
	add := func(role string, c customer.Customer) {
		code, err := s.AddCustomer(cid, c)
		mustNoErr(t, err)
		f.codes[role] = code
	}
	add("asaOberg", customer.Customer{Name: "Åsa Öberg", PersonalNumber: "811228-9874", Tags: []string{"VIP kund"}, Notes: "Föredrar e-post."})
	add("asaLind", customer.Customer{Name: "Asa Lindqvist", Tags: []string{"stockholm"}})
	add("muller", customer.Customer{Name: "Hans Müller", PersonalNumber: luhnPNR("811288123"), Notes: "Träffade Åsa på mässan."})
	add("asa", customer.Customer{Name: "åsa"})
	add("asalind", customer.Customer{Name: "Åsalind Berg"})
	add("fan", customer.Customer{Name: "Per Persson", Tags: []string{"Åsa-fan"}})
	return f
}

func (f *searchFixture) search(t *testing.T, q string, limit int) []SearchHit {
	t.Helper()
	hits, err := f.s.SearchCustomers(q, limit)
	mustNoErr(t, err)
	for _, h := range hits {
		if h.Compartment != f.cid {
			t.Errorf("hit in compartment %s", h.Compartment)
		}
	}
	return hits
}

// roles names the hits by role, with score and field.
func (f *searchFixture) roles(hits []SearchHit) string {
	var out []string
	for _, h := range hits {
		role := "?"
		for r, c := range f.codes {
			if c == h.Code {
				role = r
			}
		}
		out = append(out, fmt.Sprintf("%s/%d/%s", role, h.Score, h.Field))
	}
	return strings.Join(out, " ")
}

// byCode orders roles by their codes, for the ties.
func (f *searchFixture) byCode(roles ...string) []string {
	slices.SortFunc(roles, func(a, b string) int { return strings.Compare(string(f.codes[a]), string(f.codes[b])) })
	return roles
}

func TestSearchFieldsAndRanking(t *testing.T) {
	f := newSearchFixture(t)
	want := func(q string, parts ...string) {
		t.Helper()
		if got := f.roles(f.search(t, q, 0)); got != strings.Join(parts, " ") {
			t.Errorf("search %q:\n got %s\nwant %s", q, got, strings.Join(parts, " "))
		}
	}
	nameWord := f.byCode("asaOberg", "asaLind")
	// Ranking: whole name > name words > name prefix > tags > notes, ties by code.
	want("Åsa", "asa/50/name", nameWord[0]+"/40/name", nameWord[1]+"/40/name", "asalind/30/name", "fan/20/tags", "muller/10/notes")
	want("asa", "asa/50/name", nameWord[0]+"/40/name", nameWord[1]+"/40/name", "asalind/30/name", "fan/20/tags", "muller/10/notes")
	want("ÅS", f.prefix("asa", "asaOberg", "asaLind", "asalind")+" fan/20/tags muller/10/notes")
	want("oberg", "asaOberg/40/name")
	want("ÖBERG", "asaOberg/40/name")
	want("åsa öberg", "asaOberg/50/name")
	want("asa ob", "asaOberg/30/name")
	want("muller", "muller/40/name")
	want("Müller", "muller/40/name")
	want("mul", "muller/30/name")
	// Personnummer in every form, samordningsnummer.
	for _, q := range []string{"19811228-9874", "198112289874", "811228-9874", "8112289874", "811228 9874"} {
		want(q, "asaOberg/60/personnummer")
	}
	sam := luhnPNR("811288123")
	for _, q := range []string{sam, strings.Replace(sam, "-", "", 1), "19" + sam, "19" + strings.Replace(sam, "-", "", 1)} {
		want(q, "muller/60/personnummer")
	}
	// Code, as typed in any case and grouping.
	code := string(f.codes["asalind"])
	want(strings.ToLower(strings.ReplaceAll(code, "-", "")), "asalind/70/code")
	want(code, "asalind/70/code")
	// The start of a code with a digit in it (words are never codes).
	for n := 3; n <= 8; n++ {
		start := strings.ReplaceAll(code, "-", "")[:n]
		if !strings.ContainsAny(start, "0123456789") {
			continue
		}
		hits := f.search(t, strings.ToLower(start), 0)
		if !slices.ContainsFunc(hits, func(h SearchHit) bool {
			return h.Code == f.codes["asalind"] && h.Score == ScoreCodePrefix && h.Field == FieldCode
		}) {
			t.Errorf("search for the first %d symbols of a code %s: %+v", n, code, hits)
		}
	}
	if got := codePrefix("e-post"); got != "" {
		t.Errorf("codePrefix(e-post) = %q, want none", got)
	}
	if got := codePrefix("k7q3m"); got != "K7Q3-M" {
		t.Errorf("codePrefix(k7q3m) = %q, want K7Q3-M", got)
	}
	// Tags and notes.
	want("vip", "asaOberg/20/tags")
	want("VIP kund", "asaOberg/20/tags")
	want("stockholm", "asaLind/20/tags")
	want("e-post", "asaOberg/10/notes")
	want("mässan", "muller/10/notes")
	want("träffade åsa", "muller/10/notes")
	// Every word must match; nothing matches nothing.
	want("åsa zzz")
	want("—")
	// The limit keeps the best.
	if got := f.roles(f.search(t, "asa", 2)); got != "asa/50/name "+nameWord[0]+"/40/name" {
		t.Errorf("limit 2: %s", got)
	}
	if _, err := f.s.SearchCustomers("   ", 10); err == nil {
		t.Error("an empty search did not fail")
	}
	if _, err := f.s.SearchCustomers(strings.Repeat("a", maxSearchLen+1), 10); err == nil {
		t.Error("a too long search did not fail")
	}
}

// prefix formats roles that all match as a name prefix, in code order.
func (f *searchFixture) prefix(roles ...string) string {
	var out []string
	for _, r := range f.byCode(roles...) {
		out = append(out, r+"/30/name")
	}
	return strings.Join(out, " ")
}

func TestSearchFollowsEditAndDelete(t *testing.T) {
	f := newSearchFixture(t)
	if len(f.search(t, "oberg", 0)) != 1 { // loads the index
		t.Fatal("no hit before the edit")
	}
	_, err := f.s.EditCustomer(f.codes["asaOberg"], func(c *customer.Customer) error {
		c.Name, c.Tags, c.PersonalNumber = "Greta Garbo", nil, ""
		return nil
	})
	mustNoErr(t, err)
	for _, q := range []string{"oberg", "vip", "811228-9874"} {
		if hits := f.search(t, q, 0); len(hits) != 0 {
			t.Errorf("%q finds %s after the edit", q, f.roles(hits))
		}
	}
	if got := f.roles(f.search(t, "garbo", 0)); got != "asaOberg/40/name" {
		t.Errorf("garbo: %s", got)
	}
	if got := f.roles(f.search(t, "post", 0)); got != "asaOberg/10/notes" {
		t.Errorf("post: %s", got)
	}
	mustNoErr(t, f.s.DeleteCustomer(f.codes["asaLind"]))
	for _, q := range []string{"lindqvist", "stockholm", string(f.codes["asaLind"])} {
		if hits := f.search(t, q, 0); len(hits) != 0 {
			t.Errorf("%q finds %s after the delete", q, f.roles(hits))
		}
	}
	code, err := f.s.AddCustomer(f.cid, customer.Customer{Name: "Ny Kund Lindqvist"})
	mustNoErr(t, err)
	f.codes["new"] = code
	if got := f.roles(f.search(t, "lindqvist", 0)); got != "new/40/name" {
		t.Errorf("after an add: %s", got)
	}

	// Reopened and unlocked again, the sealed index gives the same.
	before := f.search(t, "å", 0)
	mustNoErr(t, f.s.Lock())
	f.tv.reopen(t)
	f.s = f.tv.unlock(t, f.tv.admin)
	if after := f.search(t, "å", 0); !slices.Equal(before, after) || len(after) < 3 {
		t.Errorf("after reopening:\n%s\nbefore:\n%s", f.roles(after), f.roles(before))
	}
}

func TestSearchOnlyGrantedCompartments(t *testing.T) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	a, err := s.CreateCompartment("A")
	mustNoErr(t, err)
	b, err := s.CreateCompartment("B")
	mustNoErr(t, err)
	h := newTestHolder(t, "Hanna", RoleHolder)
	hid, err := s.Enrol(h.info)
	mustNoErr(t, err)
	mustNoErr(t, s.Grant(a, hid))
	inA, err := s.AddCustomer(a, customer.Customer{Name: "Åsa Öberg", PersonalNumber: "811228-9874"})
	mustNoErr(t, err)
	inB, err := s.AddCustomer(b, customer.Customer{Name: "Åsa Öberg", PersonalNumber: "811228-9874"})
	mustNoErr(t, err)
	hits, err := s.SearchCustomers("asa oberg", 0)
	mustNoErr(t, err)
	if len(hits) != 2 {
		t.Fatalf("the admin finds %v", hits)
	}
	mustNoErr(t, s.Lock())

	hs := tv.unlock(t, h)
	for _, q := range []string{"asa oberg", "8112289874", string(inB), "å"} {
		hits, err := hs.SearchCustomers(q, 0)
		mustNoErr(t, err)
		for _, hit := range hits {
			if hit.Compartment != a || hit.Code != inA {
				t.Errorf("%q: the holder of A finds %v", q, hit)
			}
		}
		if q != string(inB) && len(hits) != 1 {
			t.Errorf("%q: %d hits", q, len(hits))
		}
	}
	mustNoErr(t, hs.Lock())

	// After a revocation (the compartment re-sealed under a new key) the
	// index opens and gives the same.
	s = tv.unlock(t, tv.admin)
	mustNoErr(t, s.Revoke(a, hid, nil))
	mustNoErr(t, s.Lock())
	s = tv.unlock(t, tv.admin)
	hits, err = s.SearchCustomers("öberg", 0)
	mustNoErr(t, err)
	if len(hits) != 2 {
		t.Fatalf("after the revocation: %v", hits)
	}
}

func TestSearchAudit(t *testing.T) {
	f := newSearchFixture(t)
	queries := []string{"Åsa", "811228-9874", "ingen träff"}
	for _, q := range queries {
		f.search(t, q, 0)
	}
	var found []int64
	mustNoErr(t, f.s.ExportAudit(func(e ExportedEntry) error {
		if e.Action == ActionSearch {
			if e.Object != "" {
				t.Errorf("search entry with object %q", e.Object)
			}
			found = append(found, e.Count)
		}
		for _, q := range queries {
			if strings.Contains(strings.Join(e.CSVRecord(), ","), q) {
				t.Errorf("entry %v holds the query", e)
			}
		}
		return nil
	}))
	if !slices.Equal(found, []int64{6, 1, 0}) {
		t.Errorf("search entries count %v, want [6 1 0]", found)
	}
}

// TestSearchIndexSealed: the entries written on add and by a backfill,
// and the index loaded by a search, leave no canary in any byte of the
// vault folder.
func TestSearchIndexSealed(t *testing.T) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	cid, err := s.CreateCompartment("A")
	mustNoErr(t, err)
	_, err = s.AddCustomer(cid, customer.Customer{Name: "Zebulonia Kanarieström", PersonalNumber: "811228-9874",
		Tags: []string{"kanarietagg-vip"}, Notes: "KanarieAnteckning om kunden"})
	mustNoErr(t, err)
	hits, err := s.SearchCustomers("zebulonia kanariestrom", 0)
	mustNoErr(t, err)
	if len(hits) != 1 {
		t.Fatalf("hits %v", hits)
	}
	mustNoErr(t, s.Lock())
	tv.v.Close()
	data := readFile(t, compartmentPath(tv.dir, cid))
	lower := bytes.ToLower(data)
	for _, c := range []string{"zebulon", "kanarie", "198112289874", "8112289874", "811228-9874"} {
		if bytes.Contains(lower, []byte(c)) {
			t.Errorf("the compartment file contains %q", c)
		}
	}
}

func TestSearchMigration(t *testing.T) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	cid, err := s.CreateCompartment("A")
	mustNoErr(t, err)
	old, err := s.AddCustomer(cid, customer.Customer{Name: "Åsa Öberg", PersonalNumber: "811228-9874"})
	mustNoErr(t, err)
	mustNoErr(t, s.Lock())
	tv.v.Close()
	// A format 1 file: no search bucket.
	path := compartmentPath(tv.dir, cid)
	edit(t, path, func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bSearch); err != nil {
			return err
		}
		return tx.Bucket(bMeta).Put(kFormat, u32(1))
	})
	tv.reopen(t)
	s = tv.unlock(t, tv.admin)
	// Added after the migration, before the first search.
	added, err := s.AddCustomer(cid, customer.Customer{Name: "Öberg Nyman"})
	mustNoErr(t, err)
	hits, err := s.SearchCustomers("oberg", 0)
	mustNoErr(t, err)
	if len(hits) != 2 || hits[0].Code > hits[1].Code || !slices.ContainsFunc(hits, func(h SearchHit) bool { return h.Code == old }) ||
		!slices.ContainsFunc(hits, func(h SearchHit) bool { return h.Code == added }) {
		t.Fatalf("after migration: %v", hits)
	}
	mustNoErr(t, s.Lock())
	tv.reopen(t)
	db, err := tv.v.compartmentDB(cid)
	mustNoErr(t, err)
	db.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(bMeta)
		if string(m.Get(kFormat)) != string(u32(CompartmentFormat)) || m.Get(kSearchBackfill) != nil || tx.Bucket(bSearch).Stats().KeyN != 2 {
			t.Errorf("after the backfill: format %x, mark %v, %d entries", m.Get(kFormat), m.Get(kSearchBackfill), tx.Bucket(bSearch).Stats().KeyN)
		}
		return nil
	})
	s = tv.unlock(t, tv.admin)
	hits, err = s.SearchCustomers("8112289874", 0)
	mustNoErr(t, err)
	if len(hits) != 1 || hits[0].Code != old {
		t.Fatalf("after reopening: %v", hits)
	}
}

// A missing or altered entry outside a migration is an error, not a
// silent gap.
func TestSearchAlteredIndex(t *testing.T) {
	for name, alter := range map[string]func(b *bolt.Bucket, k, v []byte) error{
		"missing": func(b *bolt.Bucket, k, _ []byte) error { return b.Delete(k) },
		"flipped": func(b *bolt.Bucket, k, v []byte) error {
			v = bytes.Clone(v)
			v[len(v)-1] ^= 1
			return b.Put(k, v)
		},
	} {
		t.Run(name, func(t *testing.T) {
			tv := newTestVault(t)
			s := tv.unlock(t, tv.admin)
			cid, err := s.CreateCompartment("A")
			mustNoErr(t, err)
			_, err = s.AddCustomers(cid, []customer.Customer{{Name: "Ett"}, {Name: "Två"}})
			mustNoErr(t, err)
			mustNoErr(t, s.Lock())
			tv.v.Close()
			edit(t, compartmentPath(tv.dir, cid), func(tx *bolt.Tx) error {
				b := tx.Bucket(bSearch)
				k, v := b.Cursor().First()
				return alter(b, bytes.Clone(k), v)
			})
			tv.reopen(t)
			s = tv.unlock(t, tv.admin)
			if _, err := s.SearchCustomers("ett", 0); err == nil || !strings.Contains(err.Error(), "altered") {
				t.Fatalf("search of an altered index: %v", err)
			}
		})
	}
}

func TestSearchWipe(t *testing.T) {
	f := newSearchFixture(t)
	f.search(t, "a", 0)
	ix := f.s.comps[f.cid].search
	chunks := slices.Clone(ix.arena.chunks)
	nonzero := func() bool {
		for _, c := range chunks {
			if slices.ContainsFunc(c[:cap(c)], func(b byte) bool { return b != 0 }) {
				return true
			}
		}
		return false
	}
	if !nonzero() || !bytes.Contains(chunks[0], []byte("oberg")) {
		t.Fatal("the arena holds no text")
	}
	// Removing a customer zeroes its text and its own words.
	asaLind := f.codes["asaLind"]
	rid := ix.docs[ix.byCode[asaLind]].rid
	ix.remove(rid)
	for _, c := range chunks {
		if bytes.Contains(c, []byte("lindqvist")) {
			t.Error("a removed customer's name is still in memory")
		}
	}
	if hits := f.search(t, "lindqvist", 0); len(hits) != 0 {
		t.Errorf("removed, still found: %v", hits)
	}
	if got := f.roles(f.search(t, "stockholm asa", 0)); got != "" {
		t.Errorf("stockholm: %s", got)
	}
	mustNoErr(t, f.s.Lock())
	if nonzero() {
		t.Error("Lock left search text in memory")
	}
}

func TestSearchRemoveKeepsSharedWords(t *testing.T) {
	ix := newSearchIndex(0)
	add := func(n byte, name string) ID {
		rid := ID{n}
		ix.add(rid, &searchFields{code: []byte(customer.NewCode()), name: []byte(name)})
		return rid
	}
	a := add(1, "Anna Berg")
	add(2, "Anna Bergström")
	add(3, "Bo Berg")
	ix.remove(a)
	ix.remove(a)
	q := parseSearch("anna berg", time.Now())
	if got := ix.search(&q, 0); len(got) != 1 || got[0].score != ScoreNamePrefix {
		t.Errorf("anna berg: %v", got)
	}
	q = parseSearch("berg", time.Now())
	if got := ix.search(&q, 0); len(got) != 2 || got[0].score != ScoreNameWord {
		t.Errorf("berg: %v", got)
	}
	for f := range ix.terms {
		t := &ix.terms[f]
		t.merge()
		if !slices.IsSorted(t.sorted) || len(t.sorted) != len(t.post) {
			panic("term table out of order")
		}
	}
}

func FuzzSearchQuery(f *testing.F) {
	for _, s := range []string{"Åsa Öberg", "811228-9874", "19811228-9874", "K7Q3-MX9R-F", "O'Brien", "A\u030asa", "ﬁ", "ǅ", "İ", "\xff", "ß", "Σας"} {
		f.Add(s)
	}
	today := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		q := parseSearch(s, today)
		if !utf8.ValidString(q.folded) || strings.HasPrefix(q.folded, " ") || strings.HasSuffix(q.folded, " ") || strings.Contains(q.folded, "  ") {
			t.Fatalf("folded %q", q.folded)
		}
		if again := string(appendFolded(nil, []byte(q.folded))); again != q.folded {
			t.Fatalf("fold is not idempotent: %q → %q → %q", s, q.folded, again)
		}
		if len(q.words) > maxSearchWords {
			t.Fatalf("%d words", len(q.words))
		}
		for _, w := range q.words {
			if w == "" || strings.ContainsRune(w, ' ') || !strings.Contains(" "+q.folded+" ", " "+w+" ") {
				t.Fatalf("word %q of %q", w, q.folded)
			}
		}
		if q.pnr != "" && (len(q.pnr) != 12 || strings.Trim(q.pnr, "0123456789") != "") {
			t.Fatalf("personnummer %q", q.pnr)
		}
		if q.code != "" && !q.code.Valid() {
			t.Fatalf("code %q", q.code)
		}
	})
}

// Long notes in a batch: entries larger than the scratch left, each
// found by a word at its end.
func TestSearchLongNotes(t *testing.T) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	cid, err := s.CreateCompartment("A")
	mustNoErr(t, err)
	var cs []customer.Customer
	for i := range 12 {
		cs = append(cs, customer.Customer{Name: fmt.Sprintf("Kund %d", i), Notes: strings.Repeat("lång anteckning ", 3500) + fmt.Sprintf("slutord%c", 'a'+i)})
	}
	codes, err := s.AddCustomers(cid, cs)
	mustNoErr(t, err)
	for i, code := range codes {
		hits, err := s.SearchCustomers(fmt.Sprintf("slutord%c", 'a'+i), 0)
		mustNoErr(t, err)
		if len(hits) != 1 || hits[0].Code != code || hits[0].Field != FieldNotes {
			t.Fatalf("slutord%d: %v", i, hits)
		}
	}
}
