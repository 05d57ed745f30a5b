// Command yubisim runs simulated YubiKeys (package crypto/yubisim) for
// tests, demos and trying Valv without hardware. Its keys are software
// keys: never put real data under them.
//
// Serve one card to a running vpcd reader (Debian: apt-get install pcscd
// vsmartcard-vpcd; the system pcscd's vpcd waits on 127.0.0.1:35963):
//
//	yubisim [-vpcd 127.0.0.1:35963] [-state FILE] [-serial N] [-version 5.7.1]
//
// It serves until SIGINT or SIGTERM, and redials when pcscd restarts.
// Without -state the card lives in memory and is factory-fresh on every
// start; with it, the card is loaded from and saved to FILE.
//
// Run a command against a private pcscd with N fresh cards in memory:
//
//	yubisim env [-cards 1] [-version 5.7.1] -- CMD ARGS...
//
// CMD gets PCSCLITE_CSOCK_NAME pointing at that pcscd (readers "Valv
// yubisim YubiKey 00 00" and "... 00 01"); yubisim exits with CMD's status
// and cleans up. For example, piv-go's hardware test suite, without
// TestYubiKeyAttestation (it checks for Yubico's roots, which a simulator
// must not chain to); GODEBUG lets its 512-bit RSA test run:
//
//	GODEBUG=rsa1024min=0 yubisim env -- go test github.com/go-piv/piv-go/v2/piv \
//		-short -count=1 -skip '^TestYubiKeyAttestation$' -args -wipe-yubikey
//
// The test TestPIVGoSuite in crypto/yubisim/pcsctest runs the same and
// checks the results.
//
// See package crypto/yubisim/pcsctest for what env needs and its quirks.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"

	"github.com/valv-vault/valv/crypto/yubisim"
	"github.com/valv-vault/valv/crypto/yubisim/pcsctest"
	"github.com/valv-vault/valv/crypto/yubisim/vpcd"
)

const warning = `yubisim: WARNING: this is a SIMULATED YubiKey. Its private keys are
yubisim: software keys, readable from its state file and from this process's
yubisim: memory. Never let it hold real data.`

func main() {
	log := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "yubisim: "+format+"\n", args...) }
	var err error
	code := 0
	if len(os.Args) > 1 && os.Args[1] == "env" {
		code, err = runEnv(os.Args[2:], log)
	} else {
		err = serve(os.Args[1:], log)
	}
	if err != nil {
		msg := err.Error()
		if !strings.HasPrefix(msg, "yubisim: ") {
			msg = "yubisim: " + msg
		}
		fmt.Fprintln(os.Stderr, msg)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// serve plugs one card into a running vpcd until a signal.
func serve(args []string, log func(string, ...any)) error {
	fs := flag.NewFlagSet("yubisim", flag.ExitOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: yubisim [flags]\n       yubisim env [-cards N] [-version V] -- CMD ARGS...\n\n")
		fs.PrintDefaults()
	}
	addr := fs.String("vpcd", vpcd.DefaultAddr, "vpcd `host:port` to dial (loopback only)")
	state := fs.String("state", "", "card state `file` (created if missing); empty: in memory")
	serial := fs.Uint("serial", 0, "serial number (0: random, or the one in -state)")
	version := fs.String("version", "", "firmware version, e.g. 5.7.1 (default) or 5.4.3")
	fs.Parse(args)
	if fs.NArg() > 0 {
		fs.Usage()
		os.Exit(2)
	}
	if uint64(*serial) > 1<<32-1 {
		return fmt.Errorf("-serial %d is more than 32 bits", *serial)
	}
	if err := vpcd.CheckAddr(*addr); err != nil {
		return err
	}

	fmt.Fprintln(os.Stderr, warning)
	card, err := yubisim.New(yubisim.Config{Serial: uint32(*serial), Version: *version, StatePath: *state})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	maj, min, patch := card.Version()
	log("serving card %d (firmware %d.%d.%d) to vpcd at %s; Ctrl-C to stop", card.Serial(), maj, min, patch, *addr)
	return vpcd.Serve(ctx, card, *addr)
}

// runEnv runs a command against a private pcscd with fresh cards and
// returns its exit status.
func runEnv(args []string, log func(string, ...any)) (int, error) {
	fs := flag.NewFlagSet("yubisim env", flag.ExitOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: yubisim env [flags] -- CMD ARGS...\n\n")
		fs.PrintDefaults()
	}
	n := fs.Int("cards", 1, fmt.Sprintf("number of cards, 1 to %d", pcsctest.MaxCards))
	version := fs.String("version", "", "firmware version of the cards, e.g. 5.7.1 (default) or 5.4.3")
	fs.Parse(args)
	if fs.NArg() == 0 || *n < 1 || *n > pcsctest.MaxCards {
		fs.Usage()
		os.Exit(2)
	}

	fmt.Fprintln(os.Stderr, warning)
	// Ignore the signals while the command runs: a Ctrl-C reaches it too,
	// and a SIGTERM is passed on. Cleanup happens after it exits.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)

	cfgs := make([]yubisim.Config, *n)
	for i := range cfgs {
		cfgs[i].Version = *version
	}
	env, err := pcsctest.Start(context.Background(), cfgs...)
	if err != nil {
		return 1, err
	}
	defer env.Close()
	for i := range cfgs {
		maj, min, patch := env.Card(i).Version()
		log("card %d (firmware %d.%d.%d) in reader %q", env.Card(i).Serial(), maj, min, patch, env.Reader(i))
	}
	log("%s=%s", pcsctest.SocketEnv, env.Socket())

	cmd := exec.Command(fs.Arg(0), fs.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = env.Environ()
	if err := cmd.Start(); err != nil {
		return 1, err
	}
	go func() {
		for sig := range sigs {
			if sig == syscall.SIGTERM {
				cmd.Process.Signal(sig)
			}
		}
	}()
	err = cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return exit.ExitCode(), nil
	}
	return 0, err
}
