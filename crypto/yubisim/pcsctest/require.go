package pcsctest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/valv-vault/valv/crypto/yubisim"
)

// RequireEnv is the environment variable that turns "cannot start pcscd"
// from a skip into a failure: set VALV_REQUIRE_CARD=1 on CI, where the
// packages are known to be installed.
const RequireEnv = "VALV_REQUIRE_CARD"

// shared is the one pcscd per test process that Require hands out slots of.
var shared struct {
	once sync.Once
	d    *daemon
	err  error

	mu   sync.Mutex
	busy [MaxCards]bool
}

// Require returns fresh simulated cards (one default card if no config is
// given) in the shared pcscd of this test process, and takes them out again
// when the test ends. The first call starts that pcscd and sets
// PCSCLITE_CSOCK_NAME for the whole process, so that piv-go in this process
// uses it: call Require before anything touches PC/SC.
//
// If pcscd cannot be started, the test is skipped with the reason, or
// fails when VALV_REQUIRE_CARD=1.
//
// The shared pcscd has MaxCards slots; a test waits (up to a minute) while
// parallel tests hold them. A test that asks twice must not need more than
// MaxCards cards in all.
func Require(t testing.TB, cards ...yubisim.Config) *Env {
	t.Helper()
	if len(cards) == 0 {
		cards = []yubisim.Config{{}}
	}
	if len(cards) > MaxCards {
		t.Fatalf("pcsctest: %d cards asked, one pcscd holds at most %d", len(cards), MaxCards)
	}
	shared.once.Do(func() {
		shared.d, shared.err = startDaemon(context.Background())
		if shared.err == nil {
			shared.err = os.Setenv(SocketEnv, shared.d.socket)
		}
	})
	if shared.err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatal(shared.err)
		}
		t.Skipf("no pcscd with simulated cards (%s=1 makes this a failure): %v", RequireEnv, shared.err)
	}

	slots, err := takeSlots(len(cards), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	e, err := shared.d.insert(ctx, slots, cards)
	if err != nil {
		giveSlots(slots)
		t.Fatal(err)
	}
	e.close = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), moveTimeout)
		defer cancel()
		err := e.removeAll(ctx)
		giveSlots(slots)
		return err
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("pcsctest: taking the cards out: %v", err)
		}
	})
	return e
}

// takeSlots reserves n free slots of the shared pcscd, waiting for them.
func takeSlots(n int, timeout time.Duration) ([]int, error) {
	deadline := time.Now().Add(timeout)
	for {
		shared.mu.Lock()
		var free []int
		for i, busy := range shared.busy {
			if !busy {
				free = append(free, i)
			}
		}
		if len(free) >= n {
			for _, i := range free[:n] {
				shared.busy[i] = true
			}
			shared.mu.Unlock()
			return free[:n], nil
		}
		shared.mu.Unlock()
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("pcsctest: no %d free card slots after %v: other tests hold them", n, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func giveSlots(slots []int) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	for _, i := range slots {
		shared.busy[i] = false
	}
}

// Main runs the tests, then stops the shared pcscd of Require and removes
// its folder. Call it from TestMain:
//
//	func TestMain(m *testing.M) { pcsctest.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	if shared.d != nil {
		shared.d.stop()
	}
	os.Exit(code)
}
