package service

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/valv-vault/valv/crypto/recovery"
)

// saveCrashEnv names the folder the crash test's child saves into.
const saveCrashEnv = "VALV_SAVE_RECOVERY_CRASH_CHILD"

// The crash test's child: saves a recovery key into new folders until
// killed.
func TestSaveRecoveryCrashChild(t *testing.T) {
	root := os.Getenv(saveCrashEnv)
	if root == "" {
		t.Skip("the child of TestSaveRecoveryCrash")
	}
	k, err := recovery.Generate()
	if err != nil {
		t.Fatal(err)
	}
	s := &Service{vaultDir: root, pending: k}
	for i := 0; ; i++ {
		dir := filepath.Join(root, fmt.Sprintf("usb-%d-%d", os.Getpid(), i))
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SaveRecovery(dir, ""); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			fmt.Println("SAVED")
		}
	}
}

// TestSaveRecoveryCrash kills a process saving recovery keys (SIGKILL, at
// random times) and checks that every file under its final name is
// whole: a key file that loads, a PDF that ends. A kill may leave a
// temporary file, never a partial key or sheet.
func TestSaveRecoveryCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	root := t.TempDir()
	for range 8 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSaveRecoveryCrashChild$")
		cmd.Env = append(os.Environ(), saveCrashEnv+"="+root)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		for sc.Scan() && sc.Text() != "SAVED" {
		}
		time.Sleep(time.Duration(rand.IntN(30000)) * time.Microsecond)
		cmd.Process.Kill()
		cmd.Wait()
	}
	keys, sheets := 0, 0
	dirs, _ := filepath.Glob(filepath.Join(root, "usb-*"))
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, RecoveryKeyFile)); err == nil {
			keys++
			if _, err := recovery.Load(filepath.Join(d, RecoveryKeyFile)); err != nil {
				t.Errorf("%s: a damaged key file: %v", d, err)
			}
		}
		if pdf, err := os.ReadFile(filepath.Join(d, RecoverySheetFile)); err == nil {
			sheets++
			if !bytes.HasPrefix(pdf, []byte("%PDF-")) || !strings.HasSuffix(strings.TrimSpace(string(pdf)), "%%EOF") {
				t.Errorf("%s: a partial sheet (%d bytes)", d, len(pdf))
			}
		}
	}
	if keys < 8 || sheets < 8 {
		t.Fatalf("only %d keys and %d sheets saved in %d folders", keys, sheets, len(dirs))
	}
	t.Logf("%d folders, %d keys, %d sheets checked", len(dirs), keys, sheets)
}
