package ui

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"
)

// The test trace. With VALV_TEST_TRACE=1 in its environment the window
// prints one line to standard error, "valv-trace: EVENT", when a screen
// is ready for the next step:
//
//	valv-trace: unlock ready focus=pin   a card is chosen; the PIN entry has the keyboard focus (focus=other: it has not)
//	valv-trace: unlock failed            the vault did not unlock (the reason is on screen)
//	valv-trace: customers rows=N         the customer list is filled with N rows
//	valv-trace: detail loaded            a customer's detail is shown with its record
//	valv-trace: documents rows=N         a customer's documents panel lists N documents
//	valv-trace: import started           an import began streaming (export started: an export)
//	valv-trace: import progress N%       the bar of the running import shows N % (each time the whole percentage changes)
//	valv-trace: import ended R           the import ended, R one of ok, cancelled, failed (export ended R: an export)
//	valv-trace: viewer open              a tap on View was handled: the viewer shows, its document still loading
//	valv-trace: viewer loaded            the viewer shows the document (viewer failed: it shows why not)
//	valv-trace: locked                   the window locked itself or was locked
//
// It exists for the test that drives the real binary under Xvfb
// (cmd/valv/window_test.go), which waits for these lines instead of
// guessing from pixels. The lines hold screen names and counts only:
// never a customer code, name, number, document name or anything typed.
var traceOut io.Writer

// The test drop, the second test hook, on only with the test trace: with
// VALV_TEST_TRACE=1 and VALV_TEST_DROP=FILE[:FILE…] (a list like PATH)
// the first documents panel that lists its documents behaves as if
// those files were dropped on the window, through the same handler as a
// real drop (Window.dropped, documents_panel.go). The Xvfb test attaches
// a 1 GiB file this way, because Fyne's file dialog and X drag and drop
// are out of xdotool's reach. Without VALV_TEST_TRACE=1 VALV_TEST_DROP
// is never read. The files go through the real, audited import.
var testDrop []string

func init() {
	traceOut, testDrop = testHooks(os.Getenv, os.Stderr)
}

// testHooks returns where the trace goes (nil: nowhere) and the files of
// the test drop, from the environment read by getenv.
func testHooks(getenv func(string) string, stderr io.Writer) (io.Writer, []string) {
	if getenv("VALV_TEST_TRACE") != "1" {
		return nil, nil
	}
	var drop []string
	for _, f := range filepath.SplitList(getenv("VALV_TEST_DROP")) {
		if f != "" {
			drop = append(drop, f)
		}
	}
	return stderr, drop
}

// trace writes one trace line when the test trace is on.
func trace(format string, args ...any) {
	if traceOut != nil {
		fmt.Fprintf(traceOut, "valv-trace: "+format+"\n", args...)
	}
}

// dropTestFiles drops the files of the test drop on the window, once.
// The documents panel calls it when it has listed its documents.
func (w *Window) dropTestFiles() {
	if len(testDrop) == 0 {
		return
	}
	uris := make([]fyne.URI, len(testDrop))
	for i, f := range testDrop {
		uris[i] = storage.NewFileURI(f)
	}
	testDrop = nil
	w.dropped(fyne.NewPos(0, 0), uris)
}
