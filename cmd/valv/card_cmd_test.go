package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/valv-vault/valv/crypto/yubisim"
	"github.com/valv-vault/valv/crypto/yubisim/pcsctest"
)

// TestMain stops the private pcscd that card tests start (pcsctest).
func TestMain(m *testing.M) { pcsctest.Main(m) }

// runCLI runs valv with args and the given standard input.
func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCardListAndUnlockCheck(t *testing.T) {
	e := pcsctest.Require(t, yubisim.Config{Serial: 31337001})
	serial := fmt.Sprint(e.Card(0).Serial())

	code, out, errOut := runCLI(t, "", "card", "list")
	if code != 0 || !strings.Contains(out, serial+"\t5.7.1\tSIMULATED") {
		t.Fatalf("card list: %d %q %q", code, out, errOut)
	}

	code, out, errOut = runCLI(t, "123456\n", "unlock", "--check", "--card", serial, "--pin-stdin")
	if code != 0 || !strings.Contains(out, "3 PIN tries left") || !strings.Contains(out, "PIN correct") {
		t.Fatalf("unlock --check: %d %q %q", code, out, errOut)
	}

	// Two wrong PINs, then the right one: the count goes down and back up.
	code, _, errOut = runCLI(t, "654321\n", "unlock", "--check", "--card", serial, "--pin-stdin")
	if code != 1 || !strings.Contains(errOut, "wrong PIN for YubiKey "+serial+": 2 tries left") {
		t.Fatalf("wrong PIN: %d %q", code, errOut)
	}
	if strings.Contains(errOut, "654321") {
		t.Fatalf("the PIN reached an error: %q", errOut)
	}
	code, _, errOut = runCLI(t, "654321\n", "unlock", "--check", "--card", serial, "--pin-stdin")
	if code != 1 || !strings.Contains(errOut, "1 try left") {
		t.Fatalf("second wrong PIN: %d %q", code, errOut)
	}
	code, out, _ = runCLI(t, "123456\n", "unlock", "--check", "--card", serial, "--pin-stdin")
	if code != 0 || !strings.Contains(out, "1 PIN try left") {
		t.Fatalf("right PIN after two wrong: %d %q", code, out)
	}
}

func TestBlockedThenUnblock(t *testing.T) {
	e := pcsctest.Require(t, yubisim.Config{Serial: 31337002})
	serial := fmt.Sprint(e.Card(0).Serial())
	for range 3 {
		runCLI(t, "000000\n", "unlock", "--check", "--card", serial, "--pin-stdin")
	}
	code, _, errOut := runCLI(t, "123456\n", "unlock", "--check", "--card", serial, "--pin-stdin")
	if code != 1 || !strings.Contains(errOut, "is blocked: unblock it with `valv card unblock`") {
		t.Fatalf("blocked card: %d %q", code, errOut)
	}
	// The factory PIN is refused as the new PIN.
	code, _, errOut = runCLI(t, "12345678\n123456\n", "card", "unblock", "--card", serial, "--pin-stdin")
	if code != 1 {
		t.Fatalf("unblock to the default PIN succeeded: %q", errOut)
	}
	code, out, errOut := runCLI(t, "12345678\n24681357\n", "card", "unblock", "--card", serial, "--pin-stdin")
	if code != 0 || !strings.Contains(out, "unblocked") {
		t.Fatalf("unblock: %d %q %q", code, out, errOut)
	}
	if strings.Contains(out+errOut, "24681357") || strings.Contains(out+errOut, "12345678") {
		t.Fatal("a secret reached the output")
	}
	code, out, errOut = runCLI(t, "24681357\n", "unlock", "--check", "--card", serial, "--pin-stdin")
	if code != 0 || !strings.Contains(out, "PIN correct") {
		t.Fatalf("new PIN: %d %q %q", code, out, errOut)
	}
}

func TestPINStdinRunsOut(t *testing.T) {
	e := pcsctest.Require(t, yubisim.Config{Serial: 31337003})
	code, _, errOut := runCLI(t, "", "unlock", "--check", "--card", fmt.Sprint(e.Card(0).Serial()), "--pin-stdin")
	if code != 1 || !strings.Contains(errOut, "expected one more line") {
		t.Fatalf("empty stdin: %d %q", code, errOut)
	}
}
