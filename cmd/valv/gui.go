package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"github.com/valv-vault/valv/assets"
	"github.com/valv-vault/valv/store/service"
	"github.com/valv-vault/valv/ui"
)

// appID is the reverse-DNS id of FyneApp.toml.
const appID = "se.valv.vault"

func runGUI(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("valv", flag.ContinueOnError)
	fs.SetOutput(stderr)
	demo := fs.Bool("demo", false, "run on a simulated YubiKey in a throw-away folder (not secure)")
	demoIfNoCard := fs.Bool("demo-if-no-card", false, "run in demo mode when no YubiKey is present")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "valv: unexpected argument %q\n\n%s", fs.Arg(0), usage)
		return errUsage
	}
	if *demoIfNoCard && !*demo {
		*demo = !cardPresent()
	}
	if *demo {
		fmt.Fprintln(stderr, "valv: DEMO MODE — simulated YubiKey with software keys, not secure; nothing is kept")
	}

	svc, err := service.New(service.Options{Demo: *demo, VaultDir: defaultVaultDir(), App: version})
	if err != nil {
		return err
	}
	defer svc.Close()

	a := app.NewWithID(appID)
	a.SetIcon(assets.Icon)
	w := ui.NewWindow(a, svc)
	w.SetMaster()

	// Quit cleanly on SIGINT and SIGTERM so that demo mode leaves nothing
	// behind.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sigs
		fyne.Do(a.Quit)
	}()

	w.ShowAndRun()
	return nil
}

// cardPresent asks a child process whether a YubiKey is present. A child,
// because the PC/SC library remembers the first socket it used: this
// process must stay free to choose the in-process simulated card.
func cardPresent() bool {
	self, err := os.Executable()
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, self, "card", "list").Output()
	return err == nil && len(bytes.TrimSpace(out)) > 0
}
