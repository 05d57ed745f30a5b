package ui

import (
	"testing"

	"fyne.io/fyne/v2/test"
)

// Golden images of the backup screen (the USB stick chosen, its history)
// and the intake queue, in both languages (see TestGoldenScreens).
func TestGoldenOperations(t *testing.T) {
	for _, language := range []string{"en", "sv"} {
		t.Run(language, func(t *testing.T) {
			useLanguage(t, language)
			svc := newFakeService()
			w, _ := newTestWindow(t, svc)
			unlock(t, w, svc)
			w.showBackups()
			s := w.ops.(*backupScreen)
			s.choose(stick)
			test.AssertImageMatches(t, "backup_"+language+".png", w.Canvas().Capture())
			w.showIntake()
			test.AssertImageMatches(t, "intake_"+language+".png", w.Canvas().Capture())
		})
	}
}
