package store

import (
	"bytes"
	"context"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestBatchMarksKeepRewritesSmall: with batch marks, a commit of a long
// addition allocates pages for its own chunks and a few small pages
// (marks, branches, freelist), not for chunks of the batch before it
// rewritten; without them it rewrites 2–4 of those. bbolt's own count of
// the bytes of pages each commit allocates tells them apart.
func TestBatchMarksKeepRewritesSmall(t *testing.T) {
	const (
		chunk = 16 << 10 // 4 pages and a header: leaves of two take 9
		per   = 8        // chunks per batch
	)
	if n := docTxBytes / docChunkBytes; n%2 != 0 {
		t.Fatalf("a batch of %d chunks: the marks need an even number (see batchMarks)", n)
	}
	docKnobs(t, chunk, per*chunk)
	f := newDocFixture(t)
	db, err := f.tv.v.compartmentDB(f.cid)
	mustNoErr(t, err)
	batch := make([][]byte, per)
	for i := range batch {
		batch[i] = randomBytes(uint64(i), chunk)
	}
	// allocated adds 8 batches of one new document and returns the
	// bytes of pages that the commits of the last 6 allocated, each.
	pageAlloc := func() int64 { st := db.Stats(); return st.TxStats.GetPageAlloc() }
	allocated := func(more bool) []int64 {
		id := newID()
		var out []int64
		for k := range uint64(8) {
			before := pageAlloc()
			mustNoErr(t, putChunks(context.Background(), db, bDocChunks, id, k*per, batch, more, nil))
			if k >= 2 {
				out = append(out, pageAlloc()-before)
			}
		}
		return out
	}
	leaves := int64(per/2) * 9 * int64(pageSize) // the batch's own leaves
	small := int64(6 * pageSize)                 // marks, branches, freelist: a few pages
	withMarks, without := allocated(true), allocated(false)
	t.Logf("bytes of pages per commit: %v with marks, %v without (own leaves %d)", withMarks, without, leaves)
	for k, n := range withMarks {
		if n > leaves+small {
			t.Errorf("with marks, commit %d allocated %d bytes of pages; its chunks take %d", k+2, n, leaves)
		}
	}
	// The same without marks: each commit also rewrites the last leaf
	// of the batch before (at least two chunks), so the bound above
	// tells the two apart.
	for k, n := range without {
		if n < leaves+2*chunk {
			t.Errorf("without marks, commit %d allocated only %d bytes of pages: the test cannot tell the difference", k+2, n)
		}
	}
}

// TestBatchMarksDeleted: a complete addition of many batches leaves no
// batch mark (only its chunks' keys), and an addition that failed part
// way leaves neither.
func TestBatchMarksDeleted(t *testing.T) {
	docKnobs(t, 16<<10, 128<<10)
	f := newDocFixture(t)
	data := randomBytes(5, 3<<20+77)
	id := f.add(t, "a.bin", data, DocumentOptions{})
	db, err := f.tv.v.compartmentDB(f.cid)
	mustNoErr(t, err)
	keys := func() (n int, odd [][]byte) {
		db.View(func(tx *bolt.Tx) error {
			return tx.Bucket(bDocChunks).ForEach(func(k, _ []byte) error {
				n++
				if len(k) != docKeySize {
					odd = append(odd, bytes.Clone(k))
				}
				return nil
			})
		})
		return n, odd
	}
	n, odd := keys()
	if len(odd) > 0 {
		t.Errorf("%d keys that are not chunks' are left, e.g. %x", len(odd), odd[0])
	}
	if want := (len(data) + 16<<10) / (16 << 10); n < want-1 || n > want+1 {
		t.Errorf("%d keys for about %d chunks", n, want)
	}
	got, _, err := f.export(f.s, id, DocumentOptions{})
	mustNoErr(t, err)
	if !bytes.Equal(got, data) {
		t.Fatal("content differs")
	}

	// A failed addition: the reader fails after several batches were
	// committed, marks and all; abort deletes them with the chunks.
	_, err = f.s.AddDocument(context.Background(), f.code, "b.bin", "", &errReader{1 << 20}, nil, DocumentOptions{})
	if err == nil {
		t.Fatal("an addition whose reader failed succeeded")
	}
	if m, odd := keys(); m != n || len(odd) > 0 {
		t.Errorf("after the failed addition: %d keys (%d before), %d not chunks'", m, n, len(odd))
	}
}
