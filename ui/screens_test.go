package ui

import (
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
)

// screens is every screen of the window, each reached from a fresh
// window on the fake service. For every row, in English and Swedish,
// TestGoldenScreens compares the window with ui/testdata/NAME_LANG.png,
// and `make screenshots` (TestScreenshots) writes it to
// docs/screenshots/NAME_LANG.png. A new screen is one more row here (and
// its two golden images, made by the first failing run; see
// TestGoldenScreens).
var screens = []struct {
	name    string
	reach   func(t *testing.T, w *Window, svc *fakeService)
	prepare func(svc *fakeService) // before the window is made; may be nil
}{
	{name: "first_run", reach: func(*testing.T, *Window, *fakeService) {}, prepare: func(svc *fakeService) {
		svc.demo = false
		svc.cards = []Card{{Serial: 5, Firmware: "5.7.1"}}
		svc.admin().noVault = true
	}},
	{"unlock", func(*testing.T, *Window, *fakeService) {}, nil},
	{"unlock_puk", func(t *testing.T, w *Window, svc *fakeService) {
		for range 3 {
			enter(w.unlock.pin, "000000")
		}
		if !w.unlock.pukBox.Visible() {
			t.Fatal("three wrong PINs did not open the PUK form")
		}
	}, nil},
	{"customers", unlock, nil},
	{"customer_form", func(t *testing.T, w *Window, svc *fakeService) {
		unlock(t, w, svc)
		test.Tap(findButton(t, w, T("customers.add")))
	}, nil},
	{"detail", openFirst, nil},
	{"detail_revealed", func(t *testing.T, w *Window, svc *fakeService) {
		openFirst(t, w, svc)
		test.Tap(w.detail.revealB)
		if !w.detail.revealed {
			t.Fatal("Reveal did not reveal")
		}
	}, nil},
	{"documents_panel", func(t *testing.T, w *Window, svc *fakeService) {
		openFirst(t, w, svc)
		test.Tap(findButton(t, w, T("docs.show")))
		if w.docs == nil {
			t.Fatal("Documents… opens nothing")
		}
	}, func(svc *fakeService) {
		svc.mu.Lock()
		svc.docStore()
		svc.mu.Unlock()
	}},
	{"compartments", section(navCompartments), nil},
	{"staff_register", section(navStaff), nil},
	{"audit_log", section(navAudit), nil},
	{"intake_queue", section(navIntake), nil},
	{"retention", section(navRetention), nil},
	{"backups", section(navBackups), nil},
	{"settings", section(navSettings), nil},
}

// section unlocks and opens a section of the navigation.
func section(n int) func(t *testing.T, w *Window, svc *fakeService) {
	return func(t *testing.T, w *Window, svc *fakeService) {
		unlock(t, w, svc)
		openSection(t, w, n)
	}
}

// openFirst unlocks and opens the first customer of the list.
func openFirst(t *testing.T, w *Window, svc *fakeService) {
	t.Helper()
	unlock(t, w, svc)
	w.customers.list.Select(0)
	if w.detail == nil {
		t.Fatal("selecting a customer opened nothing")
	}
}

// screenLanguages are the languages of the window.
var screenLanguages = []string{"en", "sv"}

// eachScreen calls f with a window showing each screen in each language.
func eachScreen(t *testing.T, f func(t *testing.T, file string, w *Window)) {
	for _, language := range screenLanguages {
		for _, s := range screens {
			t.Run(s.name+"_"+language, func(t *testing.T) {
				useLanguage(t, language)
				svc := newFakeService()
				if s.prepare != nil {
					s.prepare(svc)
				}
				w, _ := newTestWindow(t, svc)
				s.reach(t, w, svc)
				// The real driver lays the window out again on each frame
				// until sizes settle (a wrapped label's height depends on
				// its width); the test canvas does not, so do it here.
				w.Content().Refresh()
				w.Content().Refresh()
				f(t, s.name+"_"+language+".png", w)
			})
		}
	}
}

// TestScreenshots writes every screen, in both languages, as PNG files
// to the folder named by VALV_SCREENSHOTS (make screenshots: the
// docs/screenshots folder), in Fyne's standard theme rather than the
// test theme of the golden images. Without VALV_SCREENSHOTS it skips.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("VALV_SCREENSHOTS")
	if dir == "" {
		t.Skip("VALV_SCREENSHOTS is not set; make screenshots sets it to docs/screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	eachScreen(t, func(t *testing.T, file string, w *Window) {
		fyne.CurrentApp().Settings().SetTheme(theme.DefaultTheme())
		w.Content().Refresh()
		f, err := os.Create(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := png.Encode(f, w.Canvas().Capture()); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestScreenshotsCommitted: every screen of the table has its pictures in
// docs/screenshots, so that a new screen is not left out of the README.
func TestScreenshotsCommitted(t *testing.T) {
	for _, language := range screenLanguages {
		for _, s := range screens {
			file := filepath.Join("..", "docs", "screenshots", s.name+"_"+language+".png")
			if _, err := os.Stat(file); err != nil {
				t.Errorf("%s: %v; run make screenshots and commit docs/screenshots", file, err)
			}
		}
	}
}
