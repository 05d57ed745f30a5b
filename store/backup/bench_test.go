package backup

import (
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
	"syscall"
	"testing"
	"time"

	"github.com/valv-vault/valv/store"
	"github.com/valv-vault/valv/store/directio"
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

// cpuSelf is the CPU time (user + system) this process has used so far,
// all its threads together.
func cpuSelf() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// A timing is the wall and CPU time of one step.
type timing struct{ wall, cpu time.Duration }

func (t *timing) add(o timing) { t.wall += o.wall; t.cpu += o.cpu }

// runTimed runs a command and returns its wall time and the CPU time of
// it and of every child it waited for (sh's rusage includes tar's and
// age's).
func runTimed(b *testing.B, name string, args ...string) timing {
	t0 := time.Now()
	cmd := exec.Command(name, args...)
	if o, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("%s: %v %s", name, err, o)
	}
	return timing{time.Since(t0), cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
}

// profiles are a CPU profile and an execution trace (go tool pprof, go
// tool trace) of one phase of a round, written where VALV_BENCH_CPUPROFILE
// and VALV_BENCH_TRACE say, with "."+suffix appended: where the reader,
// the encryption and the direct writes spent their time, and waited.
type profiles struct{ prof, tr *os.File }

func startProfiles(b *testing.B, suffix string) profiles {
	var p profiles
	var err error
	if path := os.Getenv("VALV_BENCH_CPUPROFILE"); path != "" {
		p.prof, err = os.Create(path + "." + suffix)
		must(b, err)
		must(b, pprof.StartCPUProfile(p.prof))
	}
	if path := os.Getenv("VALV_BENCH_TRACE"); path != "" {
		p.tr, err = os.Create(path + "." + suffix)
		must(b, err)
		must(b, trace.Start(p.tr))
	}
	return p
}

// stop ends the profiles (once).
func (p *profiles) stop() {
	if p.prof != nil {
		pprof.StopCPUProfile()
		p.prof.Close()
	}
	if p.tr != nil {
		trace.Stop()
		p.tr.Close()
	}
	*p = profiles{}
}

// BenchmarkBackup1GiB writes a backup of a 1 GiB vault to another folder,
// with the read-back verification, and in the same round copies the same
// files with cp + sync, and encrypts them with the stock age CLI (tar |
// age, then sync). Each round prints a line "# backup round" with the
// wall and CPU seconds of each (bench/backup-baseline.sh sums them up);
// the metrics are the means over the rounds: seconds of each, and the
// ratios, as throughput (bytes streamed per second of wall time): write/cp
// is the backup's write phase (snapshot, encrypt, write, fsync) over cp +
// sync (the goal is at least 0.9), all/cp the whole backup (also reading
// it back from the medium) over cp + sync, write/age and all/age the same
// over tar | age. Each copy starts with the vault files in the page cache
// (see settle). VALV_BENCH_MIB sets another size; VALV_BENCH_CPUPROFILE
// and VALV_BENCH_TRACE ask for profiles of each round's write phase
// (".N" appended) and read-back verify (".N.verify").
func BenchmarkBackup1GiB(b *testing.B) {
	directio.SetProcessors() // as cmd/valv does
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
	agePath, _ := exec.LookPath("age")
	var writeT, verifyT, cpT, ageT timing
	var snapBytes int64
	n := 0
	for b.Loop() {
		n++
		out := b.TempDir()
		s := f.unlock(b)
		settle(b, files)
		phase := startProfiles(b, strconv.Itoa(n))
		start, startCPU := time.Now(), cpuSelf()
		var verifyStart time.Time
		var verifyCPU time.Duration
		res, err := Write(s, out, Options{App: "bench", Progress: func(p Progress) {
			if p.Phase == "verify" && verifyStart.IsZero() {
				verifyStart, verifyCPU = time.Now(), cpuSelf()
				phase.stop()
				phase = startProfiles(b, fmt.Sprintf("%d.verify", n))
			}
		}})
		end, endCPU := time.Now(), cpuSelf()
		phase.stop()
		must(b, err)
		w := timing{verifyStart.Sub(start), verifyCPU - startCPU}
		v := timing{end.Sub(verifyStart), endCPU - verifyCPU}
		writeT.add(w)
		verifyT.add(v)
		snapBytes = 0
		for _, mf := range res.Manifest.Files {
			snapBytes += mf.Size
		}
		must(b, s.Lock())
		os.Remove(res.Path)

		b.StopTimer()
		cpOut := b.TempDir()
		settle(b, files)
		c := runTimed(b, "cp", append(append([]string{}, files...), cpOut)...)
		c.add(runTimed(b, "sync", "-f", cpOut))
		cpT.add(c)
		os.RemoveAll(cpOut)
		var a timing
		if agePath != "" {
			encOut := filepath.Join(b.TempDir(), "x.age")
			settle(b, files)
			a = runTimed(b, "sh", "-c", `tar -c -C "$1" . | "$2" -e -r "$3" -o "$4" && sync "$4"`, "sh", f.dir, agePath, f.recovery.Recipient().String(), encOut)
			ageT.add(a)
			os.Remove(encOut)
		}
		fmt.Printf("# backup round %d: %d MiB snapshot, %d MiB files; wall/cpu s: write %.3f %.3f verify %.3f %.3f cp+sync %.3f %.3f tar|age %.3f %.3f\n",
			n, snapBytes>>20, vaultBytes>>20, w.wall.Seconds(), w.cpu.Seconds(), v.wall.Seconds(), v.cpu.Seconds(),
			c.wall.Seconds(), c.cpu.Seconds(), a.wall.Seconds(), a.cpu.Seconds())
		b.StartTimer()
	}
	sec := func(d time.Duration) float64 { return d.Seconds() / float64(n) }
	b.ReportMetric(float64(snapBytes)/(1<<20), "MiB")
	b.ReportMetric(sec(writeT.wall), "write-s")
	b.ReportMetric(sec(writeT.cpu), "write-cpu-s")
	b.ReportMetric(sec(verifyT.wall), "verify-s")
	b.ReportMetric(sec(verifyT.cpu), "verify-cpu-s")
	b.ReportMetric(sec(cpT.wall), "cp+sync-s")
	b.ReportMetric(sec(cpT.cpu), "cp+sync-cpu-s")
	// Throughput ratios: bytes the backup snapshot streamed per second,
	// over the vault's bytes copied per second by the other.
	ratio := func(valv, other time.Duration) float64 {
		return (float64(snapBytes) / valv.Seconds()) / (float64(vaultBytes) / other.Seconds())
	}
	b.ReportMetric(ratio(writeT.wall, cpT.wall), "write/cp")
	b.ReportMetric(ratio(writeT.wall+verifyT.wall, cpT.wall), "all/cp")
	if ageT.wall > 0 {
		b.ReportMetric(sec(ageT.wall), "age-cli-s")
		b.ReportMetric(sec(ageT.cpu), "age-cli-cpu-s")
		b.ReportMetric(ratio(writeT.wall, ageT.wall), "write/age")
		b.ReportMetric(ratio(writeT.wall+verifyT.wall, ageT.wall), "all/age")
	}
}
