// Package assets holds the files built into the binary: the application
// icon (icon.png, rendered from icon.svg beside it).
package assets

import (
	_ "embed"

	"fyne.io/fyne/v2"
)

//go:embed icon.png
var iconPNG []byte

// Icon is Valv's application icon, a vault door with a keyhole.
var Icon fyne.Resource = fyne.NewStaticResource("icon.png", iconPNG)
