package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"filippo.io/age"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/store/customer"
)

// docKnobs shrinks chunks and transactions (and the scrypt work factor)
// for the duration of a test.
func docKnobs(t testing.TB, chunk, tx int) {
	t.Helper()
	oc, ot, os := docChunk, docTx, docScrypt
	docChunk, docTx, docScrypt = chunk, tx, 10
	t.Cleanup(func() { docChunk, docTx, docScrypt = oc, ot, os })
}

// docFixture is a vault with a compartment and a customer.
type docFixture struct {
	tv   *testVault
	s    *Session
	cid  CompartmentID
	code customer.Code
}

func newDocFixture(t testing.TB) *docFixture {
	t.Helper()
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	cid, err := s.CreateCompartment("Privat")
	mustNoErr(t, err)
	code, err := s.AddCustomer(cid, customer.Customer{Name: "Åsa Öberg"})
	mustNoErr(t, err)
	return &docFixture{tv: tv, s: s, cid: cid, code: code}
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := n &^ 7; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

func (f *docFixture) add(t testing.TB, name string, data []byte, opts DocumentOptions) DocumentID {
	t.Helper()
	id, err := f.s.AddDocument(context.Background(), f.code, name, "application/pdf", bytes.NewReader(data), nil, opts)
	mustNoErr(t, err)
	return id
}

func (f *docFixture) export(s *Session, id DocumentID, opts DocumentOptions) ([]byte, DocumentInfo, error) {
	var out bytes.Buffer
	info, err := s.ExportDocument(context.Background(), id, &out, nil, opts)
	return out.Bytes(), info, err
}

func TestDocumentRoundTrip(t *testing.T) {
	f := newDocFixture(t)
	sizes := []int{0, 1, 1 << 20, 1<<20 + 1, 5 << 20}
	ids := map[int]DocumentID{}
	for _, n := range sizes {
		data := randomBytes(uint64(n), n)
		var last int64
		id, err := f.s.AddDocument(context.Background(), f.code, fmt.Sprintf("scan-%d.pdf", n), "application/pdf", bytes.NewReader(data),
			func(done int64) {
				if done < last {
					t.Errorf("progress went back: %d after %d", done, last)
				}
				last = done
			}, DocumentOptions{})
		mustNoErr(t, err)
		if last != int64(n) {
			t.Errorf("size %d: progress ended at %d", n, last)
		}
		ids[n] = id
		got, info, err := f.export(f.s, id, DocumentOptions{})
		mustNoErr(t, err)
		if !bytes.Equal(got, data) {
			t.Fatalf("size %d: exported content differs", n)
		}
		if info.Size != int64(n) || info.SHA256 != sha256.Sum256(data) || info.Name != fmt.Sprintf("scan-%d.pdf", n) ||
			info.MediaType != "application/pdf" || info.Customer != f.code || info.Compartment != f.cid || info.Protected || info.Holder != f.s.Actor() {
			t.Errorf("size %d: info %+v", n, info)
		}
	}
	docs, err := f.s.Documents(f.code)
	mustNoErr(t, err)
	if len(docs) != len(sizes) {
		t.Fatalf("Documents: %d, want %d", len(docs), len(sizes))
	}
	for i, d := range docs {
		if d.ID != ids[sizes[i]] || d.Size != int64(sizes[i]) {
			t.Errorf("Documents[%d] = %s (%d bytes), want %s", i, d.ID, d.Size, ids[sizes[i]])
		}
	}
	// Chunks are docChunk bytes (at most 1 MiB) but the last: 5 MiB of
	// content is 5 MiB/docChunk + 1 chunks (age adds a header and 16
	// bytes per 64 KiB).
	db, err := f.tv.v.compartmentDB(f.cid)
	mustNoErr(t, err)
	big := ids[5<<20]
	db.View(func(tx *bolt.Tx) error {
		n := 0
		tx.Bucket(bDocChunks).ForEach(func(k, v []byte) error {
			if len(v) > 1<<20 {
				t.Errorf("a chunk of %d bytes", len(v))
			}
			if bytes.HasPrefix(k, big[:]) {
				n++
			}
			return nil
		})
		if want := 5<<20/docChunk + 1; n != want {
			t.Errorf("5 MiB document in %d chunks, want %d", n, want)
		}
		return nil
	})

	// Audited with the code, never the file name.
	counts := map[Action]int{}
	mustNoErr(t, f.s.ExportAudit(func(e ExportedEntry) error {
		switch e.Action {
		case ActionDocAdd, ActionDocExport, ActionDocList:
			counts[e.Action]++
			if e.Object != string(f.code) {
				t.Errorf("%s entry names %q", e.Action, e.Object)
			}
		}
		return nil
	}))
	if counts[ActionDocAdd] != len(sizes) || counts[ActionDocExport] != len(sizes) || counts[ActionDocList] != 1 {
		t.Errorf("audit counts %v", counts)
	}
	reports, err := f.s.VerifyAudit()
	mustNoErr(t, err)
	for _, r := range reports {
		if r.Err != nil {
			t.Errorf("audit: %v", r.Err)
		}
	}
}

func TestDocumentSmallChunks(t *testing.T) {
	docKnobs(t, 4<<10, 16<<10)
	f := newDocFixture(t)
	data := randomBytes(7, 300<<10)
	id := f.add(t, "a.bin", data, DocumentOptions{})
	got, _, err := f.export(f.s, id, DocumentOptions{})
	mustNoErr(t, err)
	if !bytes.Equal(got, data) {
		t.Fatal("content differs")
	}
	// Read transactions are renewed every docReadBatch chunks and the
	// position carries over.
	if n := (300 << 10) / (4 << 10); n < 2*docReadBatch {
		t.Fatalf("test needs more chunks than %d", n)
	}
}

func TestDocumentProtected(t *testing.T) {
	docKnobs(t, 64<<10, 256<<10)
	f := newDocFixture(t)
	data := randomBytes(3, 200<<10)
	if _, err := f.s.AddDocument(context.Background(), f.code, "x", "", bytes.NewReader(data), nil, DocumentOptions{Passphrase: "kort"}); err == nil {
		t.Fatal("a short passphrase was accepted")
	}
	id := f.add(t, "avtal.pdf", data, DocumentOptions{Passphrase: "hemlig fras 42"})
	docs, err := f.s.Documents(f.code)
	mustNoErr(t, err)
	if len(docs) != 1 || !docs[0].Protected {
		t.Fatalf("Documents: %+v", docs)
	}
	exports := func() int {
		n := 0
		f.s.ExportAudit(func(e ExportedEntry) error {
			if e.Action == ActionDocExport {
				n++
			}
			return nil
		})
		return n
	}
	for _, c := range []struct {
		pass string
		want error
	}{{"", ErrPassphraseNeeded}, {"fel fras 1234", ErrWrongPassphrase}} {
		var out bytes.Buffer
		_, err := f.s.ExportDocument(context.Background(), id, &out, nil, DocumentOptions{Passphrase: c.pass})
		if !errors.Is(err, c.want) || out.Len() != 0 {
			t.Errorf("passphrase %q: %v, %d bytes written", c.pass, err, out.Len())
		}
	}
	if n := exports(); n != 0 {
		t.Errorf("%d exports logged for refused passphrases", n)
	}
	got, _, err := f.export(f.s, id, DocumentOptions{Passphrase: "hemlig fras 42"})
	mustNoErr(t, err)
	if !bytes.Equal(got, data) {
		t.Fatal("content differs")
	}
	if n := exports(); n != 1 {
		t.Errorf("%d exports logged", n)
	}
	// The recovery key opens the compartment but not the inner layer.
	mustNoErr(t, f.s.Lock())
	rs, err := f.tv.v.Unlock(f.tv.recovery, nil)
	mustNoErr(t, err)
	defer rs.Lock()
	if _, _, err := f.export(rs, id, DocumentOptions{}); !errors.Is(err, ErrPassphraseNeeded) {
		t.Errorf("recovery without passphrase: %v", err)
	}
}

func TestDocumentIsolation(t *testing.T) {
	f := newDocFixture(t)
	b, err := f.s.CreateCompartment("Företag")
	mustNoErr(t, err)
	codeB, err := f.s.AddCustomer(b, customer.Customer{Name: "Bo Bolag"})
	mustNoErr(t, err)
	h := newTestHolder(t, "Hugo", RoleHolder)
	hid, err := f.s.Enrol(h.info)
	mustNoErr(t, err)
	mustNoErr(t, f.s.Grant(b, hid))
	idA := f.add(t, "a.pdf", []byte("compartment A's secret"), DocumentOptions{})
	idB, err := f.s.AddDocument(context.Background(), codeB, "b.pdf", "", strings.NewReader("B"), nil, DocumentOptions{})
	mustNoErr(t, err)

	hs := f.tv.unlock(t, h)
	if _, _, err := f.export(hs, idA, DocumentOptions{}); !errors.Is(err, ErrNoDocument) {
		t.Errorf("holder of B exports A's document: %v", err)
	}
	if _, err := hs.Documents(f.code); !errors.Is(err, ErrNoCustomer) {
		t.Errorf("holder of B lists A's documents: %v", err)
	}
	if _, err := hs.AddDocument(context.Background(), f.code, "x", "", strings.NewReader("x"), nil, DocumentOptions{}); !errors.Is(err, ErrNoCustomer) {
		t.Errorf("holder of B adds to A: %v", err)
	}
	got, _, err := f.export(hs, idB, DocumentOptions{})
	if err != nil || string(got) != "B" {
		t.Errorf("holder of B exports B's document: %q %v", got, err)
	}
}

// TestDocumentTamper alters the file: a flipped byte in a chunk, a
// missing chunk, chunks swapped between documents and metadata moved to
// another document all fail the export.
func TestDocumentTamper(t *testing.T) {
	docKnobs(t, 64<<10, 256<<10)
	f := newDocFixture(t)
	data := randomBytes(9, 330<<10) // 6 chunks
	id := f.add(t, "a.pdf", data, DocumentOptions{})
	id2 := f.add(t, "b.pdf", data, DocumentOptions{})
	mustNoErr(t, f.s.Lock())
	path := compartmentPath(f.tv.dir, f.cid)

	type tamper struct {
		name       string
		edit, undo func(tx *bolt.Tx) error
	}
	var cases []tamper
	var saved []byte
	var saved2 []byte
	var savedChunks [][]byte
	cases = append(cases,
		tamper{"flipped byte", func(tx *bolt.Tx) error {
			b := tx.Bucket(bDocChunks)
			saved = bytes.Clone(b.Get(chunkKey(id, 2)))
			v := bytes.Clone(saved)
			v[1000] ^= 1
			return b.Put(chunkKey(id, 2), v)
		}, func(tx *bolt.Tx) error { return tx.Bucket(bDocChunks).Put(chunkKey(id, 2), saved) }},
		tamper{"missing chunk", func(tx *bolt.Tx) error {
			b := tx.Bucket(bDocChunks)
			saved = bytes.Clone(b.Get(chunkKey(id, 3)))
			return b.Delete(chunkKey(id, 3))
		}, func(tx *bolt.Tx) error { return tx.Bucket(bDocChunks).Put(chunkKey(id, 3), saved) }},
		tamper{"chunk from another document", func(tx *bolt.Tx) error {
			b := tx.Bucket(bDocChunks)
			saved = bytes.Clone(b.Get(chunkKey(id, 1)))
			return b.Put(chunkKey(id, 1), bytes.Clone(b.Get(chunkKey(id2, 1))))
		}, func(tx *bolt.Tx) error { return tx.Bucket(bDocChunks).Put(chunkKey(id, 1), saved) }},
		tamper{"last chunk dropped", func(tx *bolt.Tx) error {
			b := tx.Bucket(bDocChunks)
			k, v := b.Cursor().Seek(chunkKey(id, 5))
			if !bytes.HasPrefix(k, id[:]) {
				return errors.New("no chunk 5")
			}
			saved = bytes.Clone(v)
			return b.Delete(k)
		}, func(tx *bolt.Tx) error { return tx.Bucket(bDocChunks).Put(chunkKey(id, 5), saved) }},
		// Someone who can write the file but has no key encrypts other
		// content of the same length to the compartment's public
		// recipient and puts it in place of the document's chunks: the
		// sealed header hash (or, for older documents, the content's
		// SHA-256) must catch it.
		tamper{"whole age file replaced", func(tx *bolt.Tx) error {
			b := tx.Bucket(bDocChunks)
			savedChunks = nil
			for i := range 6 {
				savedChunks = append(savedChunks, bytes.Clone(b.Get(chunkKey(id, uint64(i)))))
			}
			rcpt, err := age.ParseX25519Recipient(string(tx.Bucket(bMeta).Get([]byte("recipient"))))
			if err != nil {
				return err
			}
			var forged bytes.Buffer
			wc, err := age.Encrypt(&forged, rcpt)
			if err != nil {
				return err
			}
			other := bytes.Clone(data)
			other[0] ^= 1
			wc.Write(other)
			wc.Close()
			if n := len(bytes.Join(savedChunks, nil)); forged.Len() != n {
				return fmt.Errorf("the forged file is %d bytes, the document %d", forged.Len(), n)
			}
			p := forged.Bytes()
			for i, c := range savedChunks {
				if err := b.Put(chunkKey(id, uint64(i)), p[:len(c)]); err != nil {
					return err
				}
				p = p[len(c):]
			}
			return nil
		}, func(tx *bolt.Tx) error {
			for i, c := range savedChunks {
				if err := tx.Bucket(bDocChunks).Put(chunkKey(id, uint64(i)), c); err != nil {
					return err
				}
			}
			return nil
		}},
		tamper{"metadata moved", func(tx *bolt.Tx) error {
			b := tx.Bucket(bDocuments)
			saved = bytes.Clone(b.Get(id[:]))
			saved2 = bytes.Clone(b.Get(id2[:]))
			return b.Put(id[:], saved2)
		}, func(tx *bolt.Tx) error { return tx.Bucket(bDocuments).Put(id[:], saved) }},
	)
	for _, c := range cases {
		mustNoErr(t, f.tv.v.Close())
		edit(t, path, c.edit)
		f.tv.reopen(t)
		s := f.tv.unlock(t, f.tv.admin)
		if _, _, err := f.export(s, id, DocumentOptions{}); !errors.Is(err, ErrDocumentDamaged) {
			t.Errorf("%s: export: %v", c.name, err)
		}
		mustNoErr(t, s.Lock())
		mustNoErr(t, f.tv.v.Close())
		edit(t, path, c.undo)
		f.tv.reopen(t)
		s = f.tv.unlock(t, f.tv.admin)
		got, _, err := f.export(s, id, DocumentOptions{})
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%s undone: %v", c.name, err)
		}
		mustNoErr(t, s.Lock())
	}
}

// errReader fails after n bytes.
type errReader struct{ n int }

func (r *errReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errors.New("the USB stick was pulled")
	}
	k := min(len(p), r.n)
	r.n -= k
	return k, nil
}

func chunkCount(t testing.TB, db *bolt.DB) (n int) {
	t.Helper()
	db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bDocChunks); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	return n
}

// TestDocumentCancel: a failed or cancelled addition leaves no document
// and no chunks; orphaned chunks are swept when the file is opened.
func TestDocumentCancel(t *testing.T) {
	docKnobs(t, 16<<10, 64<<10)
	f := newDocFixture(t)
	if _, err := f.s.AddDocument(context.Background(), f.code, "x", "", &errReader{500 << 10}, nil, DocumentOptions{}); err == nil || !strings.Contains(err.Error(), "pulled") {
		t.Fatalf("failing reader: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	_, err := f.s.AddDocument(ctx, f.code, "x", "", bytes.NewReader(make([]byte, 1<<20)), func(done int64) {
		if done > 300<<10 {
			cancel()
		}
	}, DocumentOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	db, err := f.tv.v.compartmentDB(f.cid)
	mustNoErr(t, err)
	if n := chunkCount(t, db); n != 0 {
		t.Errorf("%d chunks left", n)
	}
	docs, err := f.s.Documents(f.code)
	mustNoErr(t, err)
	if len(docs) != 0 {
		t.Errorf("%d documents", len(docs))
	}
	// Orphans (as a crash leaves them) are swept at the next open.
	keep := f.add(t, "keep.pdf", []byte("keep"), DocumentOptions{})
	orphan := newID()
	mustNoErr(t, db.Update(func(tx *bolt.Tx) error {
		for i := range uint64(20) {
			if err := tx.Bucket(bDocChunks).Put(chunkKey(orphan, i), make([]byte, 16<<10)); err != nil {
				return err
			}
		}
		return nil
	}))
	mustNoErr(t, f.s.Lock())
	f.tv.reopen(t)
	s := f.tv.unlock(t, f.tv.admin)
	db, err = f.tv.v.compartmentDB(f.cid)
	mustNoErr(t, err)
	if n := chunkCount(t, db); n != 1 {
		t.Errorf("%d chunks after the sweep, want 1", n)
	}
	got, _, err := f.export(s, keep, DocumentOptions{})
	if err != nil || string(got) != "keep" {
		t.Errorf("kept document: %q %v", got, err)
	}
}

// TestDocumentCanary: neither a document's content nor its file name or
// media type appears in any byte of the vault folder.
func TestDocumentCanary(t *testing.T) {
	docKnobs(t, 64<<10, 256<<10)
	f := newDocFixture(t)
	content := bytes.Repeat([]byte("KanarieDokumentInnehåll Zebulonia 19811228-9874\n"), 20000)
	name := "Kanarieavtal-Zebulonia.pdf"
	mediaType := "application/x-kanarietyp"
	_, err := f.s.AddDocument(context.Background(), f.code, name, mediaType, bytes.NewReader(content), nil, DocumentOptions{})
	mustNoErr(t, err)
	_, err = f.s.AddDocument(context.Background(), f.code, "Skyddad-Kanarie.txt", mediaType, bytes.NewReader(content), nil, DocumentOptions{Passphrase: "kanariefras 123"})
	mustNoErr(t, err)
	// An interrupted addition too (its chunks are swept, their pages
	// freed but not necessarily overwritten: they are ciphertext).
	_, err = f.s.AddDocument(context.Background(), f.code, "Avbruten-Kanarie.txt", mediaType, io.MultiReader(bytes.NewReader(content), &errReader{}), nil, DocumentOptions{})
	if err == nil {
		t.Fatal("interrupted addition succeeded")
	}
	docs, err := f.s.Documents(f.code)
	mustNoErr(t, err)
	for _, d := range docs {
		_, _, err := f.export(f.s, d.ID, DocumentOptions{Passphrase: "kanariefras 123"})
		mustNoErr(t, err)
	}
	mustNoErr(t, f.s.Lock())
	mustNoErr(t, f.tv.v.Close())
	files, err := os.ReadDir(f.tv.dir)
	mustNoErr(t, err)
	for _, fi := range files {
		lower := bytes.ToLower(readFile(t, filepath.Join(f.tv.dir, fi.Name())))
		for _, word := range []string{"kanarie", "zebulon", "19811228", "8112289874", "dokumentinneh", ".pdf", "skyddad", "avbruten"} {
			if bytes.Contains(lower, []byte(word)) {
				t.Errorf("%s contains %q", fi.Name(), word)
			}
		}
	}
}

func TestDocumentNames(t *testing.T) {
	f := newDocFixture(t)
	for _, c := range []struct{ name, typ string }{
		{"", "text/plain"},
		{"  ", "text/plain"},
		{strings.Repeat("a", MaxDocumentName+1), ""},
		{"a\x00b", ""},
		{"\xff", ""},
		{"ok", "text/plain\n"},
	} {
		if _, err := f.s.AddDocument(context.Background(), f.code, c.name, c.typ, strings.NewReader("x"), nil, DocumentOptions{}); err == nil {
			t.Errorf("name %q type %q accepted", c.name, c.typ)
		}
	}
	if _, err := f.s.ExportDocument(context.Background(), newID(), io.Discard, nil, DocumentOptions{}); !errors.Is(err, ErrNoDocument) {
		t.Errorf("unknown id: %v", err)
	}
	mustNoErr(t, f.s.Lock())
	if _, err := f.s.AddDocument(context.Background(), f.code, "a", "", strings.NewReader("x"), nil, DocumentOptions{}); !errors.Is(err, ErrLockedSession) {
		t.Errorf("locked session: %v", err)
	}
}

// A document written before its metadata held the age header's hash is
// still checked by the SHA-256 of its content as it is exported.
func TestDocumentWithoutHeaderHash(t *testing.T) {
	f := newDocFixture(t)
	data := randomBytes(11, 200<<10)
	id := f.add(t, "old.pdf", data, DocumentOptions{})
	rewrite := func(change func(m *docMeta)) {
		t.Helper()
		c := f.s.comps[f.cid]
		db, err := f.s.v.compartmentDB(f.cid)
		mustNoErr(t, err)
		mustNoErr(t, db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bDocuments)
			rid, m, err := openDocRecord(c.kr, id, b.Get(id[:]))
			if err != nil {
				return err
			}
			change(m)
			return b.Put(id[:], sealDocMeta(c.kr, rid, m))
		}))
	}
	rewrite(func(m *docMeta) {
		if !m.headerBound {
			t.Fatal("a new document has no header hash")
		}
		m.headerBound, m.header = false, [sha256.Size]byte{}
	})
	got, _, err := f.export(f.s, id, DocumentOptions{})
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("export without a header hash: %v", err)
	}
	rewrite(func(m *docMeta) { m.SHA256[0] ^= 1 })
	if _, _, err := f.export(f.s, id, DocumentOptions{}); !errors.Is(err, ErrDocumentDamaged) {
		t.Fatalf("a content hash that differs: %v", err)
	}
}

// TestExportDocumentToFile: a document exported to a regular file (large
// enough to be written around the page cache) arrives whole, with the
// file's offset at its end, whether the file starts empty, holds an
// unaligned prefix, or is open for appending (both written through the
// page cache); the protected path is the same.
func TestExportDocumentToFile(t *testing.T) {
	f := newDocFixture(t)
	data := randomBytes(7, directExportMin+12345)
	id, err := f.s.AddDocument(context.Background(), f.code, "big.bin", "application/octet-stream", bytes.NewReader(data), nil, DocumentOptions{})
	mustNoErr(t, err)
	dir := t.TempDir()
	for _, c := range []struct {
		name   string
		flags  int
		prefix []byte
	}{
		{"empty", os.O_WRONLY, nil},
		{"prefix", os.O_WRONLY, []byte("x")},
		{"append", os.O_WRONLY | os.O_APPEND, []byte("head")},
	} {
		path := filepath.Join(dir, c.name)
		mustNoErr(t, os.WriteFile(path, c.prefix, 0o600))
		out, err := os.OpenFile(path, c.flags, 0)
		mustNoErr(t, err)
		_, err = out.Seek(0, io.SeekEnd)
		mustNoErr(t, err)
		_, err = f.s.ExportDocument(context.Background(), id, out, nil, DocumentOptions{})
		mustNoErr(t, err)
		end, err := out.Seek(0, io.SeekCurrent)
		mustNoErr(t, err)
		mustNoErr(t, out.Close())
		if end != int64(len(c.prefix)+len(data)) {
			t.Fatalf("%s: offset %d after the export, want %d", c.name, end, len(c.prefix)+len(data))
		}
		got, err := os.ReadFile(path)
		mustNoErr(t, err)
		if !bytes.Equal(got, append(append([]byte{}, c.prefix...), data...)) {
			t.Fatalf("%s: the exported file differs (%d bytes, want %d)", c.name, len(got), len(c.prefix)+len(data))
		}
	}
}
