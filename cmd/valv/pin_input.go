package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// pinSource asks for PINs and PUKs: from the terminal without echo, or,
// with --pin-stdin, one line of standard input per secret asked, in the
// order the command asks them (documented in each command's help).
type pinSource struct {
	lines  *bufio.Reader // nil unless --pin-stdin
	prompt io.Writer
}

func newPINSource(fromStdin bool, stdin io.Reader, stderr io.Writer) *pinSource {
	p := &pinSource{prompt: stderr}
	if fromStdin {
		p.lines = bufio.NewReader(stdin)
	}
	return p
}

// errNoTerminal says how to run without one.
var errNoTerminal = errors.New("no terminal to ask for the PIN on: pass --pin-stdin and give one PIN per line on standard input")

// ask returns one secret. what names it in the prompt ("PIN", "new PUK").
func (p *pinSource) ask(what string) (string, error) {
	if p.lines != nil {
		line, err := p.lines.ReadString('\n')
		if err != nil && (err != io.EOF || line == "") {
			return "", fmt.Errorf("reading the %s from standard input: expected one more line", what)
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return "", errNoTerminal
	}
	defer tty.Close()
	fmt.Fprintf(tty, "%s: ", what)
	b, err := term.ReadPassword(int(tty.Fd()))
	fmt.Fprintln(tty)
	if err != nil {
		return "", errNoTerminal
	}
	return string(b), nil
}

// askNew asks for a new secret; on a terminal it asks twice and compares.
func (p *pinSource) askNew(what string) (string, error) {
	s, err := p.ask(what)
	if err != nil || p.lines != nil {
		return s, err
	}
	again, err := p.ask(what + " again")
	if err != nil {
		return "", err
	}
	if again != s {
		return "", fmt.Errorf("the two %ss differ; nothing was changed", what)
	}
	return s, nil
}
