package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"

	"filippo.io/age"
	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/crypto/seal"
)

// Helpers for the writers of other bucket sets: rotation (Revoke) and
// customer deletion must carry documents over or delete them. They are
// called from those paths' transactions.

// reencryptDocuments copies every document of a compartment from otx
// (sealed under old, age to oldID's recipient) into ndb: the outer age
// layer is decrypted and encrypted again to to, and the metadata is
// re-sealed under nkr, in transactions of docTx bytes with the same
// document ids; each document's record is written in the transaction of
// its last chunks. A protected document's inner layer (its passphrase)
// passes through unchanged. The content of an unprotected document is
// checked against its size and SHA-256; a document that does not open or
// check (it was altered) is left behind and counted in dropped, so that a
// damaged file never blocks a revocation. tick, if not nil, is told of
// each document carried over.
func reencryptDocuments(ctx context.Context, otx *bolt.Tx, ndb *bolt.DB, old *seal.Keyring, oldID age.Identity, nkr *seal.Keyring, to age.Recipient, tick func(int)) (dropped int, err error) {
	docs := otx.Bucket(bDocuments)
	if docs == nil {
		return 0, nil
	}
	type doc struct {
		id  DocumentID
		rid []byte
		m   *docMeta
	}
	var all []doc
	err = docs.ForEach(func(k, v []byte) error {
		if len(k) != len(ID{}) {
			dropped++
			return nil
		}
		var id DocumentID
		copy(id[:], k)
		rid, m, err := openDocRecord(old, id, v)
		if err != nil {
			dropped++
			return nil
		}
		all = append(all, doc{id, rid, m})
		return nil
	})
	if err != nil {
		return dropped, err
	}
	for _, d := range all {
		ok, err := reencryptDocument(ctx, otx, ndb, d.id, d.rid, d.m, oldID, nkr, to)
		if err != nil {
			return dropped, err
		}
		if !ok {
			dropped++
			continue
		}
		if tick != nil {
			tick(1)
		}
	}
	return dropped, nil
}

// reencryptDocument copies one document; ok is false if it does not
// decrypt or check (err is then nil, and nothing of it stays in ndb).
func reencryptDocument(ctx context.Context, otx *bolt.Tx, ndb *bolt.DB, id DocumentID, rid []byte, m *docMeta, oldID age.Identity, nkr *seal.Keyring, to age.Recipient) (ok bool, err error) {
	rd := &chunkReader{id: id, want: m.chunks, fixed: otx}
	plain, err := age.Decrypt(rd, oldID)
	if err != nil {
		return false, nil
	}
	w := &chunkWriter{ctx: ctx, db: ndb, id: id}
	hc := &headerCapture{w: w}
	enc, err := age.Encrypt(hc, to)
	if err != nil {
		return false, err
	}
	h := sha256.New()
	var src io.Reader = plain
	if !m.Protected {
		src = io.TeeReader(plain, h)
	}
	n, cerr := io.Copy(enc, src)
	if cerr == nil {
		cerr = enc.Close()
	}
	if cerr == nil && ctx.Err() != nil {
		cerr = ctx.Err()
	}
	if cerr != nil {
		w.abort()
		if w.err != nil || ctx.Err() != nil {
			return false, cerr
		}
		return false, nil // the old document is damaged
	}
	if rd.read != m.length || !m.Protected && (n != m.Size || !bytes.Equal(h.Sum(nil), m.SHA256[:])) {
		w.abort()
		return false, nil
	}
	w.close()
	nm := *m
	nm.length = w.total
	nm.header, nm.headerBound = hc.sum()
	err = w.commit(func(tx *bolt.Tx, chunks uint64) error {
		nm.chunks = chunks
		docs, err := tx.CreateBucketIfNotExists(bDocuments)
		if err != nil {
			return err
		}
		return docs.Put(id[:], sealDocMeta(nkr, rid, &nm))
	})
	if err != nil {
		w.abort()
		return false, fmt.Errorf("store: re-encrypting document %s: %w", id, err)
	}
	return true, nil
}

// deleteCustomerDocuments deletes the documents (records and chunks) of
// the customer with record id rid, inside tx, and returns how many.
func deleteCustomerDocuments(tx *bolt.Tx, rid []byte) (int, error) {
	docs := tx.Bucket(bDocuments)
	if docs == nil {
		return 0, nil
	}
	var ids []DocumentID
	err := docs.ForEach(func(k, v []byte) error {
		if len(k) == len(ID{}) && len(v) >= len(ID{}) && bytes.Equal(v[:len(ID{})], rid) {
			var id DocumentID
			copy(id[:], k)
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		if err := docs.Delete(id[:]); err != nil {
			return 0, err
		}
		if err := deleteChunks(tx, id); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}
