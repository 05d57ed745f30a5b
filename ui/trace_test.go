package ui

import (
	"bytes"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

// traceTo sends the test trace to a buffer for the test.
func traceTo(t *testing.T) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	old := traceOut
	traceOut = &buf
	t.Cleanup(func() { traceOut = old })
	return &buf
}

// TestKeyboardUnlockToDetail walks the screens with the keyboard only, as
// the Xvfb test does with xdotool: the PIN entry has the focus once the
// card is chosen, Enter unlocks, Tab reaches the customer list and Space
// opens its first row. Each step leaves its line in the test trace.
func TestKeyboardUnlockToDetail(t *testing.T) {
	useLanguage(t, "en")
	buf := traceTo(t)
	svc := newFakeService()
	w, _ := newTestWindow(t, svc)
	c := w.Canvas()
	if c.Focused() != fyne.Focusable(w.unlock.pin) {
		t.Fatalf("the PIN entry does not have the focus once the card is chosen (focused: %T)", c.Focused())
	}
	test.Type(c.Focused(), svc.pin) // what the keyboard types goes to the focused widget
	c.Focused().TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if w.customers == nil {
		t.Fatalf("typing the PIN and Enter did not unlock:\n%s", strings.Join(texts(w.Content()), "\n"))
	}
	if c.Focused() != nil {
		t.Fatalf("the thrown-away PIN entry keeps the focus on the customer list (%T)", c.Focused())
	}

	c.FocusNext() // Tab
	if c.Focused() != fyne.Focusable(w.customers.list) {
		t.Fatalf("Tab focuses %T, not the customer list", c.Focused())
	}
	c.Focused().TypedKey(&fyne.KeyEvent{Name: fyne.KeySpace})
	if w.detail == nil || w.detail.code != w.customers.rows[0].code {
		t.Fatal("Space on the focused list does not open its first customer")
	}
	if c.Focused() != nil {
		t.Fatalf("the hidden customer list keeps the focus on the detail (%T): Space would reopen a customer", c.Focused())
	}

	w.Lock()
	want := []string{
		"valv-trace: unlock ready focus=pin",
		"valv-trace: customers rows=3",
		"valv-trace: detail loaded",
		"valv-trace: locked",
		"valv-trace: unlock ready focus=pin",
	}
	if got := strings.Split(strings.TrimSpace(buf.String()), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("trace:\n%s\nwant:\n%s", buf.String(), strings.Join(want, "\n"))
	}
}

// TestTraceWrongPINAndNoSecrets: a failed unlock is traced, and nothing
// typed, no customer code and no name reaches the trace.
func TestTraceWrongPINAndNoSecrets(t *testing.T) {
	useLanguage(t, "en")
	buf := traceTo(t)
	svc := newFakeService()
	w, _ := newTestWindow(t, svc)
	enter(w.unlock.pin, "000000")
	if !strings.Contains(buf.String(), "valv-trace: unlock failed\n") {
		t.Fatalf("a wrong PIN is not traced:\n%s", buf.String())
	}
	unlock(t, w, svc)
	w.customers.showNames.SetChecked(true)
	w.customers.list.Select(0)
	test.Tap(w.detail.revealB)
	for _, secret := range []string{"000000", svc.pin, string(fakeCode(0)), "Anna", "19800101"} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("the trace holds %q:\n%s", secret, buf.String())
		}
	}
}

// TestRefreshKeepsPUKFocus: looking for cards again does not take the
// focus from another field, here the PUK entry.
func TestRefreshKeepsPUKFocus(t *testing.T) {
	svc := newFakeService()
	w, _ := newTestWindow(t, svc)
	c := w.Canvas()
	w.unlock.showPUK("")
	c.Focus(w.unlock.puk)
	if c.Focused() != fyne.Focusable(w.unlock.puk) {
		t.Fatal("the PUK entry cannot take the focus")
	}
	w.unlock.refresh()
	if c.Focused() != fyne.Focusable(w.unlock.puk) {
		t.Fatalf("a card refresh moved the focus to %T", c.Focused())
	}
}
