package ui

import (
	"time"

	"testing"

	"fyne.io/fyne/v2/test"
)

// Golden images of every screen (the screens table) in both languages
// (ui/testdata/NAME_LANG.png). A changed screen fails with the new image
// in ui/testdata/failed/; look at it, and if it is right, move it over
// the old one (and run make screenshots for docs/screenshots).
func TestGoldenScreens(t *testing.T) {
	eachScreen(t, func(t *testing.T, file string, w *Window) {
		test.AssertImageMatches(t, file, w.Canvas().Capture())
	})
}

func init() {
	// Times on screen are local times; the golden images are made in UTC.
	time.Local = time.UTC
}
