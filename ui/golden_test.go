package ui

import (
	"time"

	"testing"

	"fyne.io/fyne/v2/test"
)

// Golden images of the unlock, customer list and detail screens in both
// languages (ui/testdata/*.png). A changed screen fails with the new
// image in ui/testdata/failed/; look at it, and if it is right, move it
// over the old one.
func TestGoldenScreens(t *testing.T) {
	for _, language := range []string{"en", "sv"} {
		t.Run(language, func(t *testing.T) {
			useLanguage(t, language)
			svc := newFakeService()
			w, _ := newTestWindow(t, svc)
			test.AssertImageMatches(t, "unlock_"+language+".png", w.Canvas().Capture())
			unlock(t, w, svc)
			test.AssertImageMatches(t, "customers_"+language+".png", w.Canvas().Capture())
			w.customers.list.Select(0)
			test.AssertImageMatches(t, "detail_"+language+".png", w.Canvas().Capture())
		})
	}
}

func init() {
	// Times on screen are local times; the golden images are made in UTC.
	time.Local = time.UTC
}
