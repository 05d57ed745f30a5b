package ui

import (
	"os"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

// useLanguage switches the window's strings to language ("en" or "sv")
// for the test, as the system locale would.
func useLanguage(t *testing.T, language string) {
	t.Helper()
	set := func(l string) {
		os.Setenv("LANGUAGE", l)
		if err := lang.AddTranslationsFS(translations, "translations"); err != nil {
			t.Fatal(err)
		}
	}
	old, had := os.LookupEnv("LANGUAGE")
	set(language)
	t.Cleanup(func() {
		set("en")
		if had {
			os.Setenv("LANGUAGE", old)
		} else {
			os.Unsetenv("LANGUAGE")
		}
	})
}

const testIdle = 5 * time.Minute

func newTestWindow(t *testing.T, svc *fakeService) (*Window, *fakeClock) {
	t.Helper()
	a := test.NewTempApp(t)
	clk := &fakeClock{}
	w := NewWindowWithOptions(a, svc, Options{IdleTimeout: testIdle, Clock: clk})
	w.Resize(fyne.NewSize(900, 620))
	w.Show()
	t.Cleanup(w.Close)
	return w, clk
}

func enter(e *widget.Entry, text string) {
	e.SetText("")
	test.Type(e, text)
	e.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
}

func unlock(t *testing.T, w *Window, svc *fakeService) {
	t.Helper()
	enter(w.unlock.pin, svc.pin)
	if w.customers == nil {
		t.Fatalf("not unlocked:\n%s", strings.Join(texts(w.Content()), "\n"))
	}
}

func TestUnlockWrongPINShowsTriesLeft(t *testing.T) {
	useLanguage(t, "en")
	svc := newFakeService()
	w, _ := newTestWindow(t, svc)
	shows(t, w, "PIN of YubiKey 10000001")
	enter(w.unlock.pin, "000000")
	shows(t, w, "Wrong PIN — 2 tries left.")
	if w.unlock.pin.Text != "" {
		t.Error("the PIN stays in its entry after it was submitted")
	}
	enter(w.unlock.pin, "000000")
	shows(t, w, "Wrong PIN — 1 try left.")
	unlock(t, w, svc)
	shows(t, w, "3 customers in this compartment.")
}

func TestPUKFlow(t *testing.T) {
	useLanguage(t, "en")
	svc := newFakeService()
	w, _ := newTestWindow(t, svc)
	if w.unlock.pukBox.Visible() {
		t.Fatal("the PUK form shows before it is needed")
	}
	for range 3 {
		enter(w.unlock.pin, "000000")
	}
	shows(t, w, "The PIN is blocked after too many wrong tries.")
	if !w.unlock.pukBox.Visible() {
		t.Fatal("a blocked PIN does not open the PUK form")
	}
	s := w.unlock
	// The new PIN twice, differently: refused before the card is asked.
	test.Type(s.puk, svc.puk)
	test.Type(s.newPIN, "11223344")
	test.Type(s.repeat, "11223355")
	test.Tap(s.pukB)
	shows(t, w, "The two new PINs differ.")
	if svc.pukLeft != 3 {
		t.Fatal("mismatched PINs reached the card")
	}
	if s.puk.Text != "" || s.newPIN.Text != "" {
		t.Error("secrets stay in their entries")
	}
	test.Type(s.puk, "87654321")
	test.Type(s.newPIN, "11223344")
	test.Type(s.repeat, "11223344")
	test.Tap(s.pukB)
	shows(t, w, "Wrong PUK — 2 tries left")
	test.Type(s.puk, svc.puk)
	test.Type(s.newPIN, "11223344")
	enter(s.repeat, "11223344")
	if w.customers == nil || svc.pin != "11223344" {
		t.Fatalf("not unlocked with the PUK:\n%s", strings.Join(texts(w.Content()), "\n"))
	}
}

func TestRecoveryKeyUnlocks(t *testing.T) {
	useLanguage(t, "en")
	svc := newFakeService()
	w, _ := newTestWindow(t, svc)
	enter(w.unlock.recKey, "AGE-SECRET-KEY-1WRONG")
	shows(t, w, "this is not the vault's recovery key")
	enter(w.unlock.recKey, svc.recovery)
	if w.customers == nil {
		t.Fatal("the recovery key did not unlock")
	}
}

func TestAddCustomerThenSearchFindsIt(t *testing.T) {
	useLanguage(t, "en")
	svc := newFakeService()
	w, clk := newTestWindow(t, svc)
	unlock(t, w, svc)
	shows(t, w, "3 customers in this compartment.")

	test.Tap(findButton(t, w, "Add customer"))
	form := w.body.Objects[0]
	name, pnr := formEntry(t, form, 0), formEntry(t, form, 1)
	test.Type(name, "Greta Garbo")
	test.Type(pnr, "19800101-0000")
	test.Tap(findButton(t, w, "Save"))
	shows(t, w, "The check digit (the last digit) is wrong. Check for a typo.")
	shows(t, w, "Some fields need correcting. Nothing was saved.")
	if name.Text != "Greta Garbo" {
		t.Error("a refused form lost what was typed")
	}
	pnr.SetText("19800101-0001")
	test.Tap(findButton(t, w, "Save"))
	code := fakeCode(5)
	if w.detail == nil || w.detail.code != code {
		t.Fatalf("the new customer's detail is not shown:\n%s", strings.Join(texts(w.Content()), "\n"))
	}
	test.Tap(findButton(t, w, "Customers"))

	test.Type(w.customers.search, strings.ToLower(string(code)))
	if len(w.customers.rows) == 3 && svc.count("search") > 0 {
		t.Fatal("searched before the debounce delay")
	}
	clk.Advance(searchDelay)
	if len(w.customers.rows) != 1 || w.customers.rows[0].code != code {
		t.Fatalf("search for %s found %+v", code, w.customers.rows)
	}
	shows(t, w, "1 customers found.")
}

func TestRevealIsAuditedAndHidesAgain(t *testing.T) {
	useLanguage(t, "en")
	svc := newFakeService()
	w, clk := newTestWindow(t, svc)
	unlock(t, w, svc)
	w.customers.list.Select(0)
	if w.detail == nil {
		t.Fatal("tapping a customer opens nothing")
	}
	all := shows(t, w, "19800101-****")
	if strings.Contains(all, "19800101-0000") || svc.count("reveal") != 0 {
		t.Fatal("numbers shown before Reveal")
	}
	shows(t, w, "avtal.txt")
	test.Tap(w.detail.revealB)
	if svc.count("reveal") != 1 {
		t.Fatalf("reveal calls = %d, want 1", svc.count("reveal"))
	}
	shows(t, w, "19800101-0000")
	shows(t, w, "recorded in the audit log")
	clk.Advance(revealFor - time.Second)
	shows(t, w, "19800101-0000")
	clk.Advance(time.Second)
	if all := shows(t, w, "19800101-****"); strings.Contains(all, "19800101-0000") {
		t.Fatal("numbers still shown after 30 s")
	}
}

func TestShowNamesReadsThroughTheStore(t *testing.T) {
	useLanguage(t, "en")
	svc := newFakeService()
	w, _ := newTestWindow(t, svc)
	unlock(t, w, svc)
	if all := strings.Join(texts(w.Content()), "\n"); strings.Contains(all, "Anna Andersson") {
		t.Fatal("names shown by default")
	}
	w.customers.showNames.SetChecked(true)
	shows(t, w, "Anna Andersson")
	if svc.count("name") == 0 {
		t.Fatal("names shown without an audited read")
	}
	w.customers.showNames.SetChecked(false)
	if all := strings.Join(texts(w.Content()), "\n"); strings.Contains(all, "Anna Andersson") {
		t.Fatal("names still shown after the switch went off")
	}
}

func TestAutoLockAfterIdleTime(t *testing.T) {
	useLanguage(t, "en")
	svc := newFakeService()
	w, clk := newTestWindow(t, svc)
	unlock(t, w, svc)
	w.customers.list.Select(0)
	test.Tap(w.detail.revealB)

	clk.Advance(testIdle - time.Minute)
	w.activity() // a key or the mouse
	clk.Advance(testIdle - time.Minute)
	if w.customers == nil {
		t.Fatal("locked although there was activity")
	}
	clk.Advance(time.Minute)
	if w.customers != nil || w.detail != nil || w.unlocked {
		t.Fatal("not locked after the idle time")
	}
	all := shows(t, w, "Valv locked itself after 5 minutes without activity.")
	if strings.Contains(all, "Anna") || strings.Contains(all, "19800101") {
		t.Fatalf("customer data left on screen after the lock:\n%s", all)
	}
	if svc.count("lock") != 1 {
		t.Fatalf("Lock called %d times", svc.count("lock"))
	}
}

func TestLockOnCardRemoval(t *testing.T) {
	useLanguage(t, "en")
	svc := newFakeService()
	w, _ := newTestWindow(t, svc)
	unlock(t, w, svc)
	svc.mu.Lock()
	close(svc.removed)
	svc.mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for svc.count("lock") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("not locked within 5 s of the card's removal")
		}
		time.Sleep(10 * time.Millisecond)
	}
	shows(t, w, "the YubiKey was removed")
}

func findButton(t *testing.T, w *Window, text string) *widget.Button {
	t.Helper()
	var found *widget.Button
	var walk func(fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		switch v := o.(type) {
		case *widget.Button:
			if v.Text == text && found == nil {
				found = v
			}
		case *fyne.Container:
			for _, c := range v.Objects {
				walk(c)
			}
		case fyne.Widget:
			for _, c := range test.WidgetRenderer(v).Objects() {
				walk(c)
			}
		}
	}
	walk(w.Content())
	if found == nil {
		t.Fatalf("no button %q", text)
	}
	return found
}

// formEntry is the i-th entry of a form.
func formEntry(t *testing.T, o fyne.CanvasObject, i int) *widget.Entry {
	t.Helper()
	var entries []*widget.Entry
	var walk func(fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		switch v := o.(type) {
		case *widget.Entry:
			entries = append(entries, v)
		case *fyne.Container:
			for _, c := range v.Objects {
				walk(c)
			}
		case fyne.Widget:
			for _, c := range test.WidgetRenderer(v).Objects() {
				walk(c)
			}
		}
	}
	walk(o)
	if i >= len(entries) {
		t.Fatalf("form has %d entries", len(entries))
	}
	return entries[i]
}
