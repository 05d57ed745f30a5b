package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/valv-vault/valv/crypto/card"
)

func cardCommand(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "list" {
		fmt.Fprintln(stderr, "usage: valv card list")
		return errUsage
	}
	fs := flag.NewFlagSet("valv card list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	cards, err := card.List()
	if err != nil {
		return err
	}
	for _, c := range cards {
		sim := ""
		if c.Simulated {
			sim = "\tSIMULATED"
		}
		fmt.Fprintf(stdout, "%d\t%s%s\n", c.Serial, c.Firmware, sim)
	}
	return nil
}
