package store

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/valv-vault/valv/store/customercsv"
)

// The import crash test's child: the test binary re-executed with
// importCrashEnv set to the vault folder. It reads import.csv beside the
// vault, printing "P <rows>" as it reads, "IMPORT" before the import and
// "DONE" after it, until the parent kills it.
const (
	importCrashEnv  = "VALV_IMPORT_CRASH_CHILD"
	importCrashRows = 20_000
	importCrashBad  = 100 // every 100th row has a wrong personnummer
)

func TestImportCrashChild(t *testing.T) {
	dir := os.Getenv(importCrashEnv)
	if dir == "" {
		t.Skip("the child of TestImportCrash")
	}
	key, err := os.ReadFile(filepath.Join(dir, "..", "recovery.txt"))
	mustNoErr(t, err)
	id, err := age.ParseX25519Identity(strings.TrimSpace(string(key)))
	mustNoErr(t, err)
	cidText, err := os.ReadFile(filepath.Join(dir, "..", "compartment.txt"))
	mustNoErr(t, err)
	cid, err := ParseID(string(cidText))
	mustNoErr(t, err)
	f, err := os.Open(filepath.Join(dir, "..", "import.csv"))
	mustNoErr(t, err)
	defer f.Close()
	v, err := Open(dir)
	mustNoErr(t, err)
	s, err := v.Unlock(id, nil)
	mustNoErr(t, err)
	rd, err := customercsv.NewReader(f, customercsv.Options{})
	mustNoErr(t, err)
	var rows []ImportRow
	for {
		r, err := rd.Read()
		if err != nil {
			break
		}
		rows = append(rows, ImportRow{Line: r.Line, Customer: r.Customer})
		if len(rows)%2000 == 0 {
			fmt.Printf("P %d\n", len(rows))
		}
	}
	fmt.Println("IMPORT")
	res, err := s.ImportCustomers(cid, rows)
	mustNoErr(t, err)
	fmt.Printf("DONE %d\n", res.Added)
	mustNoErr(t, s.Lock())
	mustNoErr(t, v.Close())
}

// importCSVFile writes n customers as CSV with names, every bad-th with a
// wrong check digit in its personnummer.
func importCSVFile(t testing.TB, n, bad int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := customercsv.NewWriter(&buf, customercsv.WriterOptions{Names: true, Excel: true})
	for i, c := range benchCustomers(n) {
		if bad > 0 && i%bad == bad-1 {
			c.PersonalNumber = "811228-9875"
		}
		mustNoErr(t, w.Write(customercsv.ExportRow{Customer: c}))
	}
	mustNoErr(t, w.Flush())
	return buf.Bytes()
}

// TestImportCrash kills a process importing a CSV file with SIGKILL at
// random points (a random time from the start of the process, or, more
// often, a random time after the import began; the first import runs to
// the end to measure both) and checks after each kill that the vault opens, that
// the compartment holds the customers of whole imports only, that the
// audit log verifies, and that it has one csv-import entry per whole
// import and one add entry per customer.
func TestImportCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	const kills = 12
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	cid, err := s.CreateCompartment("Import")
	mustNoErr(t, err)
	dir := tv.dir
	mustNoErr(t, os.WriteFile(filepath.Join(dir, "..", "recovery.txt"), []byte(tv.recovery.String()+"\n"), 0o600))
	mustNoErr(t, os.WriteFile(filepath.Join(dir, "..", "compartment.txt"), []byte(cid.String()), 0o600))
	mustNoErr(t, os.WriteFile(filepath.Join(dir, "..", "import.csv"), importCSVFile(t, importCrashRows, importCrashBad), 0o600))
	mustNoErr(t, s.Lock())
	mustNoErr(t, tv.v.Close())
	valid := importCrashRows - importCrashRows/importCrashBad

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	completed := 0
	var points []string
	var importTime, childTime time.Duration
	for i := range kills {
		cmd := exec.Command(os.Args[0], "-test.run=^TestImportCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), importCrashEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		mustNoErr(t, err)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		mustNoErr(t, cmd.Start())
		sc := bufio.NewScanner(out)
		done := false
		start := time.Now()
		switch {
		case i == 0:
			// The first import runs to the end, to time the others.
			points = append(points, "none")
		case i%4 == 3:
			// Any time from the start of the process to its end.
			d := time.Duration(rng.Int64N(int64(childTime)))
			points = append(points, "start+"+d.Round(time.Millisecond).String())
			time.AfterFunc(d, func() { cmd.Process.Kill() })
		}
		var started time.Time
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "IMPORT":
				started = time.Now()
				if i > 0 && i%4 != 3 {
					// Any time during the import, its commit included.
					d := time.Duration(rng.Int64N(int64(importTime) * 11 / 10))
					points = append(points, "import+"+d.Round(time.Millisecond).String())
					time.AfterFunc(d, func() { cmd.Process.Kill() })
				}
			case strings.HasPrefix(line, "DONE"):
				done = true
				if i == 0 {
					importTime, childTime = time.Since(started), time.Since(start)
				}
			}
		}
		err = cmd.Wait()
		if err != nil && !strings.Contains(err.Error(), "killed") {
			t.Fatalf("kill %d: child: %v\n%s", i, err, stderr.Bytes())
		}

		v, err := Open(dir)
		mustNoErr(t, err)
		s, err := v.Unlock(tv.recovery, nil)
		mustNoErr(t, err)
		_, total, err := s.ListCustomers(cid, 0, 0)
		mustNoErr(t, err)
		switch {
		case total == (completed+1)*valid:
			completed++
		case total != completed*valid || done:
			t.Fatalf("kill %d: %d customers, %d whole imports of %d before (the child finished: %v)", i, total, completed, valid, done)
		}
		reports, err := s.VerifyAudit()
		if err != nil {
			t.Fatalf("kill %d: audit: %v %+v", i, err, reports)
		}
		acts := auditActions(t, s, cid)
		if len(acts[ActionImport]) != completed || len(acts[ActionAdd]) != total {
			t.Fatalf("kill %d: %d import and %d add entries for %d imports of %d customers", i, len(acts[ActionImport]), len(acts[ActionAdd]), completed, total)
		}
		for _, e := range acts[ActionImport] {
			if e.Count != int64(valid) {
				t.Fatalf("kill %d: import entry counts %d", i, e.Count)
			}
		}
		mustNoErr(t, s.Lock())
		mustNoErr(t, v.Close())
	}
	st, err := os.Stat(compartmentPath(dir, cid))
	mustNoErr(t, err)
	t.Logf("%d kills at %s; %d imports of %d customers completed; an import took %v, a child %v; file %d bytes",
		kills, strings.Join(points, " "), completed, valid, importTime.Round(time.Millisecond), childTime.Round(time.Millisecond), st.Size())
}
