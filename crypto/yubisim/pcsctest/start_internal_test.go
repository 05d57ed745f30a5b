package pcsctest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestStartFirstTry starts pcscd many times, each time once (run, without
// startDaemon's retries), and wants every start to find its vpcd ports its
// own. ownsPorts used to read pcscd's descriptors before the listening
// sockets, so vpcd binding in between looked like another process on the
// port, in about a third of the starts; three starts in a row failing that
// way failed a whole test package on CI.
func TestStartFirstTry(t *testing.T) {
	activate, err1 := exec.LookPath("systemd-socket-activate")
	pcscd, err2 := exec.LookPath("/usr/sbin/pcscd")
	_, err3 := os.Stat(vpcdDriver)
	if err := errors.Join(err1, err2, err3); err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	if err := os.MkdirAll("/run/pcscd", 0o755); err != nil {
		t.Skip(err)
	}
	const starts = 20 // the old order passed all 20 once in 3000 runs
	for i := range starts {
		d := &daemon{dir: t.TempDir(), exited: make(chan struct{})}
		d.socket = filepath.Join(d.dir, "pcscd.comm")
		d.logPath = filepath.Join(d.dir, "pcscd.log")
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		err := d.run(ctx, activate, pcscd)
		cancel()
		d.stop()
		if errors.Is(err, errPortTaken) {
			// A real collision with another process is possible but rare;
			// the port must then be someone else's.
			if owner := portOwnedElsewhere(d.port); owner {
				continue
			}
			t.Fatalf("start %d of %d: %v, but no other process listens there", i+1, starts, err)
		}
		if err != nil {
			t.Fatalf("start %d of %d: %v", i+1, starts, err)
		}
	}
}

// portOwnedElsewhere reports whether something still listens on port or
// port+1 once the test's pcscd is gone.
func portOwnedElsewhere(port int) bool {
	time.Sleep(100 * time.Millisecond)
	for _, p := range []int{port, port + 1} {
		if l, err := tcpInodes(p, true); err == nil && len(l) > 0 {
			return true
		}
	}
	return false
}
