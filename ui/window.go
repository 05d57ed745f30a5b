// Package ui is Valv's desktop window, built with Fyne. It talks to the rest
// of Valv only through the Service interface (implemented by
// store/service), one file per screen.
package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
)

// Service is what the window needs from the engine.
type Service interface {
	Demo() bool
	DemoPIN() string
	Cards() ([]Card, error)
}

// background runs slow engine calls off the UI goroutine; their results
// come back through fyne.Do. Tests replace it to run calls in order.
var background = func(f func()) { go f() }

// Window is Valv's main window.
type Window struct {
	fyne.Window
	svc   Service
	cards *cardsScreen
}

// NewWindow builds the main window on app a. It does not show it.
func NewWindow(a fyne.App, svc Service) *Window {
	w := &Window{Window: a.NewWindow("Valv"), svc: svc}
	w.cards = newCardsScreen(svc)
	content := fyne.CanvasObject(w.cards.content)
	if svc.Demo() {
		content = container.NewBorder(demoBanner(svc.DemoPIN()), nil, nil, nil, content)
	}
	w.SetContent(content)
	w.Resize(fyne.NewSize(860, 560))
	w.cards.refresh()
	return w
}
