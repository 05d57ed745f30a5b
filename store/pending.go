package store

// Pending entries (docs/security-review-2026-11.md, H2) are audit entries
// that could not be chained when they happened, because the directory
// key was not there: a failed PIN, or an unlock by a key holder who is
// not an admin. They are age-encrypted to the directory key's public
// recipient and chained into the directory log at the next unlock that
// opens the directory key.
//
// Anyone can encrypt to that recipient, so a pending entry is only what
// Valv can vouch for:
//
//   - an unlock is signed by the key holder's card (slot 9C) when the
//     session has its signer, over the vault id, the entry's random id,
//     its time and holder; it is chained as "unlock" only if the
//     signature verifies under the holder's enrolled key and it is not
//     older than the log's last entry (a copy put back after it was
//     chained). Without a signature it is chained as "unlock-unsigned":
//     its holder and time are nobody's word.
//   - a failed PIN cannot be signed (the card refused the PIN). It names
//     the card serial it was tried on, which must be its holder's; its
//     holder and time remain unauthenticated.
//   - anything else, or one that fails a check, is chained as
//     pending-damaged.
//
// The time of an unsigned entry is clamped between the log's last entry
// and now.
//
// What cannot be done without a key: a pending entry (or the intake
// import entries of intake.go) deleted before the next unlock leaves no
// trace. Counting them somewhere needs a key to make the count
// unforgeable, and the writer of a pending entry has none.

import (
	"bytes"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"filippo.io/age"
	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/crypto/seal"
)

// ActionUnlockUnsigned records a pending unlock that carried no
// signature: its holder and time are unauthenticated.
const ActionUnlockUnsigned Action = "unlock-unsigned"

// pendingRecord is the plaintext of a pending entry (JSON): the entry's
// fields, the card serial of a failed PIN, and the holder's signature of
// an unlock.
type pendingRecord struct {
	Entry
	Serial    uint32 `json:"serial,omitempty"`
	Signature []byte `json:"signature,omitempty"`
}

// pendingMessage is what a pending unlock's signature covers:
//
//	valv pending entry v1
//	vault <vault id>
//	id <the entry's key in pending-audit, hex>
//	time <RFC 3339, UTC, nanoseconds>
//	holder <holder id>
//	action <action>
//	count <decimal>
func pendingMessage(vault ID, id []byte, e *Entry) []byte {
	return fmt.Appendf(nil, "valv pending entry v1\nvault %s\nid %x\ntime %s\nholder %s\naction %s\ncount %d\n",
		vault, id, e.Time.UTC().Format(time.RFC3339Nano), e.Holder, e.Action, e.Count)
}

// addPending records e as a pending entry: signed by signer if not nil,
// with the card serial of a failed PIN.
func addPending(tx *bolt.Tx, v *Vault, e Entry, serial uint32, signer crypto.Signer) error {
	if err := checkObject(e.Object); err != nil {
		return err
	}
	e.Time = e.Time.UTC()
	id := newID()
	r := pendingRecord{Entry: e, Serial: serial}
	if signer != nil {
		sig, err := sign(signer, pendingMessage(v.id, id[:], &e))
		if err != nil {
			return fmt.Errorf("store: signing the unlock entry: %w", err)
		}
		r.Signature = sig
	}
	return putPending(tx, v.dirRecipient, id[:], &r)
}

func putPending(tx *bolt.Tx, to *age.X25519Recipient, id []byte, r *pendingRecord) error {
	p, err := json.Marshal(r)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	w, err := age.Encrypt(&out, to)
	if err != nil {
		return err
	}
	w.Write(p)
	if err := w.Close(); err != nil {
		return err
	}
	b, err := tx.CreateBucketIfNotExists(bPending)
	if err != nil {
		return err
	}
	return b.Put(id, out.Bytes())
}

// checkPendingEntry accepts only what Valv itself records without a key:
// a key holder's unlock and a failed PIN, with no object.
func checkPendingEntry(e Entry) error {
	if e.Action != ActionUnlock && e.Action != ActionPINFailed {
		return fmt.Errorf("store: a pending %q entry cannot have been written by Valv", e.Action)
	}
	if e.Object != "" {
		return errors.New("store: a pending entry with an object cannot have been written by Valv")
	}
	return nil
}

// lastEntryTime returns the time of the last entry of the log in tx
// (under kr), or the zero time.
func lastEntryTime(tx *bolt.Tx, kr *seal.Keyring) time.Time {
	h, err := readHead(tx.Bucket(bMeta), kr)
	if err != nil || h.size == 0 {
		return time.Time{}
	}
	v := tx.Bucket(bAudit).Get(u64(h.size - 1))
	if len(v) < seal.LinkSize {
		return time.Time{}
	}
	p, err := kr.Open(nil, seal.Audit, entryRecordID(h.size-1), 0, v[seal.LinkSize:])
	if err != nil {
		return time.Time{}
	}
	e, err := decodeEntry(p)
	if err != nil {
		return time.Time{}
	}
	return e.Time
}

// checkPending turns one decrypted pending record into the entry to
// chain (see the top of this file).
func checkPending(tx *bolt.Tx, vault ID, key []byte, r *pendingRecord, last, now time.Time) (Entry, error) {
	e := r.Entry
	if err := checkPendingEntry(e); err != nil {
		return Entry{}, err
	}
	h, _, err := (&Vault{}).holder(tx, e.Holder)
	if err != nil {
		return Entry{}, errors.New("store: a pending entry names no key holder of this vault")
	}
	clamp := func() {
		if e.Time.Before(last) {
			e.Time = last
		}
		if e.Time.After(now) {
			e.Time = now
		}
	}
	switch {
	case e.Action == ActionPINFailed:
		if r.Serial != h.Serial {
			return Entry{}, errors.New("store: a failed PIN names a card that is not its holder's")
		}
		clamp()
	case r.Signature == nil:
		e.Action = ActionUnlockUnsigned
		clamp()
	case !verifySignature(h.SigningKey, pendingMessage(vault, key, &e), r.Signature):
		return Entry{}, errors.New("store: a pending unlock's signature does not verify")
	case e.Time.Before(last) || e.Time.After(now):
		return Entry{}, errors.New("store: a signed pending unlock is older than the log (put back after it was chained) or dated in the future")
	}
	return e, nil
}

// drainPending decrypts the pending entries, deletes them and returns
// them in time order, checked (checkPending); one that does not decrypt
// or fails a check becomes a pending-damaged entry. kr is the key of the
// directory log they go to.
func drainPending(tx *bolt.Tx, id age.Identity, kr *seal.Keyring, vault ID, now time.Time) ([]Entry, error) {
	b := tx.Bucket(bPending)
	if b == nil {
		return nil, nil
	}
	last := lastEntryTime(tx, kr)
	var entries []Entry
	var keys [][]byte
	err := b.ForEach(func(k, v []byte) error {
		keys = append(keys, append([]byte(nil), k...))
		var r pendingRecord
		var e Entry
		d, err := age.Decrypt(bytes.NewReader(v), id)
		if err == nil {
			var p []byte
			if p, err = io.ReadAll(io.LimitReader(d, 4096)); err == nil {
				err = json.Unmarshal(p, &r)
			}
		}
		if err == nil {
			e, err = checkPending(tx, vault, k, &r, last, now)
		}
		if err != nil {
			e = Entry{Time: now, Action: ActionPendingDamaged}
		}
		entries = append(entries, e)
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
