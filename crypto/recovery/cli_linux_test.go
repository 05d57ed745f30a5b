package recovery

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestAgeCLIPassphrase decrypts the protected copy with Debian's stock age,
// which reads the passphrase only from a terminal: the test gives it one
// (a pseudo-terminal) and types the passphrase at the prompt.
func TestAgeCLIPassphrase(t *testing.T) {
	ageBin := ageCLI(t)
	dir := t.TempDir()
	k := mustGenerate(t)
	protected := filepath.Join(dir, "recovery.age")
	const pass = "Valv test passphrase 1"
	if err := k.WriteProtectedFile(protected, pass, testWorkFactor); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "recovery.txt")
	transcript, err := runWithTerminal(t, "passphrase", pass+"\n", ageBin, "-d", "-o", out, protected)
	if err != nil {
		t.Fatalf("age -d: %v\n%s", err, transcript)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("age wrote no output: %v\n%s", err, transcript)
	}
	if !bytes.Equal(got, k.IdentityFile()) {
		t.Fatalf("age -d gave %q", got)
	}
	// And what it gave back is a working identity file for age -d -i.
	loaded, err := Load(out)
	if err != nil || loaded.Identity().String() != k.Identity().String() {
		t.Fatalf("Load of age's output: %v", err)
	}

	// A wrong passphrase fails.
	out2 := filepath.Join(dir, "wrong.txt")
	if transcript, err := runWithTerminal(t, "passphrase", "not it\n", ageBin, "-d", "-o", out2, protected); err == nil {
		t.Fatalf("age -d accepted a wrong passphrase\n%s", transcript)
	}
}

// runWithTerminal runs a command on a new pseudo-terminal, waits for
// prompt in its output, types input, and returns everything it printed.
func runWithTerminal(t *testing.T, prompt, input string, name string, args ...string) (string, error) {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	defer ptmx.Close()
	fd := int(ptmx.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	pts, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = pts, pts, pts
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		pts.Close()
		t.Fatal(err)
	}
	pts.Close()

	var mu sync.Mutex
	var buf bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		b := make([]byte, 1024)
		for {
			n, err := ptmx.Read(b)
			mu.Lock()
			buf.Write(b[:n])
			mu.Unlock()
			if err != nil {
				return // EIO once the child side is closed
			}
		}
	}()
	output := func() string {
		mu.Lock()
		defer mu.Unlock()
		return buf.String()
	}

	deadline := time.Now().Add(30 * time.Second)
	for !bytes.Contains([]byte(output()), []byte(prompt)) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("no %q prompt from %s; it printed:\n%s", prompt, name, output())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := ptmx.Write([]byte(input)); err != nil {
		t.Fatal(err)
	}
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	select {
	case err = <-waitErr:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-waitErr
		t.Fatalf("%s did not finish; it printed:\n%s", name, output())
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	return output(), err
}
