package store

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"filippo.io/age"
	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/store/intake"
)

// Sealed intake: files encrypted, anywhere, to a compartment's public
// recipient (store/intake has the file format) are imported while the
// compartment is locked, and only its key holders read them.
//
// Importing needs no key, so nothing it writes can be sealed under the
// compartment's keyring: it stores the intake file's age file as-is in
// chunks (like a document's), an item record age-encrypted to the
// compartment's recipient, and its intake-import audit entry as a
// pending entry encrypted to the same recipient, which the next unlock
// of the compartment chains into its log. A key holder then lists the
// queue (IntakeQueue: the sealed header of each item), files an item as a
// document of a customer (FileIntake) or discards it (DiscardIntake).
// See SPEC.md "Sealed intake".

// An IntakeID names an item of a compartment's intake queue: 16 random
// bytes, unrelated to the intake file's name.
type IntakeID = ID

// Audit actions of sealed intake. The object is the item id, never the
// sealed file name.
const (
	ActionIntakeImport  Action = "intake-import"  // by IntakeHolder; Count: bytes of the age file
	ActionIntakeList    Action = "intake-list"    // Count: the items listed
	ActionIntakeFile    Action = "intake-file"    // Count: bytes of content; a doc-add entry follows in the same commit
	ActionIntakeDiscard Action = "intake-discard" // Count: bytes of the age file
)

// IntakeHolder is the holder of intake-import entries: the import is done
// without any key, so no key holder can be named. Its id is sixteen 0xff
// bytes.
var IntakeHolder = HolderID{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// Buckets of a compartment file, made on first use.
var (
	bIntake       = []byte("intake")        // item id → age file to the compartment recipient: the item record (JSON)
	bIntakeChunks = []byte("intake-chunks") // item id ‖ u64(index) → ≤ 1 MiB of the item's age file
	bIntakeSeen   = []byte("intake-seen")   // SHA-256 of an imported age file (all of it) → item id
	bIntakeAudit  = []byte("intake-audit")  // random id → age file to the compartment recipient: a pending intake-import entry (JSON)
)

var (
	// ErrIntakeNotForVault is returned by ImportIntake for a file sealed
	// to no compartment of this vault.
	ErrIntakeNotForVault = errors.New("store: the intake file is not sealed to any compartment of this vault")

	// ErrIntakeDamaged is returned for an intake file or item that is
	// truncated, altered or not an intake file at all.
	ErrIntakeDamaged = errors.New("store: the intake file is damaged")

	// ErrNoIntake is returned for an item id that no unlocked
	// compartment's queue holds (or one already filed or discarded).
	ErrNoIntake = errors.New("store: no intake item with that id in the compartments this key opens (filed or discarded already?)")
)

// An IntakeImportedError is returned by ImportIntake for a file that was
// imported before (the same sealed file, even if filed or discarded
// since). Nothing was written.
type IntakeImportedError struct {
	Item        IntakeID
	Compartment CompartmentID
}

func (e *IntakeImportedError) Error() string {
	return fmt.Sprintf("store: the intake file was already imported into compartment %s as item %s; skipped", e.Compartment, e.Item)
}

// An IntakeReceipt says where ImportIntake put a file.
type IntakeReceipt struct {
	Item        IntakeID
	Compartment CompartmentID
	Length      int64 // bytes of the age file stored
}

// intakeRecord is the plaintext of an item record.
type intakeRecord struct {
	Item     IntakeID  `json:"item"`
	Received time.Time `json:"received"`
	Chunks   uint64    `json:"chunks"`
	Length   int64     `json:"length"`
}

// maxIntakeAgeHeader bounds the age header read without a key: eight
// X25519 stanzas take under 1 KiB.
const maxIntakeAgeHeader = 16 << 10

// stanzaProbe is an identity that opens nothing and keeps the stanzas
// age hands it: the recipient stanzas of a file, read without a key.
type stanzaProbe struct{ stanzas []*age.Stanza }

func (p *stanzaProbe) Unwrap(s []*age.Stanza) ([]byte, error) {
	p.stanzas = s
	return nil, age.ErrIncorrectIdentity
}

// ImportIntake takes in a sealed intake file (store/intake) from src,
// without any key: the compartments of this vault whose public recipient
// the file's envelope names each get an item in their intake queue,
// which their key holders see at their next unlock. It checks what can
// be checked without a key: the envelope, that the age header's stanzas
// are one X25519 stanza per recipient named, and that the file is
// exactly as long as the envelope says (not truncated, nothing
// appended). The age file is stored as-is, in chunks of at most 1 MiB
// committed in transactions of about 32 MiB; the item, and its pending
// intake-import audit entry, become visible only in the last commit, so
// a crash leaves no partial item (the next opening of the file deletes
// its chunks).
//
// A file imported before (the same bytes of age file: its SHA-256 is the
// fingerprint) is refused with *IntakeImportedError (found at the last
// commit; what was written is deleted); one for
// no compartment of this vault with an error wrapping
// ErrIntakeNotForVault; a malformed, truncated or lengthened one with an
// error wrapping ErrIntakeDamaged. Nothing stored is touched by a
// failure. progress, if not nil, is told the bytes stored so far;
// cancelling ctx stops the import.
func (v *Vault) ImportIntake(ctx context.Context, src io.ReadSeeker, progress func(done int64)) ([]IntakeReceipt, error) {
	damaged := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrIntakeDamaged, fmt.Sprintf(format, args...))
	}
	size, err := src.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, err
	}
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	env, err := intake.ParseEnvelope(bufio.NewReaderSize(src, intake.MaxEnvelope))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrIntakeDamaged, err)
	}
	switch total := env.Size + env.Length; {
	case size < total:
		return nil, damaged("it is truncated: %d bytes of the %d its envelope announces", size, total)
	case size > total:
		return nil, damaged("it has %d bytes more than its envelope announces (appended to, or not an intake file)", size-total)
	}
	if _, err := src.Seek(env.Size, io.SeekStart); err != nil {
		return nil, err
	}
	hdr, err := age.ExtractHeader(io.LimitReader(src, min(env.Length, maxIntakeAgeHeader)))
	if err != nil {
		return nil, damaged("what follows the envelope is not an age file with a well-formed header")
	}
	probe := &stanzaProbe{}
	var noMatch *age.NoIdentityMatchError
	if _, err := age.DecryptHeader(hdr, probe); !errors.As(err, &noMatch) {
		return nil, damaged("its age header does not parse")
	}
	if err := intake.CheckStanzas(env, probe.stanzas); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrIntakeDamaged, err)
	}

	// The compartments it is for.
	ids, err := v.CompartmentIDs()
	if err != nil {
		return nil, err
	}
	type target struct {
		cid CompartmentID
		db  *bolt.DB
		to  *age.X25519Recipient
	}
	var targets []target
	var unreadable []string
	for _, cid := range ids {
		db, err := v.compartmentDB(cid)
		if err != nil {
			unreadable = append(unreadable, cid.String())
			continue
		}
		var r []byte
		db.View(func(tx *bolt.Tx) error {
			r = get(tx.Bucket(bMeta), kCompRecipient)
			return nil
		})
		if env.Has(string(r)) {
			to, err := age.ParseX25519Recipient(string(r))
			if err != nil {
				continue
			}
			targets = append(targets, target{cid, db, to})
		}
	}
	if len(targets) == 0 {
		var also string
		if len(unreadable) > 0 {
			also = fmt.Sprintf("; the files of compartments %s could not be read", strings.Join(unreadable, ", "))
		}
		return nil, fmt.Errorf("%w: it is sealed to %s, the recipient of none of them (sealed for another vault, or to a recipient a revocation has since replaced: ask the sender to seal it again to what \"valv recipient COMPARTMENT\" prints now)%s",
			ErrIntakeNotForVault, strings.Join(env.Recipients(), ", "), also)
	}

	// The fingerprint is the SHA-256 of the whole age file, not of its
	// header only: a copy altered after the header (which no check
	// without a key can see) must not make the genuine file "already
	// imported". It is known once the file has been read, so a file
	// imported before is found at the last commit (and its chunks
	// deleted): the common case, a new file, is read once.
	var receipts []IntakeReceipt
	var seen error
	for _, t := range targets {
		if _, err := src.Seek(env.Size, io.SeekStart); err != nil {
			return receipts, err
		}
		r, err := v.importIntake(ctx, t.cid, t.db, t.to, io.LimitReader(src, env.Length), env.Length, progress)
		var imported *IntakeImportedError
		if errors.As(err, &imported) {
			seen = err
			continue
		}
		if err != nil {
			return receipts, err
		}
		receipts = append(receipts, r)
	}
	if len(receipts) == 0 {
		return nil, seen
	}
	return receipts, nil
}

// importIntake streams one age file into a compartment's intake.
func (v *Vault) importIntake(ctx context.Context, cid CompartmentID, db *bolt.DB, to *age.X25519Recipient, r io.Reader, length int64, progress func(int64)) (IntakeReceipt, error) {
	id := newID()
	w := &chunkWriter{ctx: ctx, db: db, id: id, bucket: bIntakeChunks}
	buf := make([]byte, 256<<10)
	sum := sha256.New()
	var done int64
	for {
		if err := ctx.Err(); err != nil {
			abortIntake(w)
			return IntakeReceipt{}, err
		}
		n, rerr := r.Read(buf)
		if n > 0 {
			// Hash beside the write (both only read buf): SHA-256 would
			// otherwise add a third to an import's time.
			hashed := make(chan struct{})
			go func(p []byte) { sum.Write(p); close(hashed) }(buf[:n])
			_, err := w.Write(buf[:n])
			<-hashed
			if err != nil {
				abortIntake(w)
				return IntakeReceipt{}, err
			}
			done += int64(n)
			if progress != nil {
				progress(done)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			abortIntake(w)
			return IntakeReceipt{}, fmt.Errorf("store: reading the intake file: %w", rerr)
		}
	}
	if done != length {
		abortIntake(w)
		return IntakeReceipt{}, fmt.Errorf("%w: it changed while it was imported; import it again", ErrIntakeDamaged)
	}
	seenKey := sum.Sum(nil)
	w.close()
	now := v.now()
	rec := intakeRecord{Item: id, Received: now.UTC(), Length: length}
	err := w.commit(func(tx *bolt.Tx, chunks uint64) error {
		rec.Chunks = chunks
		seen, err := tx.CreateBucketIfNotExists(bIntakeSeen)
		if err != nil {
			return err
		}
		if item := seen.Get(seenKey); item != nil {
			var prev IntakeID
			copy(prev[:], item)
			return &IntakeImportedError{Item: prev, Compartment: cid}
		}
		if err := seen.Put(seenKey, id[:]); err != nil {
			return err
		}
		p, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		sealed, err := ageSeal(to, p)
		if err != nil {
			return err
		}
		items, err := tx.CreateBucketIfNotExists(bIntake)
		if err != nil {
			return err
		}
		if err := items.Put(id[:], sealed); err != nil {
			return err
		}
		e := Entry{Time: now, Holder: IntakeHolder, Action: ActionIntakeImport, Object: id.String(), Count: length}
		return addIntakePending(tx, to, e)
	})
	if err != nil {
		abortIntake(w)
		return IntakeReceipt{}, err
	}
	return IntakeReceipt{Item: id, Compartment: cid, Length: length}, nil
}

// abortIntake deletes the chunks an interrupted import committed (best
// effort: the sweep at the next opening deletes what is left).
func abortIntake(w *chunkWriter) {
	w.spare, w.ready, w.chunk = nil, nil, nil
	if w.queued == 0 {
		return
	}
	_ = w.db.Update(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bIntake); b != nil && b.Get(w.id[:]) != nil {
			return nil // committed after all
		}
		return deleteChunksIn(tx, bIntakeChunks, w.id)
	})
}

// ageSeal encrypts p to a recipient, as one small age file.
func ageSeal(to age.Recipient, p []byte) ([]byte, error) {
	var out bytes.Buffer
	w, err := age.Encrypt(&out, to)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(p); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// ageOpen decrypts a small age file of at most max bytes of plaintext.
func ageOpen(id age.Identity, v []byte, max int64) ([]byte, error) {
	r, err := age.Decrypt(bytes.NewReader(v), id)
	if err != nil {
		return nil, err
	}
	p, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(p)) > max {
		return nil, errors.New("too long")
	}
	return p, nil
}

// addIntakePending stores an intake-import entry for the compartment's
// log, encrypted to its recipient; the next unlock chains it.
func addIntakePending(tx *bolt.Tx, to age.Recipient, e Entry) error {
	if err := checkObject(e.Object); err != nil {
		return err
	}
	e.Time = e.Time.UTC()
	p, err := json.Marshal(e)
	if err != nil {
		return err
	}
	v, err := ageSeal(to, p)
	if err != nil {
		return err
	}
	b, err := tx.CreateBucketIfNotExists(bIntakeAudit)
	if err != nil {
		return err
	}
	id := newID()
	return b.Put(id[:], v)
}

// checkIntakePending accepts only what ImportIntake writes: an
// intake-import entry whose object is an item id. Anyone can encrypt to
// the public recipient, so anything else is forged. The holder is always
// IntakeHolder, whatever the entry says.
func checkIntakePending(e *Entry) error {
	if e.Action != ActionIntakeImport {
		return fmt.Errorf("store: a pending %q entry cannot have been written by an intake import", e.Action)
	}
	if _, err := ParseID(e.Object); err != nil || e.Object == "recovery" {
		return errors.New("store: a pending intake-import entry without an item id")
	}
	e.Holder = IntakeHolder
	return nil
}

// drainIntakePending decrypts a compartment's pending intake-import
// entries, deletes them and returns them in time order, for the unlock
// entry's transaction. One that does not decrypt or check becomes a
// pending-damaged entry.
func drainIntakePending(tx *bolt.Tx, id age.Identity, now time.Time) ([]Entry, error) {
	b := tx.Bucket(bIntakeAudit)
	if b == nil {
		return nil, nil
	}
	var entries []Entry
	var keys [][]byte
	err := b.ForEach(func(k, v []byte) error {
		keys = append(keys, slices.Clone(k))
		entries = append(entries, openIntakePending(id, v, now))
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return nil, err
		}
	}
	slices.SortStableFunc(entries, func(a, b Entry) int { return a.Time.Compare(b.Time) })
	return entries, nil
}

// openIntakePending decrypts and checks a pending intake-import entry;
// one that does not decrypt or check becomes a pending-damaged entry.
// Nobody vouches for its clock: a time after now becomes now.
func openIntakePending(id age.Identity, v []byte, now time.Time) Entry {
	var e Entry
	p, err := ageOpen(id, v, 4096)
	if err == nil {
		err = json.Unmarshal(p, &e)
	}
	if err == nil {
		err = checkIntakePending(&e)
	}
	if err != nil {
		e = Entry{Time: now, Holder: IntakeHolder, Action: ActionPendingDamaged}
	}
	if e.Time.After(now) {
		e.Time = now
	}
	e.Seq = 0
	return e
}

// sweepIntake deletes the chunks of intake items that have no record:
// what an import interrupted by a crash, or a filing or discard
// interrupted after its commit, left behind. It runs when a compartment
// file is opened (openHooks), needs no key, and writes only if there is
// something to delete.
func sweepIntake(db *bolt.DB) error { return sweepChunks(db, bIntakeChunks, bIntake) }

func init() {
	openHooks[kindCompartment] = append(openHooks[kindCompartment], sweepIntake)
}
