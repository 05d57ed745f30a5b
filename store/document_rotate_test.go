package store

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/crypto/compartmentkey"
)

// TestDocumentReencrypt: rotation's helper carries documents over to a
// new key (protected ones keep their passphrase), leaves a damaged one
// behind, and deleting a customer's documents leaves no chunk.
func TestDocumentReencrypt(t *testing.T) {
	docKnobs(t, 16<<10, 64<<10)
	f := newDocFixture(t)
	plain := randomBytes(1, 100<<10)
	prot := randomBytes(2, 70<<10)
	idPlain := f.add(t, "a.pdf", plain, DocumentOptions{})
	idProt := f.add(t, "b.pdf", prot, DocumentOptions{Passphrase: "hemlig fras 42"})
	idBad := f.add(t, "c.pdf", plain, DocumentOptions{})
	c := f.s.comps[f.cid]
	db, err := f.tv.v.compartmentDB(f.cid)
	mustNoErr(t, err)
	mustNoErr(t, db.Update(func(tx *bolt.Tx) error {
		v := bytes.Clone(tx.Bucket(bDocChunks).Get(chunkKey(idBad, 3)))
		v[100] ^= 1
		return tx.Bucket(bDocChunks).Put(chunkKey(idBad, 3), v)
	}))

	newKey, err := compartmentkey.Rotate(c.key)
	mustNoErr(t, err)
	nkr, err := newKey.Keyring()
	mustNoErr(t, err)
	ndb, err := bolt.Open(filepath.Join(t.TempDir(), "new.valv"), 0o600, nil)
	mustNoErr(t, err)
	defer ndb.Close()
	var dropped, ticks int
	mustNoErr(t, db.View(func(otx *bolt.Tx) (err error) {
		dropped, err = reencryptDocuments(context.Background(), otx, ndb, c.kr, c.key.Identity(), nkr, newKey.Recipient(), func(n int) { ticks += n })
		return err
	}))
	if dropped != 1 || ticks != 2 {
		t.Fatalf("dropped %d, carried %d", dropped, ticks)
	}
	if n := chunkCount(t, ndb); n == 0 {
		t.Fatal("no chunks carried over")
	}
	for _, d := range []struct {
		id   DocumentID
		data []byte
		pass string
	}{{idPlain, plain, ""}, {idProt, prot, "hemlig fras 42"}} {
		var m *docMeta
		mustNoErr(t, ndb.View(func(tx *bolt.Tx) error {
			v := tx.Bucket(bDocuments).Get(d.id[:])
			if _, _, err := openDocRecord(c.kr, d.id, v); err == nil {
				t.Error("the new record opens under the old key")
			}
			_, m, err = openDocRecord(nkr, d.id, v)
			return err
		}))
		rd := &chunkReader{db: ndb, id: d.id, want: m.chunks}
		_, err := openDocumentStream(rd, c.key.Identity(), m.Protected, d.pass)
		rd.release()
		if err == nil {
			t.Error("the new chunks open with the old key")
		}
		rd = &chunkReader{db: ndb, id: d.id, want: m.chunks}
		defer rd.release()
		r, err := openDocumentStream(rd, newKey.Identity(), m.Protected, d.pass)
		mustNoErr(t, err)
		got, err := io.ReadAll(r)
		mustNoErr(t, err)
		if !bytes.Equal(got, d.data) || m.Size != int64(len(d.data)) {
			t.Errorf("document %s: content differs after re-encryption", d.id)
		}
	}
	mustNoErr(t, ndb.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bDocuments).Get(idBad[:]) != nil {
			t.Error("the damaged document was carried over")
		}
		return nil
	}))

	_, rid, err := f.s.locate(f.code)
	mustNoErr(t, err)
	mustNoErr(t, db.Update(func(tx *bolt.Tx) error {
		n, err := deleteCustomerDocuments(tx, rid)
		if n != 3 {
			t.Errorf("deleted %d documents", n)
		}
		return err
	}))
	if n := chunkCount(t, db); n != 0 {
		t.Errorf("%d chunks left", n)
	}
}

// TestRevokeKeepsDocuments: revoking a key holder rotates the compartment
// key, and every document comes along under the new key; deleting the
// customer takes its documents with it.
func TestRevokeKeepsDocuments(t *testing.T) {
	docKnobs(t, 16<<10, 64<<10)
	f := newDocFixture(t)
	data := randomBytes(7, 90<<10)
	id := f.add(t, "avtal.pdf", data, DocumentOptions{})

	clerk := newTestHolder(t, "Bo Bokförare", RoleHolder)
	hid, err := f.s.Enrol(clerk.info)
	mustNoErr(t, err)
	mustNoErr(t, f.s.Grant(f.cid, hid))
	mustNoErr(t, f.s.Revoke(f.cid, hid, nil))

	got, info, err := f.export(f.s, id, DocumentOptions{})
	if err != nil {
		t.Fatalf("export after revoke: %v", err)
	}
	if !bytes.Equal(got, data) || info.Name != "avtal.pdf" {
		t.Fatalf("document after revoke: %d bytes, name %q", len(got), info.Name)
	}

	mustNoErr(t, f.s.DeleteCustomer(f.code))
	db, err := f.tv.v.compartmentDB(f.cid)
	mustNoErr(t, err)
	if n := chunkCount(t, db); n != 0 {
		t.Errorf("%d chunks left after the customer was deleted", n)
	}
	if _, _, err := f.export(f.s, id, DocumentOptions{}); err == nil {
		t.Error("a deleted customer's document still exports")
	}
}
