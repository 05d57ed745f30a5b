package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"filippo.io/age"
	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/store/intake"
)

// BenchmarkIntake seals a 256 MiB file (to a file on disk, as valv intake
// seal does), imports it without a key (every transaction fsynced) and
// files it as a document (decrypt, re-encrypt, fsynced). peak-MiB is the
// process's peak RSS during the operation (VmHWM, reset before): it
// should not grow with the file.
func BenchmarkIntake(b *testing.B) {
	f := newDocFixture(b)
	to := mustRecipient(b, recipientOf(b, f.tv.v, f.cid))
	block := randomBytes(1, 1<<20)
	path := filepath.Join(b.TempDir(), "bench.valvin")
	seal := func() {
		out, err := os.Create(path)
		mustNoErr(b, err)
		defer out.Close()
		h := &intake.Header{Name: "bench.bin", MediaType: "application/octet-stream", Size: benchDocSize, Sealed: sealedAt}
		mustNoErr(b, intake.Seal(out, []*age.X25519Recipient{to}, h, &repeatReader{block: block, n: benchDocSize}, nil))
		mustNoErr(b, out.Sync())
	}
	importIt := func() IntakeID {
		if _, err := os.Stat(path); err != nil {
			seal()
		}
		in, err := os.Open(path)
		mustNoErr(b, err)
		defer in.Close()
		rs, err := f.tv.v.ImportIntake(context.Background(), in, nil)
		mustNoErr(b, err)
		return rs[0].Item
	}
	forget := func() { // the same file again: drop its fingerprint
		db, err := f.tv.v.compartmentDB(f.cid)
		mustNoErr(b, err)
		mustNoErr(b, db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bIntakeSeen) }))
	}
	b.Run("Seal256MiB", func(b *testing.B) {
		b.SetBytes(benchDocSize)
		resetPeakRSS()
		for b.Loop() {
			seal()
		}
		b.ReportMetric(peakRSS(), "peak-MiB")
	})
	b.Run("Import256MiB", func(b *testing.B) {
		b.SetBytes(benchDocSize)
		resetPeakRSS()
		for i := 0; i < b.N; i++ {
			importIt()
			b.StopTimer()
			forget()
			b.StartTimer()
		}
		b.ReportMetric(peakRSS(), "peak-MiB")
	})
	b.Run("File256MiB", func(b *testing.B) {
		b.SetBytes(benchDocSize)
		q, err := f.s.IntakeQueue()
		mustNoErr(b, err)
		resetPeakRSS()
		for i := 0; i < b.N; i++ {
			var item IntakeID
			if len(q) > 0 {
				item, q = q[0].ID, q[1:]
			} else {
				b.StopTimer()
				item = importIt()
				forget()
				b.StartTimer()
			}
			_, err := f.s.FileIntake(context.Background(), item, f.code, nil)
			mustNoErr(b, err)
		}
		b.ReportMetric(peakRSS(), "peak-MiB")
	})
}
