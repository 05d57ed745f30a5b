package store

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/valv-vault/valv/store/customer"
)

// The erase crash test's child: the test binary re-executed with
// eraseCrashChildEnv set to the vault folder. It erases the customer
// whose code is in code.txt next to the folder, with small compaction
// transactions, printing "P <done> <total>" as it copies and "DONE" when
// EraseCustomers has returned, until the parent kills it.
const eraseCrashChildEnv = "VALV_ERASE_CRASH_CHILD"

func TestEraseCrashChild(t *testing.T) {
	dir := os.Getenv(eraseCrashChildEnv)
	if dir == "" {
		t.Skip("the child of TestEraseCrash")
	}
	compactTx, compactStep = 32<<10, 8<<10
	compactHook = func(step string) {
		fmt.Println(step)
		if os.Getenv(eraseCrashChildEnv+"_STOP") == step {
			time.Sleep(time.Minute) // to be killed here
		}
	}
	key, err := os.ReadFile(filepath.Join(dir, "..", "recovery.txt"))
	mustNoErr(t, err)
	id, err := age.ParseX25519Identity(strings.TrimSpace(string(key)))
	mustNoErr(t, err)
	code, err := os.ReadFile(filepath.Join(dir, "..", "code.txt"))
	mustNoErr(t, err)
	v, err := Open(dir)
	mustNoErr(t, err)
	s, err := v.Unlock(id, nil)
	mustNoErr(t, err)
	fmt.Println("UNLOCKED")
	_, err = s.EraseCustomers([]customer.Code{customer.Code(code)}, func(done, total int) { fmt.Printf("P %d %d\n", done, total) })
	mustNoErr(t, err)
	fmt.Println("DONE")
	mustNoErr(t, s.Lock())
	mustNoErr(t, v.Close())
}

// TestEraseCrash kills a process erasing a customer (with history and a
// document, in a compartment of 1500 customers and a 2 MiB document of
// another) with SIGKILL at random points of the compaction's copy, or at
// a random time, and checks after each kill that the vault opens (with a
// garbage temporary file next to the compartment's, which must never be
// read), that the customer is either whole (record, both versions, its
// document) or gone without a trace in any file of the folder, that
// everyone else is intact and that the audit log verifies with one erase
// entry per customer gone. A customer that is gone is replaced by a new
// one for the next kill.
func TestEraseCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	const kills = 24
	docKnobs(t, 16<<10, 256<<10)
	tv := newTestVault(t)
	dir := tv.dir
	mustNoErr(t, os.WriteFile(filepath.Join(dir, "..", "recovery.txt"), []byte(tv.recovery.String()+"\n"), 0o600))
	s := tv.unlock(t, tv.admin)
	cid, err := s.CreateCompartment("Privat")
	mustNoErr(t, err)
	others, err := s.AddCustomers(cid, benchCustomers(1500))
	mustNoErr(t, err)
	bigDoc := randomBytes(5, 2<<20)
	_, err = s.AddDocument(context.Background(), others[0], "stor.pdf", "application/pdf", bytes.NewReader(bigDoc), nil, DocumentOptions{})
	mustNoErr(t, err)
	mustNoErr(t, s.Lock())

	targetDoc := randomBytes(6, 100<<10)
	var code customer.Code
	var traces map[string][]byte
	newTarget := func(s *Session) {
		var err error
		code, err = s.AddCustomer(cid, testCustomer("Åsa Öberg"))
		mustNoErr(t, err)
		_, err = s.EditCustomer(code, func(c *customer.Customer) error { c.Phone = "08-123 456 78"; return nil })
		mustNoErr(t, err)
		_, err = s.AddDocument(context.Background(), code, "avtal.pdf", "application/pdf", bytes.NewReader(targetDoc), nil, DocumentOptions{})
		mustNoErr(t, err)
		traces = sealedTraces(t, s, code)
		mustNoErr(t, os.WriteFile(filepath.Join(dir, "..", "code.txt"), []byte(code), 0o600))
	}
	s = tv.unlock(t, tv.admin)
	newTarget(s)
	mustNoErr(t, s.Lock())
	mustNoErr(t, tv.v.Close())

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	erased, sawTmp := 0, 0
	var points []string
	for i := range kills {
		cmd := exec.Command(os.Args[0], "-test.run=^TestEraseCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), eraseCrashChildEnv+"="+dir)
		stop := ""
		switch i % 8 {
		case 2:
			stop = "copied" // the new file is complete, not yet renamed
		case 5:
			stop = "renamed" // renamed, the folder not yet synced
		}
		cmd.Env = append(cmd.Env, eraseCrashChildEnv+"_STOP="+stop)
		out, err := cmd.StdoutPipe()
		mustNoErr(t, err)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		mustNoErr(t, cmd.Start())
		sawDone := make(chan bool, 1)
		switch {
		case stop != "":
			sc := bufio.NewScanner(out)
			for sc.Scan() && sc.Text() != stop {
			}
			cmd.Process.Kill()
			points = append(points, stop)
			go func() { sawDone <- scanFor(out, "DONE") }()
		case i%4 == 3:
			// By time, from the unlock on: before, during and after
			// the copy, the rename and the folder's fsync.
			sc := bufio.NewScanner(out)
			for sc.Scan() && sc.Text() != "UNLOCKED" {
			}
			d := time.Duration(rng.IntN(80)) * time.Millisecond
			time.Sleep(d)
			cmd.Process.Kill()
			points = append(points, d.String())
			go func() { sawDone <- scanFor(out, "DONE") }()
		default:
			frac := rng.Float64()
			sc := bufio.NewScanner(out)
			found, at := false, ""
			for sc.Scan() {
				line := sc.Text()
				if line == "DONE" {
					found = true
					break
				}
				var done, total int
				if _, err := fmt.Sscanf(line, "P %d %d", &done, &total); err == nil && float64(done) >= frac*float64(total) {
					cmd.Process.Kill()
					at = strconv.Itoa(done*100/total) + "%"
					break
				}
			}
			points = append(points, at)
			go func() { sawDone <- scanFor(out, "DONE") || found }()
		}
		done := <-sawDone
		if err := cmd.Wait(); err != nil && !strings.Contains(err.Error(), "killed") {
			t.Fatalf("kill %d: child: %v\n%s", i, err, stderr.Bytes())
		}

		// A temporary file, left over or planted, is garbage: reading it
		// would fail.
		tmp := compartmentPath(dir, cid) + tmpSuffix
		if _, err := os.Stat(tmp); err == nil {
			sawTmp++
		}
		mustNoErr(t, os.WriteFile(tmp, bytes.Repeat([]byte("not a bbolt file "), 1000), 0o600))

		v, err := Open(dir)
		mustNoErr(t, err)
		s, err := v.Unlock(tv.recovery, nil)
		mustNoErr(t, err)
		_, err = s.ViewCustomer(code)
		want := len(others) + 1
		switch {
		case err == nil && stop == "renamed":
			t.Fatalf("kill %d: killed after the rename, but the customer is there", i)
		case err == nil:
			if done {
				t.Fatalf("kill %d: the child erased the customer, but it is there", i)
			}
			hist, err := s.CustomerHistory(code, true)
			mustNoErr(t, err)
			docs, err := s.Documents(code)
			mustNoErr(t, err)
			if len(hist) != 2 || hist[0].Customer.Phone != "08-123 456 78" || len(docs) != 1 {
				t.Fatalf("kill %d: the customer is there but not whole: %d versions, %d documents", i, len(hist), len(docs))
			}
			var got bytes.Buffer
			_, err = s.ExportDocument(context.Background(), docs[0].ID, &got, nil, DocumentOptions{})
			if err != nil || !bytes.Equal(got.Bytes(), targetDoc) {
				t.Fatalf("kill %d: the customer's document: %v", i, err)
			}
		case errors.Is(err, ErrNoCustomer) && stop == "copied":
			t.Fatalf("kill %d: killed before the rename, but the customer is gone", i)
		case errors.Is(err, ErrNoCustomer):
			erased++
			want--
			if found := tracesIn(t, dir, traces); len(found) != 0 {
				t.Fatalf("kill %d: the customer is gone but the vault holds %v", i, found)
			}
		default:
			t.Fatalf("kill %d: %v", i, err)
		}
		// Everyone else is there.
		_, total, err := s.ListCustomers(cid, 0, 0)
		mustNoErr(t, err)
		if total != want {
			t.Fatalf("kill %d: %d customers", i, total)
		}
		docs, err := s.Documents(others[0])
		mustNoErr(t, err)
		info, err := s.ExportDocument(context.Background(), docs[0].ID, devNull{}, nil, DocumentOptions{})
		if err != nil || info.SHA256 != sha256.Sum256(bigDoc) {
			t.Fatalf("kill %d: another customer's document: %v", i, err)
		}
		if _, err := s.VerifyAudit(); err != nil {
			t.Fatalf("kill %d: audit: %v", i, err)
		}
		n := 0
		mustNoErr(t, s.ExportAudit(func(e ExportedEntry) error {
			if e.Action == ActionErase {
				n++
			}
			return nil
		}))
		if n != erased {
			t.Fatalf("kill %d: %d erase entries, %d customers erased", i, n, erased)
		}
		if errors.Is(func() error { _, err := s.ViewCustomer(code); return err }(), ErrNoCustomer) {
			newTarget(s)
		}
		mustNoErr(t, s.Lock())
		mustNoErr(t, v.Close())
	}
	t.Logf("%d kills at %s; %d erasures completed; a temporary file (left over, or planted after the kill before) was there after %d kills", kills, strings.Join(points, " "), erased, sawTmp)
	if erased == 0 || erased == kills {
		t.Fatalf("%d of %d kills after the rename: the kill points miss one side", erased, kills)
	}
}
