package ui

import (
	"image/color"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
)

// airGapEvery is how often the network interfaces are looked at again.
const airGapEvery = 30 * time.Second

// airGapColour is the banner's red: the machine is on a network.
var airGapColour = color.NRGBA{R: 0xB9, G: 0x1C, B: 0x1C, A: 0xFF}

// airGapBanner is a red strip at the top of the window while a network
// interface other than loopback is up: Valv belongs on a computer with no
// network. It is hidden otherwise. The engine reads /sys (no sockets).
type airGapBanner struct {
	w       *Window
	content *fyne.Container
	label   *canvas.Text
	status  AirGapStatus
	timer   Timer
	stopped bool
}

func newAirGapBanner(w *Window) *airGapBanner {
	b := &airGapBanner{w: w}
	b.label = canvas.NewText("", color.White)
	b.label.TextStyle = fyne.TextStyle{Bold: true}
	b.label.Alignment = fyne.TextAlignCenter
	b.content = container.NewStack(canvas.NewRectangle(airGapColour), container.NewPadded(b.label))
	b.content.Hide()
	b.check()
	return b
}

// check reads the interfaces, shows or hides the banner, and checks again
// after airGapEvery.
func (b *airGapBanner) check() {
	if b.stopped {
		return
	}
	b.show(b.w.svc.AirGap())
	b.timer = b.w.after(airGapEvery, b.check)
}

func (b *airGapBanner) show(st AirGapStatus) {
	b.status = st
	was := b.content.Visible()
	if st.Isolated() || st.Unknown {
		b.content.Hide()
	} else {
		b.label.Text = T("airgap.banner", arg(strings.Join(linkedNames(st), ", ")))
		b.label.Refresh()
		b.content.Show()
	}
	if was != b.content.Visible() && b.w.nav != nil {
		b.w.nav.relayout()
	}
}

func (b *airGapBanner) stop() {
	b.stopped = true
	if b.timer != nil {
		b.timer.Stop()
	}
}

// linkedNames are the interfaces that can carry traffic.
func linkedNames(st AirGapStatus) []string {
	var out []string
	for _, i := range st.Up {
		if i.Link {
			out = append(out, i.Name)
		}
	}
	return out
}

// airGapText describes the status in a sentence, for the settings screen.
func airGapText(st AirGapStatus) string {
	switch {
	case st.Unknown:
		return T("airgap.unknown")
	case !st.Isolated():
		return T("airgap.connected", arg(strings.Join(linkedNames(st), ", ")))
	case len(st.Up) > 0:
		var names []string
		for _, i := range st.Up {
			names = append(names, i.Name)
		}
		return T("airgap.nolink", arg(strings.Join(names, ", ")))
	}
	return T("airgap.isolated")
}
