package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"
)

// activityCatcher lies under the whole window: pointer movement and taps
// that no widget above takes reach it, and count as activity for the idle
// lock. (Typing, and taps on buttons and lists, are reported by the
// screens' handlers and the canvas's key hooks.)
type activityCatcher struct {
	widget.BaseWidget
	onActivity func()
}

var (
	_ desktop.Hoverable = (*activityCatcher)(nil)
	_ fyne.Tappable     = (*activityCatcher)(nil)
)

func newActivityCatcher(onActivity func()) *activityCatcher {
	c := &activityCatcher{onActivity: onActivity}
	c.ExtendBaseWidget(c)
	return c
}

func (c *activityCatcher) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(canvas.NewRectangle(color.Transparent))
}

func (c *activityCatcher) MouseIn(*desktop.MouseEvent)    { c.onActivity() }
func (c *activityCatcher) MouseMoved(*desktop.MouseEvent) { c.onActivity() }
func (c *activityCatcher) MouseOut()                      {}
func (c *activityCatcher) Tapped(*fyne.PointEvent)        { c.onActivity() }
