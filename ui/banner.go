package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
)

// demoBannerColour is a warning amber that reads on light and dark themes.
var demoBannerColour = color.NRGBA{R: 0xB4, G: 0x53, B: 0x09, A: 0xFF}

// demoBanner is the permanent strip shown in demo mode. It cannot be
// dismissed: nothing done in demo mode is secure. It shows the demo
// card's PIN and PUK, which guard nothing.
func demoBanner(pin, puk string) fyne.CanvasObject {
	text := T("demo.banner")
	if pin != "" {
		text += "  " + T("demo.pin", arg(pin))
	}
	if puk != "" {
		text += "  " + T("demo.puk", arg(puk))
	}
	label := canvas.NewText(text, color.White)
	label.TextStyle = fyne.TextStyle{Bold: true}
	label.Alignment = fyne.TextAlignCenter
	bg := canvas.NewRectangle(demoBannerColour)
	return container.NewStack(bg, container.NewPadded(label))
}
