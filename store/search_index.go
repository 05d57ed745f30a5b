package store

import (
	"bytes"
	"slices"
	"sort"
	"strings"
	"unsafe"

	"github.com/valv-vault/valv/store/customer"
)

// The in-memory search index of one compartment: an inverted index from
// folded words to the customers whose field holds them, one table per
// field, each with its words in sorted order for prefix matches.
//
// Every byte of folded text (the customers' fields and the index's words)
// lives in the index's arena, so that wipe can zero it: map keys and the
// sorted word lists are strings made with unsafe.String over arena bytes.
// Those bytes are never changed while a string refers to them; they are
// zeroed only after the last reference is dropped (remove) or when the
// whole index is dropped (wipe).

// Search fields, in the order of searchIndex.terms.
const (
	fieldName = iota
	fieldTags
	fieldNotes
	fieldPNR
	numFields
)

// Match classes of one query word in one customer, best last. A
// customer's class is the lowest over the query's words.
const (
	clsNone uint8 = iota
	clsNotes
	clsTags
	clsNamePrefix
	clsNameWord
)

// A searchDoc is one customer in the index. Its folded fields are arena
// bytes; a removed doc is zeroed and not live.
type searchDoc struct {
	rid    ID
	code   customer.Code
	key    uint64            // codeKey(code)
	fields [numFields][]byte // folded name, tags, notes; the personnummer's 12 digits
	live   bool
}

// A termTable maps each word of one field to the ascending ids of the
// docs that hold it.
//
// Map entries are never assigned twice: Go replaces the key string of an
// existing entry on assignment, which would make it alias bytes that are
// later zeroed. Postings are changed through their pointer instead.
type termTable struct {
	post   map[string]*posting
	sorted []string // the words of post in order, except those in added
	added  []string // words added since sorted was last merged
}

// A posting is the ids of the docs that hold a word, ascending.
type posting struct {
	docs []int32
}

type searchIndex struct {
	arena  arena
	docs   []searchDoc
	byRID  map[ID]int32
	byCode map[customer.Code]int32
	terms  [numFields]termTable

	best, cur []uint8      // per doc scratch of a search
	cands     []searchCand // scratch of a search
}

func newSearchIndex(n int) *searchIndex {
	ix := &searchIndex{byRID: make(map[ID]int32, n), byCode: make(map[customer.Code]int32, n), docs: make([]searchDoc, 0, n)}
	for f := range ix.terms {
		ix.terms[f].post = make(map[string]*posting)
	}
	return ix
}

// searchFields are one customer's fields as stored in a search entry:
// views of a plaintext the caller wipes.
type searchFields struct {
	code, name, pnr, notes []byte
	tags                   [][]byte
}

// add indexes a customer (replacing any doc of the same record).
func (ix *searchIndex) add(rid ID, f *searchFields) {
	ix.remove(rid)
	d := int32(len(ix.docs))
	doc := searchDoc{rid: rid, code: customer.Code(f.code), key: codeKey(f.code), live: true}
	doc.fields[fieldName] = ix.arena.fold(f.name)
	tags := bytes.Join(f.tags, []byte(" "))
	doc.fields[fieldTags] = ix.arena.fold(tags)
	clear(tags)
	doc.fields[fieldNotes] = ix.arena.fold(f.notes)
	if len(f.pnr) > 0 {
		doc.fields[fieldPNR] = ix.arena.copy([]byte(storedPersonalNumber(string(f.pnr))))
	}
	ix.docs = append(ix.docs, doc)
	ix.byRID[rid] = d
	ix.byCode[doc.code] = d
	for fi := range numFields {
		t := &ix.terms[fi]
		forEachWord(doc.fields[fi], func(w []byte) {
			p := t.post[view(w)]
			switch {
			case p == nil:
				k := ix.arena.str(w)
				t.post[k] = &posting{docs: []int32{d}}
				t.added = append(t.added, k)
			case p.docs[len(p.docs)-1] != d: // a word twice in a field is one posting
				p.docs = append(p.docs, d)
			}
		})
	}
}

// remove takes a record out of the index and zeroes its text, and every
// word no other customer has. It does nothing for a record not indexed.
func (ix *searchIndex) remove(rid ID) {
	d, ok := ix.byRID[rid]
	if !ok {
		return
	}
	doc := &ix.docs[d]
	for fi := range numFields {
		t := &ix.terms[fi]
		forEachWord(doc.fields[fi], func(w []byte) {
			p := t.post[view(w)]
			if p == nil {
				return
			}
			i, found := slices.BinarySearch(p.docs, d)
			if !found {
				return // a word seen twice
			}
			if p.docs = slices.Delete(p.docs, i, i+1); len(p.docs) > 0 {
				return
			}
			t.merge()
			j, _ := slices.BinarySearch(t.sorted, view(w))
			k := t.sorted[j]
			delete(t.post, k)
			t.sorted = slices.Delete(t.sorted, j, j+1)
			clear(unsafe.Slice(unsafe.StringData(k), len(k)))
		})
		clear(doc.fields[fi])
		doc.fields[fi] = nil
	}
	delete(ix.byRID, rid)
	if ix.byCode[doc.code] == d {
		delete(ix.byCode, doc.code)
	}
	doc.live = false
}

// merge sorts the words added since the last merge into sorted.
func (t *termTable) merge() {
	if len(t.added) == 0 {
		return
	}
	slices.Sort(t.added)
	if len(t.sorted) == 0 {
		t.sorted, t.added = t.added, nil
		return
	}
	out := make([]string, 0, len(t.sorted)+len(t.added))
	i, j := 0, 0
	for i < len(t.sorted) && j < len(t.added) {
		if t.sorted[i] < t.added[j] {
			out = append(out, t.sorted[i])
			i++
		} else {
			out = append(out, t.added[j])
			j++
		}
	}
	out = append(append(out, t.sorted[i:]...), t.added[j:]...)
	t.sorted, t.added = out, nil
}

// mark raises cur[d] to exact for the docs holding word, and to prefix
// for those holding a longer word that begins with it (prefix 0: none).
func (t *termTable) mark(word string, exact, prefix uint8, cur []uint8) {
	raise := func(docs []int32, cls uint8) {
		for _, d := range docs {
			if cur[d] < cls {
				cur[d] = cls
			}
		}
	}
	if prefix == clsNone {
		if p := t.post[word]; p != nil {
			raise(p.docs, exact)
		}
		return
	}
	t.merge()
	for i := sort.SearchStrings(t.sorted, word); i < len(t.sorted) && strings.HasPrefix(t.sorted[i], word); i++ {
		cls := prefix
		if len(t.sorted[i]) == len(word) {
			cls = exact
		}
		raise(t.post[t.sorted[i]].docs, cls)
	}
}

// A searchCand is a doc that matched. rank orders candidates, best
// first: the score (higher first), then the code.
type searchCand struct {
	rank  uint64
	doc   int32
	score uint8
}

// codeKey maps a canonical code to a number in the same order (the
// symbols of Crockford's alphabet are in ASCII order), for ranking.
func codeKey(code []byte) uint64 {
	var k uint64
	for _, c := range code {
		if c != '-' {
			k = k<<6 | uint64(c-'0')&63
		}
	}
	return k
}

func rank(score uint8, key uint64) uint64 { return uint64(255-score)<<56 | key&(1<<56-1) }

// search returns up to limit matches (every match if limit ≤ 0), best
// first (see SearchCustomers for the order).
func (ix *searchIndex) search(q *searchQuery, limit int) []searchCand {
	cands := ix.cands[:0]
	var exact []int32 // docs found by code (first) or personnummer
	if q.code != "" {
		if d, ok := ix.byCode[q.code]; ok {
			exact = append(exact, d)
			cands = append(cands, searchCand{rank(ScoreCode, ix.docs[d].key), d, ScoreCode})
		}
	}
	if q.prefix != "" && q.code == "" {
		for d := range ix.docs {
			if doc := &ix.docs[d]; doc.live && strings.HasPrefix(string(doc.code), q.prefix) {
				exact = append(exact, int32(d))
				cands = append(cands, searchCand{rank(ScoreCodePrefix, doc.key), int32(d), ScoreCodePrefix})
			}
		}
	}
	if p := ix.terms[fieldPNR].post[q.pnr]; q.pnr != "" && p != nil {
		for _, d := range p.docs {
			if len(exact) == 0 || exact[0] != d {
				exact = append(exact, d)
				cands = append(cands, searchCand{rank(ScorePersonalNumber, ix.docs[d].key), d, ScorePersonalNumber})
			}
		}
	}
	if len(q.words) > 0 {
		n := len(ix.docs)
		ix.best, ix.cur = slices.Grow(ix.best[:0], n)[:n], slices.Grow(ix.cur[:0], n)[:n]
		for i, w := range q.words {
			cur := ix.cur
			if i == 0 {
				cur = ix.best
			}
			clear(cur)
			ix.terms[fieldName].mark(w, clsNameWord, clsNamePrefix, cur)
			ix.terms[fieldTags].mark(w, clsTags, clsTags, cur)
			ix.terms[fieldNotes].mark(w, clsNotes, clsNotes, cur)
			if i > 0 {
				for d, c := range cur {
					ix.best[d] = min(ix.best[d], c)
				}
			}
		}
		for _, d := range exact {
			ix.best[d] = clsNone // found better already
		}
		for d, c := range ix.best {
			if c == clsNone {
				continue
			}
			score := classScore[c]
			if c == clsNameWord && string(ix.docs[d].fields[fieldName]) == q.folded {
				score = ScoreName
			}
			cands = append(cands, searchCand{rank(score, ix.docs[d].key), int32(d), score})
		}
	}
	ix.cands = cands
	return slices.Clone(top(cands, limit))
}

var classScore = [...]uint8{clsNotes: ScoreNotes, clsTags: ScoreTags, clsNamePrefix: ScoreNamePrefix, clsNameWord: ScoreNameWord}

// scoreField is the field a score names.
func scoreField(score uint8) string {
	switch score {
	case ScoreCode, ScoreCodePrefix:
		return FieldCode
	case ScorePersonalNumber:
		return FieldPersonalNumber
	case ScoreName, ScoreNameWord, ScoreNamePrefix:
		return FieldName
	case ScoreTags:
		return FieldTags
	}
	return FieldNotes
}

// top returns the best limit candidates in order (reordering cands),
// keeping a heap of the best so far (the worst at the root) rather than
// sorting every match.
func top(cands []searchCand, limit int) []searchCand {
	cmp := func(a, b searchCand) int {
		switch {
		case a.rank < b.rank:
			return -1
		case a.rank > b.rank:
			return 1
		}
		return 0
	}
	if limit <= 0 || len(cands) <= limit {
		slices.SortFunc(cands, cmp)
		return cands
	}
	h := cands[:limit]
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= len(h) {
				return
			}
			if r := l + 1; r < len(h) && h[r].rank > h[l].rank {
				l = r
			}
			if h[l].rank <= h[i].rank {
				return
			}
			h[i], h[l] = h[l], h[i]
			i = l
		}
	}
	for i := len(h)/2 - 1; i >= 0; i-- {
		down(i)
	}
	for _, c := range cands[limit:] {
		if c.rank < h[0].rank {
			h[0] = c
			down(0)
		}
	}
	slices.SortFunc(h, cmp)
	return h
}

// view is b as a string without a copy, for look-ups only: b must not
// change while the string is used.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// wipe zeroes every byte of text the index holds and drops it.
func (ix *searchIndex) wipe() {
	ix.arena.wipe()
	*ix = searchIndex{}
}

// An arena holds the index's text in chunks that never move, so that
// strings made over them stay valid until wipe zeroes them.
type arena struct {
	chunks [][]byte
}

const arenaChunk = 64 << 10

// copy returns a copy of b in the arena.
func (a *arena) copy(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	n := len(a.chunks)
	if n == 0 || cap(a.chunks[n-1])-len(a.chunks[n-1]) < len(b) {
		a.chunks = append(a.chunks, make([]byte, 0, max(arenaChunk, len(b))))
		n++
	}
	c := a.chunks[n-1]
	start := len(c)
	c = append(c, b...)
	a.chunks[n-1] = c
	return c[start:len(c):len(c)]
}

// str returns a copy of b in the arena as a string.
func (a *arena) str(b []byte) string {
	c := a.copy(b)
	return unsafe.String(unsafe.SliceData(c), len(c))
}

// fold returns the folded form of s in the arena.
func (a *arena) fold(s []byte) []byte {
	var buf [256]byte
	f := appendFolded(buf[:0], s)
	out := a.copy(f)
	clear(f)
	return out
}

func (a *arena) wipe() {
	for _, c := range a.chunks {
		clear(c[:cap(c)])
	}
	a.chunks = nil
}
