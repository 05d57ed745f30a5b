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
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/valv-vault/valv/store/customer"
	"github.com/valv-vault/valv/store/directio"
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

// BenchmarkDocument1GiB adds the file as a document (Add) and exports
// the document it added to a file (Export), each in a child process per
// iteration, on a vault that this process makes first. ns/op and MB/s
// are the child's time for the operation alone (opening and unlocking
// the vault come before, untimed); peak-MiB is the child's peak RSS
// during the operation, cpu-s/op its user and system time (on a busy
// machine, what the operation costs is clearer from this than from its
// wall time).
func BenchmarkDocument1GiB(b *testing.B) {
	plain := os.Getenv(benchPlainEnv)
	if plain == "" {
		plain = filepath.Join(b.TempDir(), "plain")
		writeRandomFile(b, plain, benchDocSize)
	}
	st, err := os.Stat(plain)
	mustNoErr(b, err)
	f := newDocFixture(b)
	mustNoErr(b, f.s.Lock())
	mustNoErr(b, f.tv.v.Close())
	env := []string{
		benchPlainEnv + "=" + plain,
		benchVaultEnv + "=" + f.tv.dir,
		benchKeyEnv + "=" + f.tv.recovery.String(),
		benchCodeEnv + "=" + string(f.code),
	}
	var id string
	for _, op := range []string{"add", "export"} {
		b.Run(strings.ToUpper(op[:1])+op[1:], func(b *testing.B) {
			if op == "export" && id == "" {
				b.Skip("no document was added")
			}
			var total, cpu time.Duration
			var peak float64
			for b.Loop() {
				// Whatever the operation reads comes from the page cache,
				// as the age CLI's input does in bench/age-cli-baseline.sh
				// (which reads it just before): the machine may have
				// evicted it since it was written.
				if op == "add" {
					warmFiles(b, plain)
				} else {
					warmFiles(b, vaultFiles(b, f.tv.dir)...)
				}
				r := runDocBenchChild(b, op, append(env, benchDocEnv+"="+id))
				total += r.d
				cpu += r.cpu
				peak = max(peak, r.peak)
				if op == "add" {
					id = r.id
				}
			}
			n := float64(b.N)
			b.ReportMetric(float64(total.Nanoseconds())/n, "ns/op")
			b.ReportMetric(float64(st.Size())*n/total.Seconds()/1e6, "MB/s")
			b.ReportMetric(peak, "peak-MiB")
			b.ReportMetric(cpu.Seconds()/n, "cpu-s/op")
			b.ReportMetric(0, "B/op") // of this process, not the child's
			b.ReportMetric(0, "allocs/op")
		})
	}
}

// The child's environment, besides benchDocChildEnv and benchPlainEnv.
const (
	benchVaultEnv = "VALV_BENCH_VAULT" // the vault folder
	benchKeyEnv   = "VALV_BENCH_KEY"   // its recovery identity
	benchCodeEnv  = "VALV_BENCH_CODE"  // the customer
	benchDocEnv   = "VALV_BENCH_DOC"   // the document to export
	// If set, the child writes a CPU profile of its operation to this
	// path with ".add" or ".export" appended (go tool pprof reads it).
	benchProfileEnv = "VALV_BENCH_CPUPROFILE"
	// The same for an execution trace (go tool trace): where each of the
	// pipeline's goroutines waited, and for what.
	benchTraceEnv = "VALV_BENCH_TRACE"
)

// warmFiles reads files whole, into the page cache.
func warmFiles(t testing.TB, paths ...string) {
	for _, p := range paths {
		f, err := os.Open(p)
		mustNoErr(t, err)
		_, err = io.Copy(io.Discard, f)
		f.Close()
		mustNoErr(t, err)
	}
}

// vaultFiles lists the files of a vault folder.
func vaultFiles(t testing.TB, dir string) []string {
	ents, err := os.ReadDir(dir)
	mustNoErr(t, err)
	var out []string
	for _, e := range ents {
		if e.Type().IsRegular() {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out
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

type benchResult struct {
	d    time.Duration
	cpu  time.Duration // user and system
	peak float64       // MiB
	id   string        // the document added
}

// runDocBenchChild runs one operation in a child process.
func runDocBenchChild(b *testing.B, op string, env []string) benchResult {
	cmd := exec.Command(os.Args[0], "-test.run=^TestDocumentBenchChild$", "-test.count=1", "-test.v")
	cmd.Env = append(append(os.Environ(), benchDocChildEnv+"="+op), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s child: %v\n%s", op, err, out.Bytes())
	}
	for line := range strings.SplitSeq(out.String(), "\n") {
		var r benchResult
		var ns, cpu int64
		if _, err := fmt.Sscanf(strings.TrimSpace(line), "RESULT %d %f %d %s", &ns, &r.peak, &cpu, &r.id); err == nil {
			r.d, r.cpu = time.Duration(ns), time.Duration(cpu)
			return r
		}
	}
	b.Fatalf("%s child printed no result:\n%s", op, out.Bytes())
	return benchResult{}
}

// TestDocumentBenchChild is the child of BenchmarkDocument1GiB: it opens
// and unlocks the vault, then adds the file, or exports the document to
// a file next to the vault, and prints "RESULT <ns> <peak MiB> <document
// id>" for that operation.
func TestDocumentBenchChild(t *testing.T) {
	op := os.Getenv(benchDocChildEnv)
	if op == "" {
		t.Skip("the child of BenchmarkDocument1GiB")
	}
	directio.SetProcessors() // as cmd/valv does
	key, err := age.ParseX25519Identity(os.Getenv(benchKeyEnv))
	mustNoErr(t, err)
	v, err := Open(os.Getenv(benchVaultEnv))
	mustNoErr(t, err)
	defer v.Close()
	s, err := v.Unlock(key, nil)
	mustNoErr(t, err)
	defer s.Lock()
	var id DocumentID
	var in, out *os.File
	switch op {
	case "add":
		in, err = os.Open(os.Getenv(benchPlainEnv))
		mustNoErr(t, err)
		defer in.Close()
	case "export":
		id, err = ParseID(os.Getenv(benchDocEnv))
		mustNoErr(t, err)
		out, err = os.Create(filepath.Join(t.TempDir(), "exported"))
		mustNoErr(t, err)
		defer out.Close()
	default:
		t.Fatalf("unknown operation %q", op)
	}
	if err := resetPeakRSS(); err != nil {
		t.Logf("peak RSS not reset (%v): it covers the whole child", err)
	}
	if path := os.Getenv(benchProfileEnv); path != "" {
		pf, err := os.Create(path + "." + op)
		mustNoErr(t, err)
		mustNoErr(t, pprof.StartCPUProfile(pf))
		defer pf.Close()
	}
	if path := os.Getenv(benchTraceEnv); path != "" {
		tf, err := os.Create(path + "." + op)
		mustNoErr(t, err)
		mustNoErr(t, trace.Start(tf))
		defer func() { trace.Stop(); tf.Close() }()
	}
	cpu0 := cpuTime()
	start := time.Now()
	if op == "add" {
		id, err = s.AddDocument(context.Background(), customer.Code(os.Getenv(benchCodeEnv)), "bench.bin", "application/octet-stream", in, nil, DocumentOptions{})
	} else {
		_, err = s.ExportDocument(context.Background(), id, out, nil, DocumentOptions{})
	}
	d := time.Since(start)
	cpu := cpuTime() - cpu0
	pprof.StopCPUProfile()
	mustNoErr(t, err)
	fmt.Printf("RESULT %d %.1f %d %s\n", d.Nanoseconds(), peakRSS(), cpu.Nanoseconds(), id)
}

// cpuTime is the process's user and system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
