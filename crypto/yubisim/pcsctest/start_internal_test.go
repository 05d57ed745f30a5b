package pcsctest

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"
)

// TestStartFirstTry starts pcscd many times, each time once (run, without
// startDaemon's retries), and wants every start to find its vpcd ports its
// own. ownsPorts used to read pcscd's descriptors before the listening
// sockets, so vpcd binding in between looked like another process on the
// port: in 2–33 % of the starts on a 2-core machine, and three in a row
// failed a whole test package on CI. The test widens the window between
// the two reads to 5 ms, so that the old order fails most starts (pcscd
// is polled every 10 ms).
func TestStartFirstTry(t *testing.T) {
	activate, pcscd, err := findDaemon()
	if err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	betweenReads = func() { time.Sleep(5 * time.Millisecond) }
	t.Cleanup(func() { betweenReads = nil })

	const starts = 20
	for i := range starts {
		d := newDaemon(t.TempDir())
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		err := d.run(ctx, activate, pcscd)
		cancel()
		d.stop()
		// A real collision with another process is possible but rare: the
		// port is then still in use with this pcscd gone (stop waits for
		// it to exit).
		if errors.Is(err, errPortTaken) && listenedOn(d.port) {
			continue
		}
		if err != nil {
			t.Fatalf("start %d of %d: %v", i+1, starts, err)
		}
	}
}

// listenedOn reports whether anything listens on port or port+1.
func listenedOn(port int) bool {
	for _, p := range []int{port, port + 1} {
		if l, err := tcpInodes(p, true); err == nil && len(l) > 0 {
			return true
		}
	}
	return false
}
