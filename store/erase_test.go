package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/store/customer"
)

// sealedTraces returns 32-byte pieces of every stored value of the
// customer with the given code, read directly from the compartment's
// buckets: its current record, history versions, index entry, lookup tag,
// document records and document chunks (several pieces of each chunk).
// Each piece is ciphertext (or a keyed tag), so it occurs in the file
// only where that value is.
func sealedTraces(t *testing.T, s *Session, code customer.Code) map[string][]byte {
	t.Helper()
	c, rid, err := s.locate(code)
	mustNoErr(t, err)
	db, err := s.v.compartmentDB(c.id)
	mustNoErr(t, err)
	traces := make(map[string][]byte)
	piece := func(what string, v []byte, at ...int) {
		if len(v) < 32 {
			t.Fatalf("%s: %d bytes, too short to trace", what, len(v))
		}
		for _, i := range at {
			i = min(max(i, 0), len(v)-32)
			traces[fmt.Sprintf("%s (piece %d)", what, len(traces))] = bytes.Clone(v[i : i+32])
		}
	}
	db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bCustomers).Get(rid)
		piece("record", v[8:], 1, len(v)/2)
		piece("index", tx.Bucket(bIndex).Get(rid), 1)
		piece("code tag", c.kr.LookupTag(nil, "code", []byte(mustCode(code))), 0)
		hc := tx.Bucket(bHistory).Cursor()
		for k, v := hc.Seek(rid); k != nil && bytes.HasPrefix(k, rid); k, v = hc.Next() {
			piece("history", v, 1, len(v)/2)
		}
		docs, chunks := tx.Bucket(bDocuments), tx.Bucket(bDocChunks)
		if docs == nil {
			return nil
		}
		docs.ForEach(func(k, v []byte) error {
			if !bytes.Equal(v[:len(rid)], rid) {
				return nil
			}
			piece("document record", v[len(rid):], 1)
			cc := chunks.Cursor()
			for ck, cv := cc.Seek(k); ck != nil && bytes.HasPrefix(ck, k); ck, cv = cc.Next() {
				// Not from the start: every age file begins alike.
				piece("chunk", cv, len(cv)/3, len(cv)/2, len(cv)-32)
			}
			return nil
		})
		return nil
	})
	return traces
}

// tracesIn returns the traces found in the files under dir.
func tracesIn(t *testing.T, dir string, traces map[string][]byte) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b := readFile(t, path)
		for what, p := range traces {
			if bytes.Contains(b, p) {
				found = append(found, filepath.Base(path)+": "+what)
			}
		}
		return nil
	})
	mustNoErr(t, err)
	slices.Sort(found)
	return found
}

// pagesInUse is the size of a file's pages up to its high-water mark
// (the file itself grows in steps of 16 MiB).
func pagesInUse(db *bolt.DB) (n int64) {
	db.View(func(tx *bolt.Tx) error { n = tx.Size(); return nil })
	return n
}

func freePages(db *bolt.DB) int {
	st := db.Stats()
	return st.FreePageN + st.PendingPageN
}

// TestEraseLeavesNoTrace is the proof of erasure: pieces of every sealed
// value of a customer (record, two earlier versions, index, lookup tag,
// two documents of several chunks) are in the compartment file before;
// after EraseCustomer none of them is in any file of the vault folder,
// the file is smaller and has (next to) no free pages, everyone else is
// intact, and the log holds one erase entry with the code. A plain
// DeleteCustomer, for contrast, leaves its customer's pieces in free
// pages, which shows that the scan finds what is left.
func TestEraseLeavesNoTrace(t *testing.T) {
	docKnobs(t, 16<<10, 64<<10)
	f := newDocFixture(t)
	s, code := f.s, f.code
	others, err := s.AddCustomers(f.cid, benchCustomers(300))
	mustNoErr(t, err)
	for _, phone := range []string{"08-111 111 11", "08-222 222 22"} {
		_, err := s.EditCustomer(code, func(c *customer.Customer) error {
			c.Phone, c.Notes = phone, strings.Repeat("Känsliga uppgifter. ", 20)
			return nil
		})
		mustNoErr(t, err)
	}
	f.add(t, "avtal.pdf", randomBytes(1, 150<<10), DocumentOptions{})
	f.add(t, "id.pdf", randomBytes(2, 40<<10), DocumentOptions{Passphrase: "hemligt lösenord"})
	kept, err := s.AddDocument(context.Background(), others[7], "kvar.pdf", "application/pdf", bytes.NewReader(randomBytes(3, 100<<10)), nil, DocumentOptions{})
	mustNoErr(t, err)

	// The contrast: a deleted customer's pieces stay in free pages.
	deleted := others[0]
	_, err = s.EditCustomer(deleted, func(c *customer.Customer) error { c.Phone = "08-333 333 33"; return nil })
	mustNoErr(t, err)
	deletedTraces := sealedTraces(t, s, deleted)
	mustNoErr(t, s.DeleteCustomer(deleted))
	if found := tracesIn(t, f.tv.dir, deletedTraces); len(found) == 0 {
		t.Fatal("a deleted customer left nothing in the file: the scan cannot tell")
	}

	traces := sealedTraces(t, s, code)
	if len(traces) < 20 {
		t.Fatalf("only %d traces", len(traces))
	}
	if found := tracesIn(t, f.tv.dir, traces); len(found) != len(traces) {
		t.Fatalf("before erasure, %d of %d traces are in the files", len(found), len(traces))
	}
	db, err := f.tv.v.compartmentDB(f.cid)
	mustNoErr(t, err)
	freeBefore, before := freePages(db), pagesInUse(db)

	step := compactStep
	compactStep = 4 << 10
	t.Cleanup(func() { compactStep = step })
	var calls [][2]int
	mustNoErr(t, s.EraseCustomer(code, func(done, total int) { calls = append(calls, [2]int{done, total}) }))

	if found := tracesIn(t, f.tv.dir, traces); len(found) != 0 {
		t.Fatalf("after erasure the vault still holds %v", found)
	}
	if found := tracesIn(t, f.tv.dir, deletedTraces); len(found) != 0 {
		t.Fatalf("the compaction kept the deleted customer's free pages: %v", found)
	}
	db, err = f.tv.v.compartmentDB(f.cid)
	mustNoErr(t, err)
	freeAfter, after := freePages(db), pagesInUse(db)
	t.Logf("pages in use %d → %d bytes, free pages %d → %d, %d progress calls", before, after, freeBefore, freeAfter, len(calls))
	if after >= before-(190<<10) || freeAfter > 2 || freeBefore < 10 {
		t.Fatalf("pages in use %d → %d bytes, free pages %d → %d", before, after, freeBefore, freeAfter)
	}
	if n := len(calls); n == 0 || calls[n-1][0] != calls[n-1][1] {
		t.Fatalf("progress %v", calls)
	}
	for i := 1; i < len(calls); i++ {
		if calls[i][0] < calls[i-1][0] || calls[i][0] > calls[i][1] {
			t.Fatalf("progress goes back or past its total: %v", calls)
		}
	}
	if ms, _ := filepath.Glob(filepath.Join(f.tv.dir, "*"+tmpSuffix)); len(ms) != 0 {
		t.Fatalf("left %v", ms)
	}

	// Gone from every reader; everyone else is there.
	if _, err := s.ViewCustomer(code); !errors.Is(err, ErrNoCustomer) {
		t.Fatalf("view after erase: %v", err)
	}
	if _, err := s.EraseCustomers([]customer.Code{code}, nil); !errors.Is(err, ErrNoCustomer) {
		t.Fatalf("second erase: %v", err)
	}
	listed, total, err := s.ListCustomers(f.cid, 0, -1)
	mustNoErr(t, err)
	if total != len(others)-1 || slices.Contains(listed, code) {
		t.Fatalf("%d customers listed", total)
	}
	mustNoErr(t, s.Lock())
	f.tv.reopen(t)
	s = f.tv.unlock(t, f.tv.admin)
	if _, err := s.ViewCustomer(code); !errors.Is(err, ErrNoCustomer) {
		t.Fatalf("view after reopening: %v", err)
	}
	r, err := s.RevealCustomer(others[299])
	mustNoErr(t, err)
	if r.Customer.Name != benchCustomers(300)[299].Name {
		t.Fatal("another customer changed")
	}
	got, info, err := f.export(s, kept, DocumentOptions{})
	mustNoErr(t, err)
	if !bytes.Equal(got, randomBytes(3, 100<<10)) || info.Customer != others[7] {
		t.Fatal("another customer's document changed")
	}
	// The log verifies, with the checkpoint signed after the erasure, and
	// records the erasure by code only.
	reports, err := s.VerifyAudit()
	mustNoErr(t, err)
	for _, r := range reports {
		if r.Log == f.cid.String() && len(r.Checkpoints) == 0 {
			t.Fatalf("no checkpoint survived: %+v", r)
		}
	}
	var erases []Entry
	mustNoErr(t, s.ExportAudit(func(e ExportedEntry) error {
		if e.Action == ActionErase {
			erases = append(erases, e.Entry)
		}
		return nil
	}))
	if len(erases) != 1 || erases[0].Object != string(code) || erases[0].Holder != f.tv.admin.id(t, s) {
		t.Fatalf("erase entries %+v", erases)
	}
}

// id returns the key holder id of h.
func (h *testHolder) id(t *testing.T, s *Session) HolderID {
	t.Helper()
	hs, err := s.Holders()
	mustNoErr(t, err)
	for _, x := range hs {
		if x.Recipient == h.info.Recipient.String() {
			return x.ID
		}
	}
	t.Fatal("holder not enrolled")
	return HolderID{}
}

// TestPastRetention: customers whose retention date is before the day
// are listed across compartments (not those due today, later, or
// without a date), the listing is logged per compartment with counts and
// no codes, and erasing them all compacts each compartment once.
func TestPastRetention(t *testing.T) {
	old := compactTx
	compactTx = 1 << 10 // many transactions
	t.Cleanup(func() { compactTx = old })
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	a, err := s.CreateCompartment("A")
	mustNoErr(t, err)
	b, err := s.CreateCompartment("B")
	mustNoErr(t, err)
	add := func(cid CompartmentID, retain string) customer.Code {
		c := testCustomer("Kund")
		c.RetainUntil = retain
		code, err := s.AddCustomer(cid, c)
		mustNoErr(t, err)
		return code
	}
	now := time.Date(2026, 3, 10, 23, 30, 0, 0, time.UTC)
	a1 := add(a, "2020-01-31")
	add(a, "2026-03-10") // due today: not yet past
	add(a, "2030-01-01")
	add(a, "")
	b1 := add(b, "2026-03-09")
	b2 := add(b, "2019-12-31")
	add(b, "2026-03-11")

	due, err := s.PastRetention(now)
	mustNoErr(t, err)
	want := []RetentionDue{{b2, b, "2019-12-31"}, {a1, a, "2020-01-31"}, {b1, b, "2026-03-09"}}
	if !slices.Equal(due, want) {
		t.Fatalf("PastRetention = %+v; want %+v", due, want)
	}
	// Another location's day.
	due, err = s.PastRetention(now.In(time.FixedZone("UTC+1", 3600)))
	mustNoErr(t, err)
	if len(due) != 4 {
		t.Fatalf("on 2026-03-11: %+v", due)
	}

	var codes []customer.Code
	for _, d := range want {
		codes = append(codes, d.Code)
	}
	inode := func(cid CompartmentID) uint64 {
		st, err := os.Stat(compartmentPath(tv.dir, cid))
		mustNoErr(t, err)
		return st.Sys().(*syscall.Stat_t).Ino
	}
	inodes := []uint64{inode(a), inode(b)}
	var last [2]int
	erased, err := s.EraseCustomers(append(codes, codes[0]), func(done, total int) { last = [2]int{done, total} })
	mustNoErr(t, err)
	if len(erased) != 3 || last[0] != last[1] || last[1] == 0 {
		t.Fatalf("erased %v, last progress %v", erased, last)
	}
	due, err = s.PastRetention(now)
	mustNoErr(t, err)
	if len(due) != 0 {
		t.Fatalf("after the sweep: %+v", due)
	}
	if inode(a) == inodes[0] || inode(b) == inodes[1] {
		t.Fatal("a compartment file was not rewritten")
	}

	counts := map[string][]int64{}
	mustNoErr(t, s.ExportAudit(func(e ExportedEntry) error {
		switch e.Action {
		case ActionRetentionList:
			if e.Object != "" {
				t.Errorf("retention-list entry with object %q", e.Object)
			}
			counts[e.Log] = append(counts[e.Log], e.Count)
		case ActionErase:
			counts[e.Log+" erase"] = append(counts[e.Log+" erase"], 1)
		}
		return nil
	}))
	if !slices.Equal(counts[a.String()], []int64{1, 2, 0}) || !slices.Equal(counts[b.String()], []int64{2, 2, 0}) ||
		len(counts[a.String()+" erase"]) != 1 || len(counts[b.String()+" erase"]) != 2 {
		t.Fatalf("audit: %v", counts)
	}
	_, err = s.VerifyAudit()
	mustNoErr(t, err)
	mustNoErr(t, s.Lock())
	tv.reopen(t)
	s = tv.unlock(t, tv.admin)
	for _, cid := range []CompartmentID{a, b} {
		codes, total, err := s.ListCustomers(cid, 0, -1)
		mustNoErr(t, err)
		for _, code := range codes {
			_, err := s.CustomerHistory(code, true)
			mustNoErr(t, err)
		}
		if total != []int{3, 1}[slices.Index([]CompartmentID{a, b}, cid)] {
			t.Fatalf("%d customers left", total)
		}
	}
	_, err = s.VerifyAudit()
	mustNoErr(t, err)
}

// TestCopyLive: the copy of a compaction has every bucket (nested ones
// too), key, value (empty ones too) and bucket sequence of what the
// source transaction sees, also when it is split into many transactions,
// and nothing that the transaction deleted.
func TestCopyLive(t *testing.T) {
	dir := t.TempDir()
	src, err := openDB(filepath.Join(dir, "src"), true)
	mustNoErr(t, err)
	defer src.Close()
	mustNoErr(t, src.Update(func(tx *bolt.Tx) error {
		for i := range 3 {
			b, err := tx.CreateBucket(fmt.Appendf(nil, "b%d", i))
			mustNoErr(t, err)
			mustNoErr(t, b.SetSequence(uint64(40+i)))
			for j := range 500 {
				mustNoErr(t, b.Put(fmt.Appendf(nil, "k%04d", j), randomBytes(uint64(j), j%7*100)))
			}
			n, err := b.CreateBucket([]byte("nested"))
			mustNoErr(t, err)
			mustNoErr(t, n.SetSequence(7))
			mustNoErr(t, n.Put([]byte("empty"), nil))
			mustNoErr(t, n.Put([]byte("big"), randomBytes(9, 20000)))
			_, err = n.CreateBucket([]byte("deeper"))
			mustNoErr(t, err)
		}
		return nil
	}))
	tx, err := src.Begin(true)
	mustNoErr(t, err)
	defer tx.Rollback()
	mustNoErr(t, tx.Bucket([]byte("b1")).Delete([]byte("k0003")))
	mustNoErr(t, tx.DeleteBucket([]byte("b2")))

	old := compactTx
	compactTx = 2 << 10
	t.Cleanup(func() { compactTx = old })
	dst, err := openDB(filepath.Join(dir, "dst"), true)
	mustNoErr(t, err)
	defer dst.Close()
	var last [2]int
	mustNoErr(t, copyLive(tx, dst, func(done, total int) { last = [2]int{done, total} }))
	if last[0] != last[1] || last[1] == 0 {
		t.Fatalf("progress ended at %v", last)
	}
	dump := func(tx *bolt.Tx) string {
		var b strings.Builder
		var walk func(path string, bk *bolt.Bucket)
		walk = func(path string, bk *bolt.Bucket) {
			fmt.Fprintf(&b, "%s seq %d\n", path, bk.Sequence())
			bk.ForEach(func(k, v []byte) error {
				if nb := bk.Bucket(k); nb != nil && v == nil {
					walk(path+"/"+string(k), nb)
				} else {
					fmt.Fprintf(&b, "%s/%s=%x\n", path, k, v)
				}
				return nil
			})
		}
		tx.ForEach(func(name []byte, bk *bolt.Bucket) error { walk(string(name), bk); return nil })
		return b.String()
	}
	want := dump(tx)
	var got string
	dst.View(func(dtx *bolt.Tx) error { got = dump(dtx); return nil })
	if got != want || strings.Contains(got, "b2 seq") || strings.Contains(got, "b1/k0003=") || !strings.Contains(got, "deeper seq 0") {
		t.Fatalf("copy differs (%d vs %d bytes of dump)\n%.300s\n%.300s", len(got), len(want), got, want)
	}
}

// FuzzRecordRetention: the retention reader never panics, and on a
// record's plaintext agrees with the full decoder.
func FuzzRecordRetention(f *testing.F) {
	c := testCustomer("Åsa Öberg")
	c.Code = "ABCD-EFGH-J"
	f.Add(pad(appendRecord(nil, &storedRecord{Version: 3, Customer: c}), recordBlock), uint64(3))
	f.Add(pad(appendRecord(nil, &storedRecord{Version: 1, Customer: customer.Customer{Code: "X"}}), recordBlock), uint64(1))
	f.Add([]byte{1, 1, 0, 0}, uint64(1))
	f.Fuzz(func(t *testing.T, p []byte, ver uint64) {
		code, date, err := recordRetention(p, ver)
		r, derr := decodeRecord(unpad(p))
		if derr == nil && r.Version == ver {
			if err != nil || string(code) != string(r.Customer.Code) || string(date) != r.Customer.RetainUntil {
				t.Fatalf("recordRetention = %q, %q, %v; the record has %q, %q", code, date, err, r.Customer.Code, r.Customer.RetainUntil)
			}
		}
	})
}
