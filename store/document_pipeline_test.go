package store

import (
	"bytes"
	"context"
	"errors"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// failWriter fails after n bytes.
type failWriter struct{ n int }

var errDiskFull = errors.New("no space left on the USB stick")

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		return 0, errDiskFull
	}
	w.n -= len(p)
	return len(p), nil
}

// TestDocumentExportStops: the export pipeline returns the destination's
// own error (not ErrDocumentDamaged) and stops on cancellation, with its
// goroutines done (the race detector and the vault's Close would see
// them otherwise).
func TestDocumentExportStops(t *testing.T) {
	f := newDocFixture(t)
	data := randomBytes(11, 5<<20+123)
	id := f.add(t, "a.bin", data, DocumentOptions{})

	_, err := f.s.ExportDocument(context.Background(), id, &failWriter{2 << 20}, nil, DocumentOptions{})
	if !errors.Is(err, errDiskFull) || errors.Is(err, ErrDocumentDamaged) {
		t.Errorf("failing writer: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	_, err = f.s.ExportDocument(ctx, id, &out, func(done int64) {
		if done >= 1<<20 {
			cancel()
		}
	}, DocumentOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if out.Len() >= len(data) {
		t.Errorf("cancelled export wrote all %d bytes", out.Len())
	}
	got, _, err := f.export(f.s, id, DocumentOptions{})
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("export after the stops: %v", err)
	}
	mustNoErr(t, f.s.Lock())
	mustNoErr(t, f.tv.v.Close())
}

// TestDocumentUnevenChunks: a chunk of another length than chunk 0 (but
// the last) is damage, as is a document whose metadata counts chunks
// that its length does not need.
func TestDocumentUnevenChunks(t *testing.T) {
	docKnobs(t, 64<<10, 256<<10)
	f := newDocFixture(t)
	data := randomBytes(12, 330<<10) // 6 chunks
	id := f.add(t, "a.pdf", data, DocumentOptions{})
	db, err := f.tv.v.compartmentDB(f.cid)
	mustNoErr(t, err)
	var saved []byte
	mustNoErr(t, db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bDocChunks)
		saved = bytes.Clone(b.Get(chunkKey(id, 2)))
		return b.Put(chunkKey(id, 2), saved[:len(saved)-1])
	}))
	if _, _, err := f.export(f.s, id, DocumentOptions{}); !errors.Is(err, ErrDocumentDamaged) {
		t.Errorf("short chunk: %v", err)
	}
	mustNoErr(t, db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bDocChunks).Put(chunkKey(id, 2), saved)
	}))
	got, _, err := f.export(f.s, id, DocumentOptions{})
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("restored: %v", err)
	}
	// Documents written with other chunk lengths (as older versions did,
	// up to 1 MiB) read the same.
	docKnobs(t, 1<<20, 4<<20)
	big := randomBytes(13, 3<<20)
	id = f.add(t, "b.pdf", big, DocumentOptions{})
	docKnobs(t, 4<<10, 16<<10)
	if got, _, err := f.export(f.s, id, DocumentOptions{}); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("1 MiB chunks: %v", err)
	}
}
