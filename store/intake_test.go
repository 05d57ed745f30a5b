package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/store/customer"
	"github.com/valv-vault/valv/store/intake"
)

var sealedAt = time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)

// intakeFile seals content as an intake file to the recipients.
func intakeFile(t testing.TB, name string, content []byte, to ...string) []byte {
	t.Helper()
	var rs []*age.X25519Recipient
	for _, s := range to {
		r, err := age.ParseX25519Recipient(s)
		mustNoErr(t, err)
		rs = append(rs, r)
	}
	var m memFile
	h := &intake.Header{Name: name, MediaType: intake.MediaType(name, content), Size: int64(len(content)), Sealed: sealedAt}
	mustNoErr(t, intake.Seal(&m, rs, h, bytes.NewReader(content), nil))
	return m.b
}

// memFile is an in-memory io.WriteSeeker.
type memFile struct {
	b   []byte
	off int64
}

func (m *memFile) Write(p []byte) (int, error) {
	if end := m.off + int64(len(p)); end > int64(len(m.b)) {
		m.b = append(m.b, make([]byte, end-int64(len(m.b)))...)
	}
	copy(m.b[m.off:], p)
	m.off += int64(len(p))
	return len(p), nil
}

func (m *memFile) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case 0:
		m.off = off
	case 1:
		m.off += off
	case 2:
		m.off = int64(len(m.b)) + off
	}
	return m.off, nil
}

func recipientOf(t testing.TB, v *Vault, cid CompartmentID) string {
	t.Helper()
	r, err := v.CompartmentRecipient(cid.String())
	mustNoErr(t, err)
	return r
}

func importIntake(v *Vault, file []byte) ([]IntakeReceipt, error) {
	return v.ImportIntake(context.Background(), bytes.NewReader(file), nil)
}

func compartmentEntries(t testing.TB, s *Session, cid CompartmentID) []Entry {
	t.Helper()
	var es []Entry
	mustNoErr(t, s.ExportAudit(func(e ExportedEntry) error {
		if e.Log == cid.String() {
			es = append(es, e.Entry)
		}
		return nil
	}))
	return es
}

func bucketKeys(t testing.TB, v *Vault, cid CompartmentID, bucket []byte) int {
	t.Helper()
	db, err := v.compartmentDB(cid)
	mustNoErr(t, err)
	n := 0
	db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucket); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	return n
}

// TestIntakeRoundTrip: seal, import while locked (no session at all),
// unlock, the queue shows the item, file it to a customer, and the
// document's export equals the original bytes; the log holds the import,
// the listing and the filing, and still verifies.
func TestIntakeRoundTrip(t *testing.T) {
	docKnobs(t, 16<<10, 64<<10)
	f := newDocFixture(t)
	rcpt := recipientOf(t, f.tv.v, f.cid)
	mustNoErr(t, f.s.Lock())
	f.tv.reopen(t)

	content := randomBytes(7, 300<<10+17)
	file := intakeFile(t, "Avtal 2026.pdf", append([]byte("%PDF-1.7\n"), content...), rcpt)
	content = append([]byte("%PDF-1.7\n"), content...)
	var progress int64
	rs, err := f.tv.v.ImportIntake(context.Background(), bytes.NewReader(file), func(n int64) { progress = n })
	mustNoErr(t, err)
	if len(rs) != 1 || rs[0].Compartment != f.cid || progress != rs[0].Length {
		t.Fatalf("receipts %+v, progress %d", rs, progress)
	}
	item := rs[0].Item
	if n := bucketKeys(t, f.tv.v, f.cid, bIntakeChunks); n < 2 {
		t.Errorf("%d chunks; the import should be chunked", n)
	}

	s := f.tv.unlock(t, f.tv.admin)
	q, err := s.IntakeQueue()
	mustNoErr(t, err)
	if len(q) != 1 {
		t.Fatalf("queue %+v", q)
	}
	it := q[0]
	if it.ID != item || it.Compartment != f.cid || it.Damaged != "" || it.Name != "Avtal 2026.pdf" ||
		it.MediaType != "application/pdf" || it.Size != int64(len(content)) || !it.Sealed.Equal(sealedAt) || it.Received.IsZero() {
		t.Fatalf("item %+v", it)
	}
	doc, err := s.FileIntake(context.Background(), item, f.code, nil)
	mustNoErr(t, err)
	if q, _ := s.IntakeQueue(); len(q) != 0 {
		t.Errorf("queue after filing: %+v", q)
	}
	got, info, err := f.export(s, doc, DocumentOptions{})
	mustNoErr(t, err)
	if !bytes.Equal(got, content) || info.Name != "Avtal 2026.pdf" || info.MediaType != "application/pdf" || info.Customer != f.code {
		t.Errorf("exported %d bytes (want %d), info %+v", len(got), len(content), info)
	}
	if n := bucketKeys(t, f.tv.v, f.cid, bIntakeChunks); n != 0 {
		t.Errorf("%d intake chunks left after filing", n)
	}
	if _, err := s.FileIntake(context.Background(), item, f.code, nil); !errors.Is(err, ErrNoIntake) {
		t.Errorf("filing twice: %v", err)
	}

	es := compartmentEntries(t, s, f.cid)
	imp := slices.IndexFunc(es, func(e Entry) bool { return e.Action == ActionIntakeImport })
	unl := slices.IndexFunc(es, func(e Entry) bool { return e.Action == ActionUnlock && e.Holder == s.Actor() })
	if imp < 0 || unl < imp || es[imp].Holder != IntakeHolder || es[imp].Object != item.String() || es[imp].Count != rs[0].Length {
		t.Fatalf("intake-import entry: %+v", es)
	}
	if !hasEntry(es, ActionIntakeList, "") || !hasEntry(es, ActionIntakeFile, item.String()) || !hasEntry(es, ActionDocAdd, string(f.code)) {
		t.Errorf("log: %+v", es)
	}
	reports, err := s.VerifyAudit()
	mustNoErr(t, err)
	for _, r := range reports {
		if r.Err != nil {
			t.Errorf("audit: %v", r.Err)
		}
	}

	// Re-importing the same file (left in the front desk's folder) is
	// skipped, even though the item was filed.
	_, err = importIntake(f.tv.v, file)
	var already *IntakeImportedError
	if !errors.As(err, &already) || already.Item != item {
		t.Errorf("re-import: %v", err)
	}
}

// TestIntakeRefused: files for another vault or compartment key, not
// intake files, truncated, lengthened or with forged envelopes are
// refused with clear errors, and nothing already stored is lost.
func TestIntakeRefused(t *testing.T) {
	f := newDocFixture(t)
	rcpt := recipientOf(t, f.tv.v, f.cid)
	keep := intakeFile(t, "keep.txt", []byte("already here"), rcpt)
	_, err := importIntake(f.tv.v, keep)
	mustNoErr(t, err)

	other := newDocFixture(t)
	foreign := intakeFile(t, "x.txt", []byte("for the other vault"), recipientOf(t, other.tv.v, other.cid))
	_, err = importIntake(f.tv.v, foreign)
	if !errors.Is(err, ErrIntakeNotForVault) || !strings.Contains(err.Error(), "valv recipient") {
		t.Errorf("a file for another vault: %v", err)
	}

	good := intakeFile(t, "y.txt", []byte("0123456789"), rcpt)
	stranger, _ := age.GenerateX25519Identity()
	twoTo := intakeFile(t, "z.txt", []byte("z"), rcpt, stranger.Recipient().String())
	cases := map[string][]byte{
		"empty":     {},
		"pdf":       []byte("%PDF-1.4\n%%EOF\n"),
		"age file":  good[110:],
		"truncated": good[:len(good)-1],
		"cut":       good[:200],
		"appended":  append(bytes.Clone(good), '\n'),
		// The envelope names one recipient, the age header has two.
		"stanzas": append(intake.AppendEnvelope(nil, []*age.X25519Recipient{mustRecipient(t, rcpt)}, int64(len(twoTo)-110-66)), twoTo[110+66:]...),
		// An envelope around something that is not an age file.
		"not age": append(intake.AppendEnvelope(nil, []*age.X25519Recipient{mustRecipient(t, rcpt)}, 300), bytes.Repeat([]byte("x"), 300)...),
	}
	for name, file := range cases {
		_, err := importIntake(f.tv.v, file)
		if !errors.Is(err, ErrIntakeDamaged) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A file sealed to the compartment and to someone else is fine.
	_, err = importIntake(f.tv.v, twoTo)
	mustNoErr(t, err)

	q, err := f.s.IntakeQueue()
	mustNoErr(t, err)
	if len(q) != 2 {
		t.Fatalf("queue: %+v", q)
	}
	for _, it := range q {
		if it.Damaged != "" {
			t.Errorf("item %s: %s", it.ID, it.Damaged)
		}
	}
	if n := bucketKeys(t, f.tv.v, f.cid, bIntakeChunks); n != 2 {
		t.Errorf("%d chunks; want 2 (nothing left of the refused files)", n)
	}
}

func mustRecipient(t testing.TB, s string) *age.X25519Recipient {
	t.Helper()
	r, err := age.ParseX25519Recipient(s)
	mustNoErr(t, err)
	return r
}

// TestIntakeCompartments: an item goes to the compartment it is sealed
// to; a key holder of compartment A sees nothing of B's intake and can
// neither file nor discard it; an item is filed only to a customer of
// its own compartment.
func TestIntakeCompartments(t *testing.T) {
	f := newDocFixture(t) // compartment A = f.cid
	b, err := f.s.CreateCompartment("Företag")
	mustNoErr(t, err)
	codeB, err := f.s.AddCustomer(b, customer.Customer{Name: "Bolaget AB"})
	mustNoErr(t, err)
	h := newTestHolder(t, "Hanna Handläggare", RoleHolder)
	hid, err := f.s.Enrol(h.info)
	mustNoErr(t, err)
	mustNoErr(t, f.s.Grant(f.cid, hid))

	rsA, err := importIntake(f.tv.v, intakeFile(t, "a.txt", []byte("for A"), recipientOf(t, f.tv.v, f.cid)))
	mustNoErr(t, err)
	rsB, err := importIntake(f.tv.v, intakeFile(t, "b-secret.txt", []byte("for B"), recipientOf(t, f.tv.v, b)))
	mustNoErr(t, err)
	if rsA[0].Compartment != f.cid || rsB[0].Compartment != b {
		t.Fatalf("receipts %+v %+v", rsA, rsB)
	}
	mustNoErr(t, f.s.Lock())

	hs := f.tv.unlock(t, h)
	q, err := hs.IntakeQueue()
	mustNoErr(t, err)
	if len(q) != 1 || q[0].ID != rsA[0].Item {
		t.Fatalf("holder of A sees %+v", q)
	}
	if _, err := hs.FileIntake(context.Background(), rsB[0].Item, f.code, nil); !errors.Is(err, ErrNoIntake) {
		t.Errorf("holder of A files B's item: %v", err)
	}
	if err := hs.DiscardIntake(rsB[0].Item); !errors.Is(err, ErrNoIntake) {
		t.Errorf("holder of A discards B's item: %v", err)
	}
	mustNoErr(t, hs.Lock())

	s := f.tv.unlock(t, f.tv.admin)
	if _, err := s.FileIntake(context.Background(), rsA[0].Item, codeB, nil); err == nil || !strings.Contains(err.Error(), "same compartment") {
		t.Errorf("filing A's item to B's customer: %v", err)
	}
	if _, err := s.FileIntake(context.Background(), rsB[0].Item, codeB, nil); err != nil {
		t.Error(err)
	}
	if q, _ := s.IntakeQueue(); len(q) != 1 || q[0].ID != rsA[0].Item {
		t.Errorf("queue: %+v", q)
	}
}

// TestIntakeDamaged: an item whose chunks or record were altered, or
// whose sealed plaintext is not a valid intake plaintext, is listed as
// damaged; filing it fails and changes nothing; it can be discarded.
func TestIntakeDamaged(t *testing.T) {
	docKnobs(t, 16<<10, 64<<10)
	f := newDocFixture(t)
	rcpt := recipientOf(t, f.tv.v, f.cid)
	imp := func(file []byte) IntakeID {
		rs, err := importIntake(f.tv.v, file)
		mustNoErr(t, err)
		return rs[0].Item
	}
	flipped := imp(intakeFile(t, "flip.bin", randomBytes(1, 40<<10), rcpt))
	swappedA := imp(intakeFile(t, "a.bin", randomBytes(2, 100), rcpt))
	swappedB := imp(intakeFile(t, "b.bin", randomBytes(3, 100), rcpt))
	fine := imp(intakeFile(t, "fine.bin", randomBytes(4, 100), rcpt))
	cutLast := imp(intakeFile(t, "cut.bin", randomBytes(5, 40<<10), rcpt))
	rsLen, err := importIntake(f.tv.v, intakeFile(t, "len.bin", randomBytes(6, 100), rcpt))
	mustNoErr(t, err)
	forgedLen := rsLen[0].Item
	// Anyone can encrypt a record to the public recipient: this one
	// says one byte more than the item holds.
	forgedRec, err := json.Marshal(intakeRecord{Item: forgedLen, Received: sealedAt, Chunks: 1, Length: rsLen[0].Length + 1})
	mustNoErr(t, err)
	forgedVal, err := ageSeal(mustRecipient(t, rcpt), forgedRec)
	mustNoErr(t, err)

	// A plain age file in a valid envelope: only the key holder can
	// tell it has no sealed header. And one whose content is longer
	// than its header says.
	var plain bytes.Buffer
	w, _ := age.Encrypt(&plain, mustRecipient(t, rcpt))
	w.Write([]byte("just some bytes, no valv header at all"))
	w.Close()
	noHeader := imp(append(intake.AppendEnvelope(nil, []*age.X25519Recipient{mustRecipient(t, rcpt)}, int64(plain.Len())), plain.Bytes()...))
	var long bytes.Buffer
	w, _ = age.Encrypt(&long, mustRecipient(t, rcpt))
	w.Write(intake.AppendHeader(nil, &intake.Header{Name: "long.txt", MediaType: "text/plain", Size: 3, Sealed: sealedAt}))
	w.Write([]byte("abcdef"))
	w.Close()
	tooLong := imp(append(intake.AppendEnvelope(nil, []*age.X25519Recipient{mustRecipient(t, rcpt)}, int64(long.Len())), long.Bytes()...))

	mustNoErr(t, f.s.Lock())
	f.tv.v.Close()
	edit(t, compartmentPath(f.tv.dir, f.cid), func(tx *bolt.Tx) error {
		b := tx.Bucket(bIntakeChunks)
		v := bytes.Clone(b.Get(chunkKey(flipped, 1)))
		v[100] ^= 1
		if err := b.Put(chunkKey(flipped, 1), v); err != nil {
			return err
		}
		if err := b.Delete(chunkKey(cutLast, 2)); err != nil {
			return err
		}
		items := tx.Bucket(bIntake)
		ra, rb := bytes.Clone(items.Get(swappedA[:])), bytes.Clone(items.Get(swappedB[:]))
		items.Put(swappedA[:], rb)
		items.Put(swappedB[:], ra)
		return items.Put(forgedLen[:], forgedVal)
	})
	f.tv.reopen(t)
	s := f.tv.unlock(t, f.tv.admin)
	q, err := s.IntakeQueue()
	mustNoErr(t, err)
	damaged := map[IntakeID]string{}
	for _, it := range q {
		if it.Damaged != "" {
			damaged[it.ID] = it.Damaged
			if it.Name != "" {
				t.Errorf("a damaged item shows a name")
			}
		}
	}
	// The flipped chunk is past the sealed header: listing cannot see
	// it, filing does.
	for _, id := range []IntakeID{swappedA, swappedB, noHeader, cutLast, forgedLen} {
		if damaged[id] == "" {
			t.Errorf("item %s is not reported damaged: %+v", id, q)
		}
	}
	if damaged[fine] != "" || damaged[tooLong] != "" || len(q) != 8 {
		t.Errorf("queue %+v", q)
	}
	docs := func() int {
		ds, err := s.Documents(f.code)
		mustNoErr(t, err)
		return len(ds)
	}
	for _, id := range []IntakeID{flipped, swappedA, noHeader, tooLong, cutLast, forgedLen} {
		_, err := s.FileIntake(context.Background(), id, f.code, nil)
		if !errors.Is(err, ErrIntakeDamaged) {
			t.Errorf("filing damaged item %s: %v", id, err)
		}
	}
	if n := docs(); n != 0 {
		t.Errorf("%d documents after failed filings", n)
	}
	if q2, _ := s.IntakeQueue(); len(q2) != 8 {
		t.Errorf("a failed filing lost an item: %d left", len(q2))
	}
	for _, id := range []IntakeID{flipped, swappedA, swappedB, noHeader, tooLong, cutLast, forgedLen} {
		mustNoErr(t, s.DiscardIntake(id))
	}
	if _, err := s.FileIntake(context.Background(), fine, f.code, nil); err != nil {
		t.Error(err)
	}
	if q, _ := s.IntakeQueue(); len(q) != 0 {
		t.Errorf("queue %+v", q)
	}
	if n := bucketKeys(t, f.tv.v, f.cid, bIntakeChunks); n != 0 {
		t.Errorf("%d chunks left", n)
	}
	es := compartmentEntries(t, s, f.cid)
	if !hasEntry(es, ActionIntakeDiscard, swappedA.String()) {
		t.Errorf("no intake-discard entry")
	}
}

// TestIntakeForgedPending: anyone can encrypt to the public recipient,
// so a pending entry that is not an intake-import of an item is chained
// as pending-damaged, and the holder is always IntakeHolder.
func TestIntakeForgedPending(t *testing.T) {
	f := newDocFixture(t)
	to := mustRecipient(t, recipientOf(t, f.tv.v, f.cid))
	mustNoErr(t, f.s.Lock())
	db, err := f.tv.v.compartmentDB(f.cid)
	mustNoErr(t, err)
	item := newID()
	mustNoErr(t, db.Update(func(tx *bolt.Tx) error {
		if err := addIntakePending(tx, to, Entry{Time: time.Now(), Holder: f.s.Actor(), Action: ActionIntakeImport, Object: item.String(), Count: 5}); err != nil {
			return err
		}
		if err := addIntakePending(tx, to, Entry{Time: time.Now(), Action: ActionDelete, Object: string(f.code)}); err != nil {
			return err
		}
		return tx.Bucket(bIntakeAudit).Put([]byte("garbage key"), []byte("not age"))
	}))
	s := f.tv.unlock(t, f.tv.admin)
	es := compartmentEntries(t, s, f.cid)
	var imports, damaged int
	for _, e := range es {
		switch e.Action {
		case ActionIntakeImport:
			imports++
			if e.Holder != IntakeHolder || e.Object != item.String() {
				t.Errorf("import entry %+v", e)
			}
		case ActionPendingDamaged:
			damaged++
		case ActionDelete:
			t.Errorf("a forged delete entry was chained")
		}
	}
	if imports != 1 || damaged != 2 {
		t.Errorf("%d imports, %d damaged; want 1, 2", imports, damaged)
	}
	if n := bucketKeys(t, f.tv.v, f.cid, bIntakeAudit); n != 0 {
		t.Errorf("%d pending entries left", n)
	}
}

// TestIntakeRevoke: a revocation rotates the compartment's key; the
// queue is re-encrypted to the new key and still files; an import made
// while the session was open is chained; a file sealed to the old
// recipient is then refused.
func TestIntakeRevoke(t *testing.T) {
	docKnobs(t, 16<<10, 64<<10)
	f := newDocFixture(t)
	old := recipientOf(t, f.tv.v, f.cid)
	h := newTestHolder(t, "Hanna Handläggare", RoleHolder)
	hid, err := f.s.Enrol(h.info)
	mustNoErr(t, err)
	mustNoErr(t, f.s.Grant(f.cid, hid))
	content := randomBytes(9, 50<<10)
	rs, err := importIntake(f.tv.v, intakeFile(t, "före.pdf", content, old))
	mustNoErr(t, err)
	late := intakeFile(t, "sen.pdf", []byte("sealed before, imported after"), old)

	mustNoErr(t, f.s.Revoke(f.cid, hid, nil))
	now := recipientOf(t, f.tv.v, f.cid)
	if now == old {
		t.Fatal("the recipient did not change")
	}
	if _, err := importIntake(f.tv.v, late); !errors.Is(err, ErrIntakeNotForVault) {
		t.Errorf("a file sealed to the old recipient: %v", err)
	}
	es := compartmentEntries(t, f.s, f.cid)
	if !hasEntry(es, ActionIntakeImport, rs[0].Item.String()) {
		t.Errorf("the pending import entry was not carried into the new log")
	}
	q, err := f.s.IntakeQueue()
	mustNoErr(t, err)
	if len(q) != 1 || q[0].Damaged != "" || q[0].Name != "före.pdf" {
		t.Fatalf("queue after revoke: %+v", q)
	}
	doc, err := f.s.FileIntake(context.Background(), rs[0].Item, f.code, nil)
	mustNoErr(t, err)
	got, _, err := f.export(f.s, doc, DocumentOptions{})
	mustNoErr(t, err)
	if !bytes.Equal(got, content) {
		t.Error("content differs after the rotation")
	}
	// The import fingerprint was carried over too.
	if _, err := importIntake(f.tv.v, intakeFile(t, "x", []byte("x"), now)); err != nil {
		t.Error(err)
	}
	reports, err := f.s.VerifyAudit()
	mustNoErr(t, err)
	for _, r := range reports {
		if r.Err != nil {
			t.Errorf("audit: %v", r.Err)
		}
	}
}

// TestIntakeCancel: a cancelled import leaves no item and no chunks.
func TestIntakeCancel(t *testing.T) {
	docKnobs(t, 16<<10, 64<<10)
	f := newDocFixture(t)
	file := intakeFile(t, "big.bin", randomBytes(5, 500<<10), recipientOf(t, f.tv.v, f.cid))
	ctx, cancel := context.WithCancel(context.Background())
	_, err := f.tv.v.ImportIntake(ctx, bytes.NewReader(file), func(n int64) {
		if n > 200<<10 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled import: %v", err)
	}
	if n := bucketKeys(t, f.tv.v, f.cid, bIntakeChunks) + bucketKeys(t, f.tv.v, f.cid, bIntake); n != 0 {
		t.Errorf("%d keys left by a cancelled import", n)
	}
	if _, err := importIntake(f.tv.v, file); err != nil {
		t.Errorf("importing after a cancelled import: %v", err)
	}
}
