package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRedactCommand(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "letter.txt")
	// 811228-9874 passes Luhn and is a real date; 4111 1111 1111 1111 is a test card.
	text := "Kund: personnummer 811228-9874, kort 4111 1111 1111 1111.\n"
	if err := os.WriteFile(in, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := runCLI(t, "", "redact", "--scan", in)
	if code != 0 || !strings.Contains(out, "personnummer") || strings.Contains(out, "811228-9874") {
		t.Fatalf("scan: %d %q %q", code, out, errOut)
	}

	outFile := filepath.Join(dir, "K7Q3-MX9R-2.txt")
	code, out, errOut = runCLI(t, "", "redact", "--code", "K7Q3-MX9R-2", in, outFile)
	if code != 0 {
		t.Fatalf("redact: %d %q %q", code, out, errOut)
	}
	got, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"811228-9874", "4111 1111 1111 1111"} {
		if strings.Contains(string(got), secret) {
			t.Errorf("redacted copy still holds %q:\n%s", secret, got)
		}
	}
	if !strings.Contains(string(got), "K7Q3-MX9R-2") || !strings.Contains(string(got), "1111") {
		t.Errorf("copy lacks the code label or the card's last four:\n%s", got)
	}

	// Never overwrites, and a name is refused as a code.
	if code, _, errOut = runCLI(t, "", "redact", in, outFile); code != 1 || !strings.Contains(errOut, "already exists") {
		t.Errorf("overwrite: %d %q", code, errOut)
	}
	if code, _, _ = runCLI(t, "", "redact", "--code", "Anna Andersson", in, filepath.Join(dir, "x.txt")); code != 1 {
		t.Error("a name was accepted as a customer code")
	}
	if code, _, _ = runCLI(t, "", "redact", "--box", "1:5,5", in, filepath.Join(dir, "y.txt")); code != 2 {
		t.Error("a malformed box was accepted")
	}
}
