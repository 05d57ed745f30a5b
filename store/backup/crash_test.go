package backup

import (
	"bufio"
	"bytes"
	"crypto/ecdh"
	"crypto/sha256"
	"crypto/x509"
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

	"github.com/valv-vault/valv/crypto/pivage"
	"github.com/valv-vault/valv/store"
)

// The crash test's child: the test binary re-executed with crashChildEnv
// set to a folder holding vault/, out/ and the admin's keys. It writes a
// backup to out/, printing "P <bytes>" as it goes (the backup's bytes,
// then the read-back's), and "DONE <path>" at the end.
const crashChildEnv = "VALV_BACKUP_CRASH_CHILD"

func TestBackupCrashChild(t *testing.T) {
	root := os.Getenv(crashChildEnv)
	if root == "" {
		t.Skip("the child of TestBackupCrash")
	}
	progressStep = 32 << 10
	dkb, err := os.ReadFile(filepath.Join(root, "dk"))
	must(t, err)
	dk, err := ecdh.P256().NewPrivateKey(dkb)
	must(t, err)
	skb, err := os.ReadFile(filepath.Join(root, "sk"))
	must(t, err)
	sk, err := x509.ParseECPrivateKey(skb)
	must(t, err)
	id, err := pivage.NewIdentity(dk)
	must(t, err)
	v, err := store.Open(filepath.Join(root, "vault"))
	must(t, err)
	s, err := v.Unlock(id, sk)
	must(t, err)
	var base int64
	res, err := Write(s, filepath.Join(root, "out"), Options{App: "crash", Signer: sk, Progress: func(p Progress) {
		if p.Phase == "backup" {
			if base == 0 {
				fmt.Printf("T %d\n", p.Total)
			}
			base = p.Total
			fmt.Printf("P %d\n", p.Done)
		} else {
			fmt.Printf("P %d\n", base+p.Done)
		}
	}})
	must(t, err)
	fmt.Printf("DONE %s\n", res.Path)
	must(t, s.Lock())
	must(t, v.Close())
}

// TestBackupCrash kills a process writing a backup with SIGKILL at
// random points (a byte count of the backup or of its read-back, or a
// random time) and checks after each kill that every earlier backup is
// intact, that every file under a backup's name verifies, that a backup
// reported done is there, and that the vault still opens.
func TestBackupCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	const kills = 24
	f := newFixture(t, 2, 200, 3, 1<<20)
	root := filepath.Dir(f.dir)
	must(t, os.WriteFile(filepath.Join(root, "dk"), f.admin.dk.Bytes(), 0o600))
	skb, err := x509.MarshalECPrivateKey(f.admin.sk)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(root, "sk"), skb, 0o600))
	out := filepath.Join(root, "out")
	must(t, os.Mkdir(out, 0o700))
	must(t, f.v.Close())
	var vaultBytes int64
	ents, _ := os.ReadDir(f.dir)
	for _, e := range ents {
		if fi, err := e.Info(); err == nil {
			vaultBytes += fi.Size()
		}
	}

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 3))
	good := map[string][32]byte{} // backups that completed, and their hashes
	var points []string
	for i := range kills {
		cmd := exec.Command(os.Args[0], "-test.run=^TestBackupCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+root)
		pipe, err := cmd.StdoutPipe()
		must(t, err)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		must(t, cmd.Start())
		done := ""
		if i%4 == 3 {
			ms := rng.IntN(400)
			time.AfterFunc(time.Duration(ms)*time.Millisecond, func() { cmd.Process.Kill() })
			points = append(points, fmt.Sprintf("%dms", ms))
		} else {
			// Anywhere through the write and the read-back (each about
			// the snapshot's size, which the child prints first).
			frac := rng.Float64()
			points = append(points, fmt.Sprintf("%.0f%%", frac*100))
			go func() {
				sc := bufio.NewScanner(pipe)
				threshold := int64(1 << 62)
				for sc.Scan() {
					if n, ok := strings.CutPrefix(sc.Text(), "T "); ok {
						total, _ := strconv.ParseInt(n, 10, 64)
						threshold = int64(frac * 2 * float64(total))
					}
					if n, ok := strings.CutPrefix(sc.Text(), "P "); ok {
						if at, _ := strconv.ParseInt(n, 10, 64); at >= threshold {
							cmd.Process.Kill()
						}
					}
				}
			}()
		}
		if i%4 == 3 {
			sc := bufio.NewScanner(pipe)
			for sc.Scan() {
				if p, ok := strings.CutPrefix(sc.Text(), "DONE "); ok {
					done = p
				}
			}
		}
		err = cmd.Wait()
		if err != nil && !strings.Contains(err.Error(), "killed") {
			t.Fatalf("kill %d: child: %v\n%s", i, err, stderr.Bytes())
		}
		if err == nil {
			points[len(points)-1] += "(done)"
		}

		// Every file under a backup's name verifies; earlier ones are
		// unchanged.
		ents, err := os.ReadDir(out)
		must(t, err)
		finals := 0
		for _, e := range ents {
			p := filepath.Join(out, e.Name())
			if strings.HasSuffix(e.Name(), partialExt) {
				continue
			}
			finals++
			if _, err := VerifyFile(p, ReadOptions{Identities: []age.Identity{f.recovery}}); err != nil {
				t.Fatalf("kill %d (%s): %s is under a backup's name and does not verify: %v", i, points[len(points)-1], e.Name(), err)
			}
			b, err := os.ReadFile(p)
			must(t, err)
			sum := sha256.Sum256(b)
			if want, ok := good[p]; ok && want != sum {
				t.Fatalf("kill %d: the earlier backup %s changed", i, e.Name())
			}
			good[p] = sum
		}
		if finals != len(good) {
			t.Fatalf("kill %d: %d backups, %d before", i, finals, len(good))
		}
		if done != "" {
			if _, ok := good[done]; !ok {
				t.Fatalf("kill %d: the child reported %s done, it is not there", i, done)
			}
		}
		v, err := store.Open(f.dir)
		must(t, err)
		must(t, v.Close())
	}
	partials := 0
	ents, _ = os.ReadDir(out)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), partialExt) {
			partials++
		}
	}
	if partials > 1 {
		t.Fatalf("%d partial files left: each backup should remove the last one's", partials)
	}
	t.Logf("%d kills at %s; %d backups completed; vault %d bytes", kills, strings.Join(points, " "), len(good), vaultBytes)
	if len(good) == kills {
		t.Fatal("no kill interrupted a backup")
	}
}
