package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExportForceReplacesLinkNotTarget (review round 2, found sound):
// an export's OUT that is a symbolic link (planted, or left by another
// tool) is never written through. Without --force it is "exists"; with
// --force the link itself is replaced by a new 0600 file and the file it
// pointed to is untouched.
func TestExportForceReplacesLinkNotTarget(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "elsewhere.txt")
	if err := os.WriteFile(target, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "export.csv")
	if err := os.Symlink(target, out); err != nil {
		t.Fatal(err)
	}
	write := func(w io.Writer) (int, error) { _, err := io.WriteString(w, "code\r\n"); return 1, err }
	if _, err := writeAtomically(out, false, write); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("without --force: %v", err)
	}
	if _, err := writeAtomically(out, true, write); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); string(b) != "keep me" {
		t.Errorf("the link's target was written: %q", b)
	}
	st, err := os.Lstat(out)
	if err != nil || !st.Mode().IsRegular() || st.Mode().Perm() != 0o600 {
		t.Errorf("OUT is %v (%v), want a regular 0600 file", st.Mode(), err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("%d files left in the folder, want 2 (no temporary file)", len(ents))
	}
}
