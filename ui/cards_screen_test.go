package ui

import (
	"errors"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

// texts collects every label's text in the window.
func texts(o fyne.CanvasObject) []string {
	var out []string
	var walk func(fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		switch v := o.(type) {
		case *widget.Label:
			out = append(out, v.Text)
		case *canvas.Text:
			out = append(out, v.Text)
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
	return out
}

func init() {
	// Engine calls run in order, so a test sees their results at once.
	background = func(f func()) { f() }
}

// shows fails the test unless the window shows want; it returns all the
// window's text.
func shows(t *testing.T, w *Window, want string) string {
	t.Helper()
	all := strings.Join(texts(w.Content()), "\n")
	if !strings.Contains(all, want) {
		t.Fatalf("window does not show %q; it shows:\n%s", want, all)
	}
	return all
}

func TestCardsScreenNamesSimulatedCard(t *testing.T) {
	a := test.NewTempApp(t)
	svc := &fakeService{demo: true, pin: "123456", cards: []Card{{Serial: 10000001, Firmware: "5.7.1", Simulated: true}}}
	w := NewWindow(a, svc)
	w.Show()
	all := shows(t, w, "serial 10000001")
	for _, want := range []string{"firmware 5.7.1", "SIMULATED", "DEMO — simulated YubiKey, not secure", "Demo PIN: 123456", "1 card found."} {
		if !strings.Contains(all, want) {
			t.Errorf("window lacks %q; it shows:\n%s", want, all)
		}
	}
}

func TestCardsScreenRealCardHasNoBadge(t *testing.T) {
	a := test.NewTempApp(t)
	svc := &fakeService{cards: []Card{{Serial: 5, Firmware: "5.4.3"}, {Serial: 7, Firmware: "5.7.1"}}}
	w := NewWindow(a, svc)
	all := shows(t, w, "2 cards found.")
	if strings.Contains(all, "SIMULATED") || strings.Contains(all, "DEMO") {
		t.Errorf("real cards shown as simulated:\n%s", all)
	}
}

func TestCardsScreenExplainsErrors(t *testing.T) {
	a := test.NewTempApp(t)
	w := NewWindow(a, &fakeService{err: errors.New("the smart card service (pcscd) is not running")})
	shows(t, w, "Valv cannot reach the card reader: the smart card service (pcscd) is not running")

	w2 := NewWindow(a, &fakeService{})
	shows(t, w2, "No YubiKey found.")
}
