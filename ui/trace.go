package ui

import (
	"fmt"
	"io"
	"os"
)

// The test trace. With VALV_TEST_TRACE=1 in its environment the window
// prints one line to standard error, "valv-trace: EVENT", when a screen
// is ready for the next step:
//
//	valv-trace: unlock ready focus=pin   a card is chosen; the PIN entry has the keyboard focus (focus=other: it has not)
//	valv-trace: unlock failed            the vault did not unlock (the reason is on screen)
//	valv-trace: customers rows=N         the customer list is filled with N rows
//	valv-trace: detail loaded            a customer's detail is shown with its record
//	valv-trace: locked                   the window locked itself or was locked
//
// It exists for the test that drives the real binary under Xvfb
// (cmd/valv/window_test.go), which waits for these lines instead of
// guessing from pixels. The lines hold screen names and counts only:
// never a customer code, name, number or anything typed.
var traceOut io.Writer

func init() {
	if os.Getenv("VALV_TEST_TRACE") == "1" {
		traceOut = os.Stderr
	}
}

// trace writes one trace line when the test trace is on.
func trace(format string, args ...any) {
	if traceOut != nil {
		fmt.Fprintf(traceOut, "valv-trace: "+format+"\n", args...)
	}
}
