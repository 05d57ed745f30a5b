package store

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The document benchmarks of issue #4: add a 1 GiB file from disk (every
// transaction fsynced) and export it to a file on the same disk; compare
// with the age CLI encrypting the same file to disk (and syncing it) and
// decrypting it, in the same run: bench/age-cli-baseline.sh runs both
// and prints the ratios. Targets: add ≥ 1.0× age -e with a peak RSS of
// at most 128 MiB, export ≥ 1.3× age -d.
//
// Each operation runs in a child process of its own (the test binary
// again, TestDocumentBenchChild), so that its peak RSS (VmHWM, reset
// just before the operation) is of that operation alone, not of the
// benchmarks that ran before in this process.
//
// The content is the file named by $VALV_BENCH_PLAIN (the age baseline's
// file) or, without it, 1 GiB of random bytes made in the benchmark's
// temporary folder. The vault and the export go to the temporary folder
// ($TMPDIR): the baseline script points it at the folder of its age
// output. These benchmarks take minutes; scripts/bench runs them through
// bench/age-cli-baseline.sh only, and make test runs no benchmark.

const (
	benchDocSize     = 1 << 30
	benchPlainEnv    = "VALV_BENCH_PLAIN"
	benchDocChildEnv = "VALV_DOC_BENCH_CHILD" // "add" or "export"
)

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
func resetPeakRSS() error { return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

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

// BenchmarkDocument1GiB adds the file as a document (Add) and exports it
// to a file (Export), each in a child process per iteration. ns/op and
// MB/s are the child's time for the operation alone (the vault is made
// before, and the export's document added before, untimed); peak-MiB is
// the child's peak RSS during the operation.
func BenchmarkDocument1GiB(b *testing.B) {
	plain := os.Getenv(benchPlainEnv)
	if plain == "" {
		plain = filepath.Join(b.TempDir(), "plain")
		writeRandomFile(b, plain, benchDocSize)
	}
	st, err := os.Stat(plain)
	mustNoErr(b, err)
	for _, op := range []string{"add", "export"} {
		b.Run(strings.ToUpper(op[:1])+op[1:], func(b *testing.B) {
			var total time.Duration
			var peak float64
			for b.Loop() {
				d, p := runDocBenchChild(b, op, plain)
				total += d
				peak = max(peak, p)
			}
			n := float64(b.N)
			b.ReportMetric(float64(total.Nanoseconds())/n, "ns/op")
			b.ReportMetric(float64(st.Size())*n/total.Seconds()/1e6, "MB/s")
			b.ReportMetric(peak, "peak-MiB")
			b.ReportMetric(0, "B/op") // of this process, not the child's
			b.ReportMetric(0, "allocs/op")
		})
	}
}

func writeRandomFile(t testing.TB, path string, size int64) {
	f, err := os.Create(path)
	mustNoErr(t, err)
	w := bufio.NewWriterSize(f, 1<<20)
	_, err = io.Copy(w, &repeatReader{block: randomBytes(1, 64<<20), n: size})
	mustNoErr(t, err)
	mustNoErr(t, w.Flush())
	mustNoErr(t, f.Close())
}

// runDocBenchChild runs one operation in a child process and returns its
// duration and peak RSS in MiB.
func runDocBenchChild(b *testing.B, op, plain string) (time.Duration, float64) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestDocumentBenchChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), benchDocChildEnv+"="+op, benchPlainEnv+"="+plain)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s child: %v\n%s", op, err, out.Bytes())
	}
	for line := range strings.SplitSeq(out.String(), "\n") {
		var ns int64
		var peak float64
		if _, err := fmt.Sscanf(strings.TrimSpace(line), "RESULT %d %f", &ns, &peak); err == nil {
			return time.Duration(ns), peak
		}
	}
	b.Fatalf("%s child printed no result:\n%s", op, out.Bytes())
	return 0, 0
}

// TestDocumentBenchChild is the child of BenchmarkDocument1GiB: it makes
// a vault in a temporary folder, then adds the file (or, for export,
// adds it untimed and exports it to a file next to the vault), and
// prints "RESULT <ns> <peak MiB>" for that operation.
func TestDocumentBenchChild(t *testing.T) {
	op := os.Getenv(benchDocChildEnv)
	if op == "" {
		t.Skip("the child of BenchmarkDocument1GiB")
	}
	f := newDocFixture(t)
	add := func() DocumentID {
		in, err := os.Open(os.Getenv(benchPlainEnv))
		mustNoErr(t, err)
		defer in.Close()
		id, err := f.s.AddDocument(context.Background(), f.code, "bench.bin", "application/octet-stream", in, nil, DocumentOptions{})
		mustNoErr(t, err)
		return id
	}
	var id DocumentID
	if op == "export" {
		id = add()
	}
	out, err := os.Create(filepath.Join(t.TempDir(), "exported"))
	mustNoErr(t, err)
	defer out.Close()
	if err := resetPeakRSS(); err != nil {
		t.Logf("peak RSS not reset (%v): it covers the whole child", err)
	}
	start := time.Now()
	switch op {
	case "add":
		add()
	case "export":
		_, err := f.s.ExportDocument(context.Background(), id, out, nil, DocumentOptions{})
		mustNoErr(t, err)
	default:
		t.Fatalf("unknown operation %q", op)
	}
	d := time.Since(start)
	fmt.Printf("RESULT %d %.1f\n", d.Nanoseconds(), peakRSS())
}
