package backup

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/valv-vault/valv/store"
)

// benchVault makes a vault of about mib MiB: a compartment with 1000
// customers and 64 MiB documents of random bytes.
func benchVault(b *testing.B, mib int) *fixture {
	b.Helper()
	f := newFixture(b, 1, 1000, 0, 0)
	s := f.unlock(b)
	codes, _, err := s.ListCustomers(f.comps[0], 0, 10)
	must(b, err)
	doc := make([]byte, 64<<20)
	for i := 0; i < mib/64; i++ {
		for j := 0; j < len(doc); j += 4096 {
			copy(doc[j:], strconv.Itoa(i*len(doc)+j)) // distinct, incompressible enough for age
		}
		_, err := s.AddDocument(context.Background(), codes[i%len(codes)], fmt.Sprintf("d%d.bin", i), "application/octet-stream",
			bytes.NewReader(doc), nil, store.DocumentOptions{})
		must(b, err)
	}
	must(b, s.Lock())
	return f
}

// settle gives each measured copy the same start: nothing of earlier
// writes left to write back (sync), and the vault files read into the
// page cache, so that no copy pays for reading what another left cached.
func settle(b *testing.B, files []string) {
	syscall.Sync()
	for _, p := range files {
		f, err := os.Open(p)
		must(b, err)
		_, err = io.Copy(io.Discard, f)
		f.Close()
		must(b, err)
	}
}

// BenchmarkBackup1GiB writes a backup of a 1 GiB vault to another folder,
// with the read-back verification, and in the same run copies the same
// files with cp + sync, and encrypts them with the stock age CLI (tar |
// age, then sync). Metrics: seconds of each; write/cp is the ratio of
// the backup's write phase (snapshot, encrypt, write, fsync) to cp +
// sync throughput; the goal is at least 0.9. Each copy starts with the
// vault files in the page cache (see settle). VALV_BENCH_MIB sets
// another size.
func BenchmarkBackup1GiB(b *testing.B) {
	mib := 1024
	if s := os.Getenv("VALV_BENCH_MIB"); s != "" {
		mib, _ = strconv.Atoi(s)
	}
	f := benchVault(b, mib)
	var vaultBytes int64
	ents, _ := os.ReadDir(f.dir)
	var files []string
	for _, e := range ents {
		fi, _ := e.Info()
		vaultBytes += fi.Size()
		files = append(files, filepath.Join(f.dir, e.Name()))
	}
	key := filepath.Join(b.TempDir(), "recovery.txt")
	writeRecovery(b, f, key)
	var writeT, verifyT, cpT, ageT time.Duration
	var snapBytes int64
	n := 0
	for b.Loop() {
		n++
		out := b.TempDir()
		s := f.unlock(b)
		settle(b, files)
		start := time.Now()
		var verifyStart time.Time
		res, err := Write(s, out, Options{App: "bench", Progress: func(p Progress) {
			if p.Phase == "verify" && verifyStart.IsZero() {
				verifyStart = time.Now()
			}
		}})
		must(b, err)
		end := time.Now()
		writeT += verifyStart.Sub(start)
		verifyT += end.Sub(verifyStart)
		snapBytes = 0
		for _, mf := range res.Manifest.Files {
			snapBytes += mf.Size
		}
		must(b, s.Lock())
		os.Remove(res.Path)

		b.StopTimer()
		cpOut := b.TempDir()
		settle(b, files)
		t0 := time.Now()
		args := append(append([]string{}, files...), cpOut)
		if o, err := exec.Command("cp", args...).CombinedOutput(); err != nil {
			b.Fatalf("cp: %v %s", err, o)
		}
		if o, err := exec.Command("sync", "-f", cpOut).CombinedOutput(); err != nil {
			b.Fatalf("sync: %v %s", err, o)
		}
		cpT += time.Since(t0)
		os.RemoveAll(cpOut)
		if agePath, err := exec.LookPath("age"); err == nil {
			encOut := filepath.Join(b.TempDir(), "x.age")
			settle(b, files)
			t0 = time.Now()
			cmd := exec.Command("sh", "-c", `tar -c -C "$1" . | "$2" -e -r "$3" -o "$4" && sync "$4"`, "sh", f.dir, agePath, f.recovery.Recipient().String(), encOut)
			if o, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("tar | age: %v %s", err, o)
			}
			ageT += time.Since(t0)
			os.Remove(encOut)
		}
		b.StartTimer()
	}
	sec := func(d time.Duration) float64 { return d.Seconds() / float64(n) }
	b.ReportMetric(float64(snapBytes)/(1<<20), "MiB")
	b.ReportMetric(sec(writeT), "write-s")
	b.ReportMetric(sec(verifyT), "verify-s")
	b.ReportMetric(sec(cpT), "cp+sync-s")
	if ageT > 0 {
		b.ReportMetric(sec(ageT), "age-cli-s")
	}
	// Throughput ratio: bytes the backup snapshot streamed per second of
	// its write phase, over the vault's bytes copied per second by cp.
	b.ReportMetric((float64(snapBytes)/writeT.Seconds())/(float64(vaultBytes)/cpT.Seconds()), "write/cp")
}
