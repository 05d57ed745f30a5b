package pcsctest_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/go-piv/piv-go/v2/piv"
	"github.com/valv-vault/valv/crypto/yubisim/pcsctest"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		// A child started by runHelper: talk to the parent's pcscd, which
		// Environ put into PCSCLITE_CSOCK_NAME; start nothing.
		os.Exit(helperListCards())
	}
	pcsctest.Main(m)
}

const helperEnv = "VALV_PCSCTEST_HELPER"

// helperListCards prints "reader|serial|version" for every card pcscd
// holds.
func helperListCards() int {
	readers, err := piv.Cards()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for _, r := range readers {
		yk, err := piv.Open(r)
		if err != nil {
			fmt.Printf("%s|none|\n", r)
			continue
		}
		serial, err := yk.Serial()
		v := yk.Version()
		yk.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("%s|%d|%d.%d.%d\n", r, serial, v.Major, v.Minor, v.Patch)
	}
	return 0
}

// runHelper lists the cards of e's pcscd from a child process: this
// process's libpcsclite is tied to the shared pcscd of Require.
func runHelper(t *testing.T, ctx context.Context, e *pcsctest.Env) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(e.Environ(), helperEnv+"=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	return string(out)
}

// openBySerial finds the card with the serial among all readers, as Valv
// does, and checks that it is in the expected reader.
func openBySerial(t *testing.T, serial uint32, reader string) *piv.YubiKey {
	t.Helper()
	readers, err := piv.Cards()
	if err != nil {
		t.Fatalf("piv.Cards: %v", err)
	}
	for _, r := range readers {
		yk, err := piv.Open(r)
		if err != nil {
			continue // an empty reader
		}
		if s, err := yk.Serial(); err == nil && s == serial {
			if r != reader {
				t.Errorf("card %d is in reader %q, Env says %q", serial, r, reader)
			}
			t.Cleanup(func() { yk.Close() })
			return yk
		}
		yk.Close()
	}
	t.Fatalf("no card with serial %d among readers %q", serial, readers)
	return nil
}
