package store

import (
	"context"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
)

// benchDocSize is the document of BenchmarkDocument, the size of the age
// CLI baseline (bench/age-cli-baseline.sh).
const benchDocSize = 256 << 20

// repeatReader yields n bytes cycling through a random block.
type repeatReader struct {
	block []byte
	n     int64
	off   int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.n {
		p = p[:r.n]
	}
	k := 0
	for k < len(p) {
		c := copy(p[k:], r.block[r.off:])
		k += c
		r.off = (r.off + c) % len(r.block)
	}
	r.n -= int64(k)
	return k, nil
}

// resetPeakRSS resets VmHWM (Linux: writing 5 to clear_refs).
func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS returns VmHWM in MiB, or -1.
func peakRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err == nil {
				return kb / 1024
			}
		}
	}
	return -1
}

// BenchmarkDocument adds a 256 MiB document (to the vault on disk; every
// transaction is fsynced) and exports it to io.Discard, with the size
// and SHA-256 checked. Compare with bench/age-cli-baseline.sh. peak-MiB
// is the process's peak RSS during the operation (VmHWM, reset before).
func BenchmarkDocument(b *testing.B) {
	f := newDocFixture(b)
	block := randomBytes(1, 1<<20)
	var id DocumentID
	b.Run("Add256MiB", func(b *testing.B) {
		b.SetBytes(benchDocSize)
		resetPeakRSS()
		for b.Loop() {
			var err error
			id, err = f.s.AddDocument(context.Background(), f.code, "bench.bin", "application/octet-stream", &repeatReader{block: block, n: benchDocSize}, nil, DocumentOptions{})
			mustNoErr(b, err)
		}
		b.ReportMetric(peakRSS(), "peak-MiB")
	})
	b.Run("Export256MiB", func(b *testing.B) {
		b.SetBytes(benchDocSize)
		resetPeakRSS()
		for b.Loop() {
			_, err := f.s.ExportDocument(context.Background(), id, io.Discard, nil, DocumentOptions{})
			mustNoErr(b, err)
		}
		b.ReportMetric(peakRSS(), "peak-MiB")
	})
}
