package ui

// clipboardGuard remembers what Valv put on the clipboard, to clear it
// again after the delay of the settings (and when the window locks), but
// only if the clipboard still holds it: something copied since from
// elsewhere is left alone.
type clipboardGuard struct {
	text  string
	timer Timer
}

// copyText puts text on the clipboard and clears it after the delay of
// the settings.
func (w *Window) copyText(text string) {
	g := &w.nav.clip
	if g.timer != nil {
		g.timer.Stop()
	}
	w.app.Clipboard().SetContent(text)
	g.text = text
	g.timer = w.after(w.settings.clipboard(), func() { w.nav.clip.clear(w) })
}

// clear empties the clipboard if it still holds what Valv put there.
func (g *clipboardGuard) clear(w *Window) {
	if g.timer != nil {
		g.timer.Stop()
		g.timer = nil
	}
	if g.text == "" {
		return
	}
	cb := w.app.Clipboard()
	if cb.Content() == g.text {
		cb.SetContent("")
	}
	g.text = ""
}
