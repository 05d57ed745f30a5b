package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"filippo.io/age"
	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/store/customer"
	"github.com/valv-vault/valv/store/intake"
)

// An IntakeItem is an item of a compartment's intake queue, as its key
// holders see it.
type IntakeItem struct {
	ID          IntakeID
	Compartment CompartmentID
	Received    time.Time // when it was imported
	Length      int64     // bytes of the stored age file

	// From the sealed header; zero if Damaged. Name is the original file
	// name, for the key holder's eyes only (the audit log records the
	// item id).
	Name      string
	MediaType string
	Size      int64     // bytes of content
	Sealed    time.Time // by the sender's clock

	// Damaged says why the item does not open (it was altered, truncated
	// or sealed wrongly), or is "". A damaged item can only be discarded.
	Damaged string
}

// openIntakeRecord decrypts an item record with the compartment's
// identity and checks that it belongs to the item.
func openIntakeRecord(id age.Identity, item IntakeID, v []byte) (*intakeRecord, error) {
	p, err := ageOpen(id, v, 1024)
	if err != nil {
		return nil, fmt.Errorf("%w: the record of intake item %s does not open with the compartment key", ErrIntakeDamaged, item)
	}
	var r intakeRecord
	if err := json.Unmarshal(p, &r); err != nil || r.Item != item || r.Chunks == 0 || r.Chunks > 1<<32 || r.Length <= 0 || r.Length > int64(r.Chunks)*docChunkMax {
		return nil, fmt.Errorf("%w: the record of intake item %s is malformed or belongs to another item", ErrIntakeDamaged, item)
	}
	return &r, nil
}

// An intakeReader reads an item's age file from its chunks: within tx if
// set (the values are not copied), else each chunk in a read transaction
// of its own, copied out, so that no read transaction is open while the
// caller writes (filing an item writes a document to the same file).
type intakeReader struct {
	db   *bolt.DB
	tx   *bolt.Tx
	id   IntakeID
	want uint64 // chunks

	idx  uint64
	buf  []byte
	off  int
	read int64
	err  error
}

func (r *intakeReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	for r.off >= len(r.buf) {
		if r.idx >= r.want {
			return 0, io.EOF
		}
		if err := r.load(); err != nil {
			r.err = err
			return 0, err
		}
	}
	n := copy(p, r.buf[r.off:])
	r.off += n
	r.read += int64(n)
	return n, nil
}

func (r *intakeReader) load() error {
	get := func(tx *bolt.Tx) error {
		var v []byte
		if b := tx.Bucket(bIntakeChunks); b != nil {
			v = b.Get(chunkKey(r.id, r.idx))
		}
		if len(v) == 0 || len(v) > docChunkMax {
			return fmt.Errorf("%w: chunk %d of intake item %s is missing or has a bad length", ErrIntakeDamaged, r.idx, r.id)
		}
		if r.tx != nil {
			r.buf = v
		} else {
			r.buf = append(r.buf[:0], v...)
		}
		return nil
	}
	var err error
	if r.tx != nil {
		err = get(r.tx)
	} else {
		err = r.db.View(get)
	}
	r.idx++
	r.off = 0
	return err
}

// intakeHeader reads an item's sealed header inside tx.
func intakeHeader(tx *bolt.Tx, id age.Identity, item IntakeID, rec *intakeRecord) (*intake.Header, error) {
	// The chunks are all there and add up to the record's length (keys
	// and lengths only: the values are not read).
	var n uint64
	var total int64
	if b := tx.Bucket(bIntakeChunks); b != nil {
		c := b.Cursor()
		for k, v := c.Seek(item[:]); k != nil && bytes.HasPrefix(k, item[:]); k, v = c.Next() {
			if !bytes.Equal(k, chunkKey(item, n)) {
				break
			}
			n++
			total += int64(len(v))
		}
	}
	if n != rec.Chunks || total != rec.Length {
		return nil, fmt.Errorf("%w: intake item %s has %d chunks of %d bytes, its record says %d of %d (truncated or altered)", ErrIntakeDamaged, item, n, total, rec.Chunks, rec.Length)
	}
	plain, err := age.Decrypt(&intakeReader{tx: tx, id: item, want: rec.Chunks}, id)
	if err != nil {
		return nil, fmt.Errorf("%w: intake item %s does not open with the compartment key (sealed to another key, or altered)", ErrIntakeDamaged, item)
	}
	return readIntakeHeader(plain, item)
}

// readIntakeHeader reads the sealed header from an item's decrypted
// stream, telling a stream that does not decrypt from a malformed
// header.
func readIntakeHeader(plain io.Reader, item IntakeID) (*intake.Header, error) {
	trap := &readErrTrap{r: plain}
	h, _, err := intake.ReadHeader(trap)
	switch {
	case err != nil && trap.err != nil && trap.err != io.EOF:
		return nil, fmt.Errorf("%w: intake item %s does not decrypt: it was altered or cut", ErrIntakeDamaged, item)
	case err != nil:
		return nil, fmt.Errorf("%w: intake item %s: %v", ErrIntakeDamaged, item, err)
	}
	return h, nil
}

// readErrTrap remembers the first error of a reader.
type readErrTrap struct {
	r   io.Reader
	err error
}

func (t *readErrTrap) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && t.err == nil {
		t.err = err
	}
	return n, err
}

// IntakeQueue lists the intake items of the unlocked compartments, oldest
// first, with what their sealed headers say. An item that does not open
// is listed with Damaged set. The listing is logged (intake-list, with
// the count) in each compartment that has items.
func (s *Session) IntakeQueue() ([]IntakeItem, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		return nil, err
	}
	var out []IntakeItem
	for cid, c := range s.comps {
		db, err := s.v.compartmentDB(cid)
		if err != nil {
			return nil, err
		}
		var items []IntakeItem
		db.View(func(tx *bolt.Tx) error {
			b := tx.Bucket(bIntake)
			if b == nil {
				return nil
			}
			return b.ForEach(func(k, v []byte) error {
				it := IntakeItem{Compartment: cid}
				if copy(it.ID[:], k) != len(k) || len(k) != len(it.ID) {
					return nil // not a key ImportIntake writes
				}
				rec, err := openIntakeRecord(c.key.Identity(), it.ID, v)
				if err != nil {
					it.Damaged = err.Error()
					items = append(items, it)
					return nil
				}
				it.Received, it.Length = rec.Received, rec.Length
				h, err := intakeHeader(tx, c.key.Identity(), it.ID, rec)
				if err != nil {
					it.Damaged = err.Error()
				} else {
					it.Name, it.MediaType, it.Size, it.Sealed = h.Name, h.MediaType, h.Size, h.Sealed
				}
				items = append(items, it)
				return nil
			})
		})
		if len(items) == 0 {
			continue
		}
		err = db.Update(func(tx *bolt.Tx) error {
			return appendEntries(tx, c.kr, Entry{Time: s.v.now(), Holder: s.actor, Action: ActionIntakeList, Count: int64(len(items))})
		})
		if err != nil {
			return nil, err
		}
		s.touched[cid] = true
		out = append(out, items...)
	}
	slices.SortStableFunc(out, func(a, b IntakeItem) int {
		if c := a.Received.Compare(b.Received); c != 0 {
			return c
		}
		return bytes.Compare(a.ID[:], b.ID[:])
	})
	return out, nil
}

// findIntake finds an item in the unlocked compartments; v is its record.
func (s *Session) findIntake(item IntakeID) (*openComp, *bolt.DB, []byte, error) {
	for cid, c := range s.comps {
		db, err := s.v.compartmentDB(cid)
		if err != nil {
			continue
		}
		var v []byte
		db.View(func(tx *bolt.Tx) error {
			if b := tx.Bucket(bIntake); b != nil {
				v = get(b, item[:])
			}
			return nil
		})
		if v != nil {
			return c, db, v, nil
		}
	}
	return nil, nil, nil, ErrNoIntake
}

// FileIntake turns an intake item into a document of a customer of the
// same compartment: the item is decrypted and streamed into AddDocument
// with the file name and media type of its sealed header. The document's
// last commit also deletes the item's record and logs intake-file (the
// item id) beside doc-add (the customer's code), so that after a crash
// either the item or the document is there, never both and never
// neither; the item's chunks are deleted after that commit (or, after a
// crash, by the next opening of the file).
//
// A damaged item (it does not decrypt, its content is cut or longer than
// its header says) is an error wrapping ErrIntakeDamaged, and nothing
// changes. progress and ctx are as for AddDocument.
func (s *Session) FileIntake(ctx context.Context, item IntakeID, code customer.Code, progress func(done int64)) (DocumentID, error) {
	s.mu.Lock()
	if err := s.check(); err != nil {
		s.mu.Unlock()
		return ID{}, err
	}
	c, db, v, err := s.findIntake(item)
	if err != nil {
		s.mu.Unlock()
		return ID{}, err
	}
	cc, _, err := s.locate(code)
	if err != nil {
		s.mu.Unlock()
		return ID{}, err
	}
	if cc.id != c.id {
		s.mu.Unlock()
		return ID{}, fmt.Errorf("store: intake item %s was sealed to compartment %s and customer %s is in compartment %s; file it to a customer of the same compartment", item, c.id, code, cc.id)
	}
	identity := c.key.Identity()
	rec, err := openIntakeRecord(identity, item, v)
	s.mu.Unlock()
	if err != nil {
		return ID{}, err
	}

	rd := &intakeReader{db: db, id: item, want: rec.Chunks}
	plain, err := age.Decrypt(rd, identity)
	if err != nil {
		if rd.err != nil {
			return ID{}, rd.err
		}
		return ID{}, fmt.Errorf("%w: intake item %s does not open with the compartment key (sealed to another key, or altered)", ErrIntakeDamaged, item)
	}
	trap := &readErrTrap{r: plain}
	h, content, err := intake.ReadHeader(trap)
	switch {
	case err != nil && rd.err != nil:
		return ID{}, rd.err
	case err != nil && trap.err != nil && trap.err != io.EOF:
		return ID{}, fmt.Errorf("%w: intake item %s does not decrypt: it was altered or cut", ErrIntakeDamaged, item)
	case err != nil:
		return ID{}, fmt.Errorf("%w: intake item %s: %v", ErrIntakeDamaged, item, err)
	}
	src := &intakeContent{r: content, rd: rd, length: rec.Length, item: item}
	doc, err := s.addDocument(ctx, code, h.Name, h.MediaType, src, progress, DocumentOptions{}, func(tx *bolt.Tx, oc *openComp) error {
		b := tx.Bucket(bIntake)
		if b == nil || b.Get(item[:]) == nil {
			return ErrNoIntake
		}
		if err := b.Delete(item[:]); err != nil {
			return err
		}
		return appendEntries(tx, oc.kr, Entry{Time: s.v.now(), Holder: s.actor, Action: ActionIntakeFile, Object: item.String(), Count: h.Size})
	})
	if err != nil {
		return ID{}, err
	}
	// Best effort: the sweep at the next opening deletes what is left.
	_ = db.Update(func(tx *bolt.Tx) error { return deleteChunksIn(tx, bIntakeChunks, item) })
	return doc, nil
}

// intakeContent is an item's content as read while filing it: its end
// also checks that the whole stored age file was read.
type intakeContent struct {
	r      io.Reader
	rd     *intakeReader
	length int64
	item   IntakeID
}

func (c *intakeContent) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	switch {
	case err == io.EOF && c.rd.read != c.length:
		return n, fmt.Errorf("%w: intake item %s holds %d bytes of ciphertext, its record says %d", ErrIntakeDamaged, c.item, c.rd.read, c.length)
	case err != nil && err != io.EOF:
		if c.rd.err != nil {
			return n, c.rd.err
		}
		if !errors.Is(err, ErrIntakeDamaged) {
			err = fmt.Errorf("%w: intake item %s: %v", ErrIntakeDamaged, c.item, err)
		}
	}
	return n, err
}

// DiscardIntake deletes an intake item, damaged or not, and logs
// intake-discard (the item id) in its compartment, in one commit.
func (s *Session) DiscardIntake(item IntakeID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		return err
	}
	c, db, v, err := s.findIntake(item)
	if err != nil {
		return err
	}
	var length int64
	if rec, err := openIntakeRecord(c.key.Identity(), item, v); err == nil {
		length = rec.Length
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bIntake)
		if b == nil || b.Get(item[:]) == nil {
			return ErrNoIntake
		}
		if err := b.Delete(item[:]); err != nil {
			return err
		}
		if err := deleteChunksIn(tx, bIntakeChunks, item); err != nil {
			return err
		}
		return appendEntries(tx, c.kr, Entry{Time: s.v.now(), Holder: s.actor, Action: ActionIntakeDiscard, Object: item.String(), Count: length})
	})
	if err != nil {
		return err
	}
	s.touched[c.id] = true
	return nil
}

// reencryptIntake carries a compartment's sealed intake over to the new
// file of a rotation (Revoke): each item's age file is decrypted with the
// old identity and encrypted again to the new recipient, in chunks, with
// the same item id; its record is re-encrypted in the transaction of its
// last chunks. The import fingerprints are copied. Pending intake-import
// entries are returned, to be chained in the new log. An item that does
// not decrypt is left behind and counted in dropped, so that a damaged
// item never blocks a revocation.
func reencryptIntake(ctx context.Context, otx *bolt.Tx, ndb *bolt.DB, oldID age.Identity, to *age.X25519Recipient, now time.Time, tick func(int)) (pending []Entry, dropped int, err error) {
	if pending, err = drainIntakePendingRO(otx, oldID, now); err != nil {
		return nil, 0, err
	}
	if seen := otx.Bucket(bIntakeSeen); seen != nil {
		err := ndb.Update(func(tx *bolt.Tx) error {
			nb, err := tx.CreateBucketIfNotExists(bIntakeSeen)
			if err != nil {
				return err
			}
			return seen.ForEach(func(k, v []byte) error { return nb.Put(slices.Clone(k), slices.Clone(v)) })
		})
		if err != nil {
			return nil, 0, err
		}
	}
	items := otx.Bucket(bIntake)
	if items == nil {
		return pending, 0, nil
	}
	type item struct {
		id  IntakeID
		rec *intakeRecord
	}
	var all []item
	items.ForEach(func(k, v []byte) error {
		var id IntakeID
		if len(k) != len(id) {
			dropped++
			return nil
		}
		copy(id[:], k)
		rec, err := openIntakeRecord(oldID, id, v)
		if err != nil {
			dropped++
			return nil
		}
		all = append(all, item{id, rec})
		return nil
	})
	for _, it := range all {
		ok, err := reencryptIntakeItem(ctx, otx, ndb, it.id, it.rec, oldID, to)
		if err != nil {
			return nil, dropped, err
		}
		if !ok {
			dropped++
			continue
		}
		if tick != nil {
			tick(1)
		}
	}
	return pending, dropped, nil
}

func reencryptIntakeItem(ctx context.Context, otx *bolt.Tx, ndb *bolt.DB, id IntakeID, rec *intakeRecord, oldID age.Identity, to *age.X25519Recipient) (ok bool, err error) {
	rd := &intakeReader{tx: otx, id: id, want: rec.Chunks}
	plain, err := age.Decrypt(rd, oldID)
	if err != nil {
		return false, nil
	}
	w := &chunkWriter{ctx: ctx, db: ndb, id: id, bucket: bIntakeChunks}
	enc, err := age.Encrypt(w, to)
	if err != nil {
		return false, err
	}
	_, cerr := io.Copy(enc, plain)
	if cerr == nil {
		cerr = enc.Close()
	}
	if cerr == nil && ctx.Err() != nil {
		cerr = ctx.Err()
	}
	if cerr != nil {
		abortIntake(w)
		if w.err != nil || ctx.Err() != nil {
			return false, cerr
		}
		return false, nil // the old item is damaged
	}
	if rd.read != rec.Length {
		abortIntake(w)
		return false, nil
	}
	w.close()
	nrec := *rec
	nrec.Length = w.total
	err = w.commit(func(tx *bolt.Tx, chunks uint64) error {
		nrec.Chunks = chunks
		p, err := json.Marshal(nrec)
		if err != nil {
			return err
		}
		v, err := ageSeal(to, p)
		if err != nil {
			return err
		}
		b, err := tx.CreateBucketIfNotExists(bIntake)
		if err != nil {
			return err
		}
		return b.Put(id[:], v)
	})
	if err != nil {
		abortIntake(w)
		return false, fmt.Errorf("store: re-encrypting intake item %s: %w", id, err)
	}
	return true, nil
}

// drainIntakePendingRO is drainIntakePending for a read-only transaction
// (a rotation reads the old file): it decrypts and checks the entries and
// deletes nothing (the old file is replaced whole).
func drainIntakePendingRO(tx *bolt.Tx, id age.Identity, now time.Time) ([]Entry, error) {
	b := tx.Bucket(bIntakeAudit)
	if b == nil {
		return nil, nil
	}
	var entries []Entry
	b.ForEach(func(_, v []byte) error {
		entries = append(entries, openIntakePending(id, v, now))
		return nil
	})
	slices.SortStableFunc(entries, func(a, b Entry) int { return a.Time.Compare(b.Time) })
	return entries, nil
}
