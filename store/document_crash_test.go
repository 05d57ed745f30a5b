package store

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
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

// The crash test's child process: the test binary re-executed with
// crashChildEnv set to the vault folder. It adds a document with small
// chunks and transactions, printing "P <bytes>" as it goes and "DONE" at
// the end, until the parent kills it.
const (
	crashChildEnv = "VALV_DOC_CRASH_CHILD"
	crashDocSize  = 4 << 20
	crashChunk    = 64 << 10
	crashTx       = 512 << 10
)

func TestDocumentCrashChild(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		t.Skip("the child of TestDocumentCrash")
	}
	docKnobs(t, crashChunk, crashTx)
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
	_, err = s.AddDocument(context.Background(), customer.Code(code), "crash.bin", "application/octet-stream",
		bytes.NewReader(randomBytes(42, crashDocSize)), func(done int64) { fmt.Printf("P %d\n", done) }, DocumentOptions{})
	mustNoErr(t, err)
	fmt.Println("DONE")
	mustNoErr(t, s.Lock())
	mustNoErr(t, v.Close())
}

// TestDocumentCrash kills a process adding a document with SIGKILL at
// random points (a byte count of the content, or a random time) and
// checks after each kill that the vault opens, that no partial document
// is visible, that no chunk is left over after the sweep, and that the
// file's allocated pages do not keep growing (freed pages are reused).
func TestDocumentCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	const kills = 24
	f := newDocFixture(t)
	dir := f.tv.dir
	mustNoErr(t, os.WriteFile(filepath.Join(dir, "..", "recovery.txt"), []byte(f.tv.recovery.String()+"\n"), 0o600))
	mustNoErr(t, os.WriteFile(filepath.Join(dir, "..", "code.txt"), []byte(f.code), 0o600))
	mustNoErr(t, f.s.Lock())
	db, err := f.tv.v.compartmentDB(f.cid)
	mustNoErr(t, err)
	var baseHWM int64
	db.View(func(tx *bolt.Tx) error { baseHWM = tx.Size(); return nil })
	mustNoErr(t, f.tv.v.Close())
	want := sha256.Sum256(randomBytes(42, crashDocSize))
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))

	var firstHWM, lastHWM int64
	var childTime time.Duration
	completed, maxAt := 0, int64(0)
	var points []string
	for i := range kills {
		cmd := exec.Command(os.Args[0], "-test.run=^TestDocumentCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		mustNoErr(t, err)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		mustNoErr(t, cmd.Start())
		var at int64 = -1
		sawDone := make(chan bool, 1)
		start := time.Now()
		if i%4 == 3 {
			// By time: anywhere from the start of the process to the end.
			go func() { sawDone <- scanFor(out, "DONE") }()
			time.Sleep(time.Duration(rng.IntN(150)) * time.Millisecond)
			cmd.Process.Kill()
			points = append(points, "t")
		} else {
			threshold := rng.Int64N(crashDocSize * 9 / 10)
			sc := bufio.NewScanner(out)
			found := false
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
			maxAt = max(maxAt, at)
			go func() { sawDone <- scanFor(out, "DONE") || found }()
		}
		done := <-sawDone // the pipe ends when the child does
		err = cmd.Wait()
		if err != nil && !strings.Contains(err.Error(), "killed") {
			t.Fatalf("kill %d: child: %v\n%s", i, err, stderr.Bytes())
		}
		childTime += time.Since(start)

		// The vault opens (the sweep runs as the compartment is opened)
		// and shows only whole documents.
		v, err := Open(dir)
		mustNoErr(t, err)
		s, err := v.Unlock(f.tv.recovery, nil)
		mustNoErr(t, err)
		docs, err := s.Documents(f.code)
		mustNoErr(t, err)
		// A kill after the last commit leaves a whole document: it may
		// appear, but then whole (checked below); one that printed DONE
		// must appear.
		switch {
		case len(docs) == completed+1:
			completed++
		case len(docs) != completed || done:
			t.Fatalf("kill %d: %d documents visible, %d before (the child finished: %v)", i, len(docs), completed, done)
		}
		var chunks uint64
		for _, d := range docs {
			info, err := s.ExportDocument(context.Background(), d.ID, devNull{}, nil, DocumentOptions{})
			if err != nil || info.SHA256 != want {
				t.Fatalf("kill %d: document %s: %v", i, d.ID, err)
			}
		}
		db, err := v.compartmentDB(f.cid)
		mustNoErr(t, err)
		var hwm int64
		db.View(func(tx *bolt.Tx) error {
			hwm = tx.Size()
			if docs := tx.Bucket(bDocuments); docs != nil {
				docs.ForEach(func(k, val []byte) error {
					var id DocumentID
					copy(id[:], k)
					_, m, err := openDocRecord(s.comps[f.cid].kr, id, val)
					mustNoErr(t, err)
					chunks += m.chunks
					return nil
				})
			}
			return nil
		})
		if n := chunkCount(t, db); uint64(n) != chunks {
			t.Fatalf("kill %d: %d chunks after the sweep, the documents have %d", i, n, chunks)
		}
		mustNoErr(t, s.Lock())
		mustNoErr(t, v.Close())
		if i == 0 {
			firstHWM = hwm
		}
		lastHWM = hwm
		// Pages hold the whole documents and at most about one
		// interrupted addition (freed, and reused by the next); without
		// reuse each kill would add what its child wrote.
		if limit := baseHWM + int64(completed)*crashDocSize*5/4 + 2*crashDocSize; hwm > limit {
			t.Fatalf("kill %d: the file uses %d bytes of pages, more than %d: freed pages are not reused", i, hwm, limit)
		}
	}
	st, err := os.Stat(compartmentPath(dir, f.cid))
	mustNoErr(t, err)
	t.Logf("%d kills at %s; %d additions completed before the kill; furthest kill at %d of %d bytes; pages in use %d before, %d after the first kill, %d at the end; file %d bytes; children ran %v",
		kills, strings.Join(points, " "), completed, maxAt, crashDocSize, baseHWM, firstHWM, lastHWM, st.Size(), childTime.Round(time.Millisecond))
}

// scanFor reads r to the end and reports whether a line was want.
func scanFor(r io.Reader, want string) bool {
	found := false
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		found = found || sc.Text() == want
	}
	return found
}

type devNull struct{}

func (devNull) Write(p []byte) (int, error) { return len(p), nil }
