// Package pcsctest puts simulated YubiKeys (package yubisim) into a private
// pcscd, so that tests and scripts drive the real PC/SC stack: piv-go's cgo
// code, libpcsclite, pcscd and the vpcd reader driver, or ykman and OpenSC.
//
// In tests:
//
//	func TestMain(m *testing.M) { pcsctest.Main(m) }
//
//	func TestUnlock(t *testing.T) {
//		e := pcsctest.Require(t, yubisim.Config{Serial: 12345678})
//		// piv.Cards and piv.Open in this process now find the card, in
//		// reader e.Reader(0); e.Card(0) is the simulator itself.
//	}
//
// Require gives every test fresh cards in one pcscd shared by the test
// process, and skips the test if pcscd cannot run (or fails it when
// VALV_REQUIRE_CARD=1). Start runs a pcscd of one's own, for child
// processes; "yubisim env" (cmd/yubisim) wraps it for scripts.
//
// # How
//
// Start makes a temporary folder with a private reader.conf.d holding one
// vpcd reader (FRIENDLYNAME "Valv yubisim YubiKey", on a free TCP port
// pair: vpcd's slot 0 is the port, slot 1 the port + 1), and runs
//
//	systemd-socket-activate -l DIR/pcscd.comm pcscd -f -i -c DIR/reader.conf.d
//
// so that the daemon has its own socket instead of /run/pcscd/pcscd.comm.
// Clients find it through PCSCLITE_CSOCK_NAME=DIR/pcscd.comm (see
// Env.Environ). The cards are goroutines of the calling process that dial
// vpcd on 127.0.0.1 (vpcd.Slot). pcscd's output goes to DIR/pcscd.log
// and is quoted when start-up fails; VALV_PCSCD_DEBUG=1 makes it log every
// APDU (-d -a).
//
// Requirements (Debian): pcscd, vsmartcard-vpcd, systemd (only for
// systemd-socket-activate; it need not be PID 1), and /run/pcscd, which
// Start creates if it can. Every pcscd writes its pid to
// /run/pcscd/pcscd.pid and removes it on exit, also the system's; only
// "pcscd --hotplug" reads it.
//
// # Quirks
//
//   - libpcsclite reads PCSCLITE_CSOCK_NAME once per process, at the first
//     PC/SC call, and keeps it. So a process can talk to one pcscd only:
//     Require starts one shared pcscd per test process and sets the variable
//     before anything else can use PC/SC. An Env from Start serves child
//     processes (give them Environ()), not the process itself, unless it
//     sets the variable before its first PC/SC call.
//   - vpcd keeps its two slots in one global table, so a pcscd can hold one
//     vpcd reader: at most MaxCards cards per pcscd, and parallel tests
//     wait for a free slot. The readers are named "Valv yubisim YubiKey
//     00 00" and "... 00 01", and stay listed, empty or not: removing a card
//     makes it absent, it does not make the reader disappear as unplugging
//     a USB YubiKey does.
//   - piv-go opens cards exclusively. Parallel tests that share the pcscd
//     of Require and look for their card by opening every reader (as
//     Valv's "find the key with this serial" does) briefly hold each
//     other's cards, and the other test's Open then fails: run such tests
//     sequentially, or open e.Reader(i) directly.
//   - vpcd listens on all interfaces (INADDR_ANY), not only on loopback;
//     the ports are open while the Env runs.
//   - pcscd polls vpcd about every 400 ms: inserting a card takes about a
//     second, removing one half a second to a second (both wait until
//     pcscd has seen it).
//   - pcscd and the cards die with the process (SIGKILL on parent death);
//     Close also removes the folder. The shared pcscd of Require is stopped
//     by Main; without Main its folder is left in $TMPDIR.
//
// The reader name contains "yubikey" only because piv-go's own test suite
// picks readers by that; Valv never selects a card by reader name.
package pcsctest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/valv-vault/valv/crypto/yubisim"
	"github.com/valv-vault/valv/crypto/yubisim/vpcd"
)

const (
	// FriendlyName is the reader name pcscd gets from the configuration;
	// it appends " 00 <slot>".
	FriendlyName = "Valv yubisim YubiKey"
	// MaxCards is how many cards one pcscd (one vpcd reader) holds.
	MaxCards = 2

	vpcdDriver = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
	// SocketEnv is libpcsclite's variable for the pcscd socket.
	SocketEnv = "PCSCLITE_CSOCK_NAME"

	startTimeout = 20 * time.Second
	moveTimeout  = 5 * time.Second // card insertion or removal
)

// Env is a running pcscd with simulated cards in its vpcd reader.
type Env struct {
	d     *daemon
	slots []int // indexes into d.slots
	cards []*yubisim.Card

	close     func() error
	closeOnce sync.Once
	closeErr  error
}

// daemon is one pcscd with one vpcd reader.
type daemon struct {
	dir, socket, logPath string
	port                 int // vpcd slot 0; slot 1 is port+1
	cmd                  *exec.Cmd
	exited               chan struct{}
	slots                [MaxCards]*vpcd.Slot
}

// Start runs a private pcscd and inserts one simulated card per config
// (at most MaxCards) into its vpcd reader. It returns once pcscd reports
// every card present. Close stops it all.
func Start(ctx context.Context, cards ...yubisim.Config) (*Env, error) {
	if len(cards) > MaxCards {
		return nil, fmt.Errorf("pcsctest: %d cards asked, one pcscd holds at most %d", len(cards), MaxCards)
	}
	d, err := startDaemon(ctx)
	if err != nil {
		return nil, err
	}
	slots := make([]int, len(cards))
	for i := range slots {
		slots[i] = i
	}
	e, err := d.insert(ctx, slots, cards)
	if err != nil {
		d.stop()
		return nil, err
	}
	e.close = d.stop
	return e, nil
}

// Close takes the cards out. For an Env from Start it also stops pcscd and
// removes its folder. Closing again does nothing.
func (e *Env) Close() error {
	e.closeOnce.Do(func() { e.closeErr = e.close() })
	return e.closeErr
}

// Card returns the i-th card.
func (e *Env) Card(i int) *yubisim.Card { return e.cards[i] }

// Reader returns the PC/SC name of the reader holding the i-th card.
func (e *Env) Reader(i int) string { return readerName(e.slots[i]) }

// Socket returns the pcscd socket, the value for PCSCLITE_CSOCK_NAME.
func (e *Env) Socket() string { return e.d.socket }

// Dir returns the temporary folder of the pcscd.
func (e *Env) Dir() string { return e.d.dir }

// Log returns what pcscd has logged so far.
func (e *Env) Log() string {
	b, _ := os.ReadFile(e.d.logPath)
	return string(b)
}

// Environ returns os.Environ() with PCSCLITE_CSOCK_NAME set to this pcscd,
// for child processes (exec.Cmd.Env).
func (e *Env) Environ() []string {
	env := []string{SocketEnv + "=" + e.d.socket}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, SocketEnv+"=") {
			env = append(env, kv)
		}
	}
	return env
}

// RemoveCard takes the i-th card out of its reader, keeping its state, and
// returns once pcscd has seen it go: open handles then fail with "card
// removed" and connecting finds no card.
func (e *Env) RemoveCard(i int) error {
	ctx, cancel := context.WithTimeout(context.Background(), moveTimeout)
	defer cancel()
	_, err := e.d.slots[e.slots[i]].Remove(ctx)
	return err
}

// InsertCard puts the i-th card back into its reader and returns once
// pcscd reports it present.
func (e *Env) InsertCard(i int) error {
	ctx, cancel := context.WithTimeout(context.Background(), moveTimeout)
	defer cancel()
	return e.d.slots[e.slots[i]].Insert(ctx, e.cards[i])
}

func readerName(slot int) string { return fmt.Sprintf("%s 00 %02X", FriendlyName, slot) }

// insert makes a card for each config and puts it into the given slots.
func (d *daemon) insert(ctx context.Context, slots []int, cfgs []yubisim.Config) (*Env, error) {
	e := &Env{d: d, slots: slots}
	for i, cfg := range cfgs {
		card, err := yubisim.New(cfg)
		if err == nil {
			err = d.slots[slots[i]].Insert(ctx, card)
		}
		if err != nil {
			e.removeAll(ctx)
			return nil, fmt.Errorf("pcsctest: card %d: %w%s", i, err, d.logTail())
		}
		e.cards = append(e.cards, card)
	}
	return e, nil
}

// removeAll takes this Env's cards out, waiting for pcscd at most until ctx
// ends.
func (e *Env) removeAll(ctx context.Context) error {
	var errs []error
	for _, s := range e.slots {
		if _, err := e.d.slots[s].Remove(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// startDaemon runs pcscd, socket-activated, with a private vpcd reader on
// a free port pair.
func startDaemon(ctx context.Context) (*daemon, error) {
	activate, pcscd, err := findDaemon()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()

	for attempt := 0; ; attempt++ {
		dir, err := os.MkdirTemp("", "valv-pcsctest-")
		if err != nil {
			return nil, err
		}
		d := newDaemon(dir)
		err = d.run(ctx, activate, pcscd)
		if err == nil {
			return d, nil
		}
		d.stop()
		if !errors.Is(err, errPortTaken) || attempt == 2 {
			return nil, err
		}
	}
}

// findDaemon returns the paths of systemd-socket-activate and pcscd, once
// it has checked that the vpcd driver is installed and that /run/pcscd
// exists.
func findDaemon() (activate, pcscd string, err error) {
	activate, err = exec.LookPath("systemd-socket-activate")
	if err != nil {
		return "", "", fmt.Errorf("pcsctest: %w (Debian package systemd)", err)
	}
	pcscd, err = exec.LookPath("pcscd")
	if err != nil {
		if pcscd, err = exec.LookPath("/usr/sbin/pcscd"); err != nil {
			return "", "", fmt.Errorf("pcsctest: %w (Debian package pcscd)", err)
		}
	}
	if _, err := os.Stat(vpcdDriver); err != nil {
		return "", "", fmt.Errorf("pcsctest: vpcd driver: %w (Debian package vsmartcard-vpcd)", err)
	}
	if err := os.MkdirAll("/run/pcscd", 0o755); err != nil {
		return "", "", fmt.Errorf("pcsctest: pcscd needs /run/pcscd for its pid file: %w", err)
	}
	return activate, pcscd, nil
}

// newDaemon returns a daemon, not yet run, that keeps its socket, log and
// configuration in dir.
func newDaemon(dir string) *daemon {
	return &daemon{
		dir:     dir,
		socket:  filepath.Join(dir, "pcscd.comm"),
		logPath: filepath.Join(dir, "pcscd.log"),
		exited:  make(chan struct{}),
	}
}

var errPortTaken = errors.New("vpcd port taken by another process")

func (d *daemon) run(ctx context.Context, activate, pcscd string) error {
	port, err := freePortPair()
	if err != nil {
		return err
	}
	d.port = port
	for i := range d.slots {
		if d.slots[i], err = vpcd.NewSlot(fmt.Sprintf("127.0.0.1:%d", port+i)); err != nil {
			return err
		}
	}
	confDir := filepath.Join(d.dir, "reader.conf.d")
	if err := os.Mkdir(confDir, 0o755); err != nil {
		return err
	}
	// DEVICENAME /dev/null:PORT makes vpcd listen; any other host would
	// make it dial out instead.
	conf := fmt.Sprintf("FRIENDLYNAME %q\nDEVICENAME /dev/null:0x%X\nLIBPATH %s\nCHANNELID 0x%X\n",
		FriendlyName, port, vpcdDriver, port)
	if err := os.WriteFile(filepath.Join(confDir, "vpcd"), []byte(conf), 0o644); err != nil {
		return err
	}
	logFile, err := os.Create(d.logPath)
	if err != nil {
		return err
	}
	defer logFile.Close() // the child has its own copy

	args := []string{"-l", d.socket, pcscd, "-f", "-i", "-c", confDir}
	if os.Getenv("VALV_PCSCD_DEBUG") == "1" {
		args = append(args, "-d", "-a")
	}
	d.cmd = exec.Command(activate, args...)
	d.cmd.Stdout, d.cmd.Stderr = logFile, logFile
	d.cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid: true,
		// Dies with the thread that started it, i.e. with this process:
		// the Go runtime does not end its threads.
		Pdeathsig: syscall.SIGKILL,
	}
	if err := d.cmd.Start(); err != nil {
		return fmt.Errorf("pcsctest: %w", err)
	}
	go func() {
		d.cmd.Wait()
		close(d.exited)
	}()

	// pcscd starts at the first connection to its socket, and vpcd binds
	// its ports while pcscd starts. The connection is to the local
	// Unix-domain socket of the private pcscd (IPC, not network); the only
	// TCP in the tree is package vpcd's loopback dial.
	activated := false
	for {
		if !activated {
			if c, err := net.Dial("unix", d.socket); err == nil {
				c.Close()
				activated = true
			}
		}
		if activated {
			ok, err := d.ownsPorts()
			if err != nil || ok {
				return err
			}
			// vpcd could not bind (the port is in use, but not listening).
			if b, _ := os.ReadFile(d.logPath); strings.Contains(string(b), "Could not initialize connection to virtual ICC") {
				return fmt.Errorf("pcsctest: port %d or %d: %w", d.port, d.port+1, errPortTaken)
			}
		}
		select {
		case <-d.exited:
			return fmt.Errorf("pcsctest: pcscd exited at start: %v%s", d.cmd.ProcessState, d.logTail())
		case <-ctx.Done():
			return fmt.Errorf("pcsctest: pcscd did not start: %w%s", ctx.Err(), d.logTail())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// stop takes all cards out, stops pcscd and removes its folder.
func (d *daemon) stop() error {
	dead, cancel := context.WithCancel(context.Background())
	cancel()
	for _, s := range d.slots {
		if s != nil {
			s.Remove(dead) // cut at once, pcscd is going away
		}
	}
	if d.cmd != nil && d.cmd.Process != nil {
		syscall.Kill(-d.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-d.exited:
		case <-time.After(3 * time.Second):
			syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
			<-d.exited
		}
	}
	return os.RemoveAll(d.dir)
}

// logTail returns the end of pcscd's log, to append to an error.
func (d *daemon) logTail() string {
	b, err := os.ReadFile(d.logPath)
	if err != nil || len(b) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return "\npcscd log (" + d.logPath + "):\n\t" + strings.Join(lines, "\n\t")
}

// freePortPair picks a port P such that nothing uses P and P+1, below
// Linux's default ephemeral range (32768–60999) so that outgoing
// connections do not take it meanwhile. It only reads /proc; ownsPorts
// catches a race with another process.
func freePortPair() (int, error) {
	for range 50 {
		p := 20000 + 2*rand.IntN(6000)
		a, err := tcpInodes(p, false)
		if err != nil {
			return 0, err
		}
		b, _ := tcpInodes(p+1, false)
		if len(a) == 0 && len(b) == 0 {
			return p, nil
		}
	}
	return 0, errors.New("pcsctest: no free TCP port pair for vpcd")
}

// ownsPorts reports whether pcscd listens on both vpcd ports, and
// errPortTaken if another process does.
//
// It reads the listening sockets before pcscd's descriptors: a socket that
// pcscd opens in between is then in the second list, not only in the
// first. (In the other order, vpcd binding between the two reads looked
// like another process's socket, in a third of the starts.)
func (d *daemon) ownsPorts() (bool, error) {
	var listeners [2]map[string]bool
	for i, port := range []int{d.port, d.port + 1} {
		l, err := tcpInodes(port, true)
		if err != nil {
			return false, err
		}
		if len(l) == 0 {
			return false, nil // not yet
		}
		listeners[i] = l
	}
	if betweenReads != nil {
		betweenReads()
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", d.cmd.Process.Pid))
	if err != nil {
		return false, nil // not started yet, or gone: the caller sees it exit
	}
	mine := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", d.cmd.Process.Pid, fd.Name()))
		if inode, ok := strings.CutPrefix(link, "socket:["); err == nil && ok {
			mine[strings.TrimSuffix(inode, "]")] = true
		}
	}
	for i, l := range listeners {
		for inode := range l {
			if !mine[inode] {
				return false, fmt.Errorf("pcsctest: port %d: %w", d.port+i, errPortTaken)
			}
		}
	}
	return true, nil
}

// betweenReads, if set, runs between ownsPorts' two reads: a test widens
// the window there.
var betweenReads func()

// tcpInodes returns the socket inodes of the TCP sockets on local port
// port: listening ones only, or in any state.
func tcpInodes(port int, listening bool) (map[string]bool, error) {
	inodes := map[string]bool{}
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(name)
		if err != nil {
			if name == "/proc/net/tcp6" {
				continue // no IPv6
			}
			return nil, fmt.Errorf("pcsctest: %w", err)
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			// sl local_address rem_address st ... uid timeout inode
			f := strings.Fields(line)
			if len(f) < 10 {
				continue
			}
			_, hexPort, _ := strings.Cut(f[1], ":")
			p, err := strconv.ParseUint(hexPort, 16, 16)
			if err != nil || int(p) != port || listening && f[3] != "0A" {
				continue
			}
			inodes[f[9]] = true
		}
	}
	return inodes, nil
}
