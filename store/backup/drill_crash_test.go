package backup

import (
	"bufio"
	"bytes"
	"crypto/ecdh"
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/valv-vault/valv/crypto/pivage"
	"github.com/valv-vault/valv/store"
)

// The drill crash test's child: the test binary re-executed with
// drillChildEnv set to a folder holding vault/, the admin's keys and a
// backup (backup path in the file "backup"). It runs a drill, printing
// "P <phase> <bytes>" as it goes.
const drillChildEnv = "VALV_DRILL_CRASH_CHILD"

func TestDrillCrashChild(t *testing.T) {
	root := os.Getenv(drillChildEnv)
	if root == "" {
		t.Skip("the child of TestDrillCrash")
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
	path, err := os.ReadFile(filepath.Join(root, "backup"))
	must(t, err)
	v, err := store.Open(filepath.Join(root, "vault"))
	must(t, err)
	s, err := v.Unlock(id, sk)
	must(t, err)
	_, err = Drill(s, string(path), id, ReadOptions{Progress: func(p Progress) {
		fmt.Printf("P %s %d\n", p.Phase, p.Done)
	}})
	must(t, err)
	fmt.Println("DONE")
}

// TestDrillCrash kills a drill (SIGKILL) while it restores into its
// folder next to the vault, sees the folder left behind, and checks that
// the next drill removes it, and also an old folder with no lock file,
// but not the folder of a drill still running (one whose lock is held,
// here by this process) nor a new folder with no lock file yet (a drill
// just starting).
func TestDrillCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	f := newFixture(t, 2, 100, 3, 1<<20)
	root := filepath.Dir(f.dir)
	must(t, os.WriteFile(filepath.Join(root, "dk"), f.admin.dk.Bytes(), 0o600))
	skb, err := x509.MarshalECPrivateKey(f.admin.sk)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(root, "sk"), skb, 0o600))
	out := t.TempDir()
	res := f.backup(t, out)
	must(t, os.WriteFile(filepath.Join(root, "backup"), []byte(res.Path), 0o600))
	must(t, f.v.Close())

	drills := func() []string {
		m, _ := filepath.Glob(filepath.Join(root, drillPrefix+"*"))
		return m
	}
	// Kill the child halfway through the restore.
	cmd := exec.Command(os.Args[0], "-test.run=^TestDrillCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), drillChildEnv+"="+root)
	pipe, err := cmd.StdoutPipe()
	must(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	must(t, cmd.Start())
	sc := bufio.NewScanner(pipe)
	killedAt := ""
	for sc.Scan() {
		var phase string
		var n int64
		if _, err := fmt.Sscanf(sc.Text(), "P %s %d", &phase, &n); err == nil && phase == "restore" && n >= res.Bytes/2 {
			cmd.Process.Kill()
			killedAt = sc.Text()
			break
		}
	}
	err = cmd.Wait()
	if killedAt == "" || err == nil {
		t.Fatalf("the drill was not killed (%v)\n%s", err, stderr.Bytes())
	}
	left := drills()
	if len(left) != 1 {
		t.Fatalf("killed at %q: %d drill folders left (%v), want the one of the killed drill", killedAt, len(left), left)
	}

	// A running drill's folder (its lock held) and one being made (no
	// lock yet, new) stay; one with no lock file for an hour goes.
	running, err := os.MkdirTemp(root, drillPrefix)
	must(t, err)
	lock, err := lockDrill(running)
	must(t, err)
	defer lock.Close()
	starting, err := os.MkdirTemp(root, drillPrefix)
	must(t, err)
	old, err := os.MkdirTemp(root, drillPrefix)
	must(t, err)
	hourAgo := time.Now().Add(-time.Hour)
	must(t, os.Chtimes(old, hourAgo, hourAgo))

	v, err := store.Open(f.dir)
	must(t, err)
	defer v.Close()
	s, err := v.Unlock(f.admin.identity, f.admin.signer)
	must(t, err)
	defer s.Lock()
	dr, err := Drill(s, res.Path, f.admin.identity, ReadOptions{})
	must(t, err)
	if !dr.OK() {
		t.Fatalf("the drill after the kill failed: %v", dr.Failures)
	}
	got := drills()
	want := []string{running, starting}
	if strings.Join(got, " ") != strings.Join(slices.Sorted(slices.Values(want)), " ") {
		t.Fatalf("drill folders after the next drill: %v, want %v (killed %v, old %s removed)", got, want, left, old)
	}
	// Once the running drill is gone, CleanStaleDrills removes its folder.
	lock.Close()
	removed, err := CleanStaleDrills(f.dir)
	must(t, err)
	if len(removed) != 1 || removed[0] != running {
		t.Fatalf("CleanStaleDrills removed %v, want %s", removed, running)
	}
}
