package main

import (
	"os"
	"testing"
)

// TestEnv runs a command under "yubisim env" and gets its exit status.
func TestEnv(t *testing.T) {
	code, err := runEnv([]string{"-cards", "2", "--", "sh", "-c",
		`test -S "$PCSCLITE_CSOCK_NAME" && exit 7`}, t.Logf)
	if err != nil {
		if os.Getenv("VALV_REQUIRE_CARD") == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	if code != 7 {
		t.Errorf("exit status %d, want 7 (the command's)", code)
	}
}
