package ui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"
)

// The keyboard paths of the Xvfb test (cmd/valv/window_test.go), which
// presses Tab a counted number of times: change both together.
const (
	xvfbTabsToDocuments  = 13 // detail → Documents…: the twelve selectable values of the record come first
	xvfbTabsToViewerBack = 2  // text viewer → its back button: the selectable text comes first
)

func xvfbTabsToLastView(rows int) int { return 2*(rows-1) + 1 } // View and Redact… of each row before; Export… is disabled
func xvfbTabsToCancel(rows int) int   { return 2*rows + 3 }     // View and Redact… of every row, back, Lock; Attach is disabled

// TestTestHooksNeedTrace: the test drop is read only with the test trace
// on; without VALV_TEST_TRACE=1 neither hook does anything.
func TestTestHooksNeedTrace(t *testing.T) {
	var stderr bytes.Buffer
	for _, c := range []struct {
		env      map[string]string
		traced   bool
		wantDrop []string
	}{
		{env: map[string]string{}},
		{env: map[string]string{"VALV_TEST_DROP": "/tmp/a.txt"}},
		{env: map[string]string{"VALV_TEST_TRACE": "0", "VALV_TEST_DROP": "/tmp/a.txt"}},
		{env: map[string]string{"VALV_TEST_TRACE": "yes", "VALV_TEST_DROP": "/tmp/a.txt"}},
		{env: map[string]string{"VALV_TEST_TRACE": "1"}, traced: true},
		{env: map[string]string{"VALV_TEST_TRACE": "1", "VALV_TEST_DROP": "/tmp/a.txt" + string(filepath.ListSeparator) + "/tmp/b.bin"},
			traced: true, wantDrop: []string{"/tmp/a.txt", "/tmp/b.bin"}},
	} {
		out, drop := testHooks(func(k string) string { return c.env[k] }, &stderr)
		if (out != nil) != c.traced || !slices.Equal(drop, c.wantDrop) {
			t.Errorf("environment %v: trace on %v, drop %q; want trace on %v, drop %q", c.env, out != nil, drop, c.traced, c.wantDrop)
		}
	}
}

// TestTestDropInert: without the test drop opening the documents starts
// no import.
func TestTestDropInert(t *testing.T) {
	useLanguage(t, "en")
	useUIQueue(t)
	if testDrop != nil {
		t.Fatalf("the test drop is set in a test run without VALV_TEST_TRACE=1: %q", testDrop)
	}
	svc := newFakeService()
	_, p := openDocs(t, svc)
	if p.running != nil || len(p.queue) != 0 || len(p.docs) != 1 {
		t.Fatalf("opening the documents without the test drop imports something (running %v, queued %d, documents %d)", p.running != nil, len(p.queue), len(p.docs))
	}
}

// TestKeyboardDocumentsDuringImport walks the documents part of the Xvfb
// test with the keyboard, as xdotool does: Tabs from the detail reach
// Documents…, the test drop attaches its file once the list shows, and
// while a 1 GiB import runs Tabs reach the View of the last row, the
// viewer's back button and Cancel. The trace says each step, without
// names.
func TestKeyboardDocumentsDuringImport(t *testing.T) {
	useLanguage(t, "en")
	q := useUIQueue(t)
	buf := traceTo(t)
	letter := filepath.Join(t.TempDir(), "brev.txt")
	if err := os.WriteFile(letter, []byte("Brev till kunden.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := testDrop
	testDrop = []string{letter}
	t.Cleanup(func() { testDrop = old })
	svc := newFakeService()
	ended := withEnded(svc)
	svc.mu.Lock()
	svc.docStore()
	svc.mu.Unlock()
	w, _ := newTestWindow(t, svc)
	unlock(t, w, svc)
	c := w.Canvas()
	c.FocusNext()
	c.Focused().TypedKey(&fyne.KeyEvent{Name: fyne.KeySpace})
	if w.detail == nil {
		t.Fatal("Tab and Space do not open the first customer")
	}

	press := func(tabs int, want fyne.Focusable, what string) {
		t.Helper()
		for range tabs {
			c.FocusNext()
		}
		if c.Focused() != want {
			got := "nothing"
			if b, ok := c.Focused().(*widget.Button); ok {
				got = "the button " + b.Text
			} else if c.Focused() != nil {
				got = fmt.Sprintf("a %T", c.Focused())
			}
			t.Fatalf("%d Tabs reach %s, not %s: the Xvfb test's count is wrong", tabs, got, what)
		}
		c.Focused().TypedKey(&fyne.KeyEvent{Name: fyne.KeySpace})
	}
	press(xvfbTabsToDocuments, findButton(t, w, "Documents…"), "Documents…")
	p := w.docs
	if p == nil {
		t.Fatal("Space on Documents… opens nothing")
	}
	q.until(t, "the dropped letter is attached", func() bool { return p.running == nil && len(p.docs) == 2 })
	if err := <-ended; err != nil {
		t.Fatal(err)
	}
	if testDrop != nil {
		t.Fatal("the test drop is not used up")
	}

	big := (&slowReader{size: 1 << 30, delay: 2 * time.Millisecond}).stopAtEnd(t)
	p.startImport("stor.bin", big, big.size)
	q.until(t, "the import reads", func() bool { return big.read.Load() > 1<<20 })
	if c.Focused() != nil {
		t.Fatalf("%T has the focus on the new list; the Xvfb test's Tabs start from none", c.Focused())
	}
	views := buttons(p.list, "View")
	press(xvfbTabsToLastView(len(p.docs)), views[len(views)-1], "the View of the last row")
	if p.viewer == nil || p.viewer.doc.Name != "brev.txt" {
		t.Fatal("Space on the last View does not show the letter")
	}
	q.pump()
	press(xvfbTabsToViewerBack, buttons(p.viewer.content, T("docs.backtolist"))[0], "the viewer's back button")
	if p.viewer != nil {
		t.Fatal("Space on the viewer's back button does not go back to the list")
	}
	press(xvfbTabsToCancel(len(p.docs)), p.cancelB, "Cancel")
	if err := <-ended; !errors.Is(err, context.Canceled) {
		t.Fatalf("the import ended with %v after Cancel", err)
	}
	q.until(t, "the window learns it ended", func() bool { return p.running == nil })
	if len(p.docs) != 2 {
		t.Fatalf("%d documents after a cancelled import, want 2", len(p.docs))
	}

	// Opening the documents again drops nothing again.
	w.openDocuments(p.code)
	q.pump()
	if w.docs.running != nil || len(w.docs.docs) != 2 {
		t.Fatal("the test drop is attached a second time")
	}

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var steps []string
	for _, l := range lines {
		if !strings.HasPrefix(l, "valv-trace: import progress ") {
			steps = append(steps, strings.TrimPrefix(l, "valv-trace: "))
		} else if !regexp.MustCompile(`^valv-trace: import progress (100|[1-9]?[0-9])%$`).MatchString(l) {
			t.Errorf("progress line %q", l)
		}
	}
	want := []string{
		"unlock ready focus=pin", "customers rows=3", "detail loaded",
		"documents rows=1", "import started", "import ended ok", "documents rows=2",
		"import started", "viewer open", "viewer loaded", "documents rows=2", "import ended cancelled", "documents rows=2",
		"documents rows=2",
	}
	if !slices.Equal(steps, want) {
		t.Errorf("trace without the progress lines:\n%s\nwant:\n%s", strings.Join(steps, "\n"), strings.Join(want, "\n"))
	}
	if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "valv-trace: import progress ") }) {
		t.Error("no progress in the trace")
	}
	for _, secret := range []string{"brev", "stor.bin", "avtal", string(fakeCode(0)), "Anna"} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("the trace holds %q", secret)
		}
	}
}
