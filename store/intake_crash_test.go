package store

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
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
	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/store/customer"
)

// The intake crash tests' child process: the test binary re-executed
// with intakeCrashEnv set to the vault folder and intakeCrashModeEnv to
// "import" (import ../intake.valvin, no key) or "file" (unlock with the
// recovery key and file the first queued item to the customer in
// ../code.txt). It prints "P <bytes>" as it goes and "DONE" at the end,
// until the parent kills it.
const (
	intakeCrashEnv     = "VALV_INTAKE_CRASH_CHILD"
	intakeCrashModeEnv = "VALV_INTAKE_CRASH_MODE"
	intakeCrashSize    = 4 << 20
)

func TestIntakeCrashChild(t *testing.T) {
	dir := os.Getenv(intakeCrashEnv)
	if dir == "" {
		t.Skip("the child of TestIntakeCrash")
	}
	docKnobs(t, crashChunk, crashTx)
	v, err := Open(dir)
	mustNoErr(t, err)
	progress := func(done int64) { fmt.Printf("P %d\n", done) }
	switch os.Getenv(intakeCrashModeEnv) {
	case "import":
		f, err := os.Open(filepath.Join(dir, "..", "intake.valvin"))
		mustNoErr(t, err)
		_, err = v.ImportIntake(context.Background(), f, progress)
		mustNoErr(t, err)
	case "file":
		key, err := os.ReadFile(filepath.Join(dir, "..", "recovery.txt"))
		mustNoErr(t, err)
		id, err := age.ParseX25519Identity(strings.TrimSpace(string(key)))
		mustNoErr(t, err)
		code, err := os.ReadFile(filepath.Join(dir, "..", "code.txt"))
		mustNoErr(t, err)
		s, err := v.Unlock(id, nil)
		mustNoErr(t, err)
		q, err := s.IntakeQueue()
		mustNoErr(t, err)
		_, err = s.FileIntake(context.Background(), q[0].ID, customer.Code(code), progress)
		mustNoErr(t, err)
		mustNoErr(t, s.Lock())
	}
	fmt.Println("DONE")
	mustNoErr(t, v.Close())
}

// TestIntakeCrash kills a process importing a 4 MiB intake file with
// SIGKILL at random points (a byte count, or a random time) and checks
// after each kill that the vault opens, that the queue holds only whole
// items (every one that finished, none partial), that no chunk is left
// over after the sweep, that each finished import's audit entry is
// chained at the next unlock, and that freed pages are reused.
func TestIntakeCrash(t *testing.T) {
	intakeCrash(t, "import", 24)
}

// TestIntakeFileCrash kills a process filing a 4 MiB intake item as a
// document and checks after each kill that the item is either still in
// the queue or a whole document, never both and never neither.
func TestIntakeFileCrash(t *testing.T) {
	intakeCrash(t, "file", 20)
}

func intakeCrash(t *testing.T, mode string, kills int) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	docKnobs(t, crashChunk, crashTx)
	f := newDocFixture(t)
	dir := f.tv.dir
	mustNoErr(t, os.WriteFile(filepath.Join(dir, "..", "recovery.txt"), []byte(f.tv.recovery.String()+"\n"), 0o600))
	mustNoErr(t, os.WriteFile(filepath.Join(dir, "..", "code.txt"), []byte(f.code), 0o600))
	rcpt := recipientOf(t, f.tv.v, f.cid)
	mustNoErr(t, f.s.Lock())
	content := randomBytes(43, intakeCrashSize)
	want := sha256.Sum256(content)
	seq := 0
	newFile := func() []byte {
		seq++ // a new sealing each time: the same file is imported once
		return intakeFile(t, fmt.Sprintf("crash-%d.bin", seq), content, rcpt)
	}
	imported := 0
	if mode == "file" {
		_, err := importIntake(f.tv.v, newFile())
		mustNoErr(t, err)
		imported++
	}
	db, err := f.tv.v.compartmentDB(f.cid)
	mustNoErr(t, err)
	var baseHWM int64
	db.View(func(tx *bolt.Tx) error { baseHWM = tx.Size(); return nil })
	mustNoErr(t, f.tv.v.Close())

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	var points []string
	completed, filed := 0, 0
	var lastHWM int64
	for i := range kills {
		if mode == "import" {
			mustNoErr(t, os.WriteFile(filepath.Join(dir, "..", "intake.valvin"), newFile(), 0o600))
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestIntakeCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), intakeCrashEnv+"="+dir, intakeCrashModeEnv+"="+mode)
		out, err := cmd.StdoutPipe()
		mustNoErr(t, err)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		mustNoErr(t, cmd.Start())
		sawDone := make(chan bool, 1)
		if i%4 == 3 {
			go func() { sawDone <- scanFor(out, "DONE") }()
			time.Sleep(time.Duration(rng.IntN(500)) * time.Millisecond)
			cmd.Process.Kill()
			points = append(points, "t")
		} else {
			threshold := rng.Int64N(intakeCrashSize)
			sc := bufio.NewScanner(out)
			found := false
			var at int64 = -1
			for sc.Scan() {
				line := sc.Text()
				if line == "DONE" {
					found = true
					break
				}
				if n, ok := strings.CutPrefix(line, "P "); ok {
					if at, _ = strconv.ParseInt(n, 10, 64); at >= threshold {
						cmd.Process.Kill()
						break
					}
				}
			}
			points = append(points, strconv.FormatInt(at>>10, 10)+"K")
			go func() { sawDone <- scanFor(out, "DONE") || found }()
		}
		done := <-sawDone
		if err := cmd.Wait(); err != nil && !strings.Contains(err.Error(), "killed") {
			t.Fatalf("kill %d: child: %v\n%s", i, err, stderr.Bytes())
		}

		// The vault opens (the sweeps run as the file is opened).
		v, err := Open(dir)
		mustNoErr(t, err)
		s, err := v.Unlock(f.tv.recovery, nil)
		mustNoErr(t, err)
		q, err := s.IntakeQueue()
		mustNoErr(t, err)
		docs, err := s.Documents(f.code)
		mustNoErr(t, err)
		for _, it := range q {
			if it.Damaged != "" || it.Size != intakeCrashSize {
				t.Fatalf("kill %d: item %+v", i, it)
			}
		}
		switch mode {
		case "import":
			switch {
			case len(q) == completed+1:
				completed++
			case len(q) != completed || done:
				t.Fatalf("kill %d: %d items queued, %d before (the child finished: %v)", i, len(q), completed, done)
			}
			imports := 0
			for _, e := range compartmentEntries(t, s, f.cid) {
				if e.Action == ActionIntakeImport {
					imports++
				}
			}
			if imports != completed {
				t.Fatalf("kill %d: %d intake-import entries for %d imports", i, imports, completed)
			}
		case "file":
			if len(docs) == filed+1 {
				filed++
			} else if len(docs) != filed || done {
				t.Fatalf("kill %d: %d documents, %d before (the child finished: %v)", i, len(docs), filed, done)
			}
			if len(q)+len(docs) != imported {
				t.Fatalf("kill %d: %d items and %d documents for %d imported: an item was lost or duplicated", i, len(q), len(docs), imported)
			}
			for _, d := range docs {
				info, err := s.ExportDocument(context.Background(), d.ID, devNull{}, nil, DocumentOptions{})
				if err != nil || info.SHA256 != want {
					t.Fatalf("kill %d: document %s: %v", i, d.ID, err)
				}
			}
		}
		db, err := v.compartmentDB(f.cid)
		mustNoErr(t, err)
		var chunks, docChunks uint64
		db.View(func(tx *bolt.Tx) error {
			lastHWM = tx.Size()
			if b := tx.Bucket(bIntake); b != nil {
				b.ForEach(func(k, val []byte) error {
					var id IntakeID
					copy(id[:], k)
					rec, err := openIntakeRecord(s.comps[f.cid].key.Identity(), id, val)
					mustNoErr(t, err)
					chunks += rec.Chunks
					return nil
				})
			}
			if b := tx.Bucket(bDocuments); b != nil {
				b.ForEach(func(k, val []byte) error {
					var id DocumentID
					copy(id[:], k)
					_, m, err := openDocRecord(s.comps[f.cid].kr, id, val)
					mustNoErr(t, err)
					docChunks += m.chunks
					return nil
				})
			}
			return nil
		})
		if n := bucketKeys(t, v, f.cid, bIntakeChunks); uint64(n) != chunks {
			t.Fatalf("kill %d: %d intake chunks after the sweep, the items have %d", i, n, chunks)
		}
		if n := chunkCount(t, db); uint64(n) != docChunks {
			t.Fatalf("kill %d: %d document chunks after the sweep, the documents have %d", i, n, docChunks)
		}
		if mode == "file" && len(q) == 0 {
			_, err := v.ImportIntake(context.Background(), bytes.NewReader(newFile()), nil)
			mustNoErr(t, err)
			imported++
		}
		mustNoErr(t, s.Lock())
		mustNoErr(t, v.Close())
		// Pages hold what is stored (items, documents, both about the
		// size of the content) and at most about one interrupted write.
		if limit := baseHWM + int64(completed+imported+filed)*intakeCrashSize*5/4 + 3*intakeCrashSize; lastHWM > limit {
			t.Fatalf("kill %d: the file uses %d bytes of pages, more than %d: freed pages are not reused", i, lastHWM, limit)
		}
	}
	t.Logf("%s: %d kills at %s; %d imports and %d filings completed; pages in use %d before, %d at the end",
		mode, kills, strings.Join(points, " "), completed, filed, baseHWM, lastHWM)
	if mode == "import" && completed == kills || mode == "file" && filed == kills {
		t.Errorf("no kill interrupted the %s", mode)
	}
}
