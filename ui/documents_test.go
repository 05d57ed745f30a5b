package ui

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/valv-vault/valv/store/service"
)

// uiQueue stands in for the event loop: what transfers hand to toUI
// waits in the queue until the test goroutine (the UI goroutine of a
// test) runs it.
type uiQueue struct{ ch chan func() }

func useUIQueue(t *testing.T) *uiQueue {
	q := &uiQueue{ch: make(chan func(), 4096)}
	old := toUI
	toUI = func(f func()) { q.ch <- f }
	t.Cleanup(func() { toUI = old })
	return q
}

// pump runs what is queued.
func (q *uiQueue) pump() {
	for {
		select {
		case f := <-q.ch:
			f()
		default:
			return
		}
	}
}

// until pumps until cond holds, failing after 10 s.
func (q *uiQueue) until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		q.pump()
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within 10 s: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// slowReader is a large file read slowly: size zero bytes, at most 64
// KiB per Read, each after delay; after gate bytes it waits for open.
type slowReader struct {
	size, gate int64
	delay      time.Duration
	open       chan struct{}
	read       atomic.Int64
	closed     atomic.Bool
	stopped    atomic.Bool // the test ended: fail the import so it ends too
}

// stopAtEnd makes r fail once t ends, so that an import a failed test
// left running does not keep reading (and calling into the window) for
// the rest of the package's tests.
func (r *slowReader) stopAtEnd(t *testing.T) *slowReader {
	t.Cleanup(func() { r.stopped.Store(true) })
	return r
}

func (r *slowReader) Read(p []byte) (int, error) {
	if r.stopped.Load() {
		return 0, errors.New("slowReader: the test ended")
	}
	done := r.read.Load()
	if done >= r.size {
		return 0, io.EOF
	}
	if r.gate > 0 && done >= r.gate {
		<-r.open
	}
	time.Sleep(r.delay)
	n := int(min(int64(len(p)), 64<<10, r.size-done))
	if r.gate > 0 && done < r.gate {
		n = int(min(int64(n), r.gate-done))
	}
	clear(p[:n])
	r.read.Add(int64(n))
	return n, nil
}

func (r *slowReader) Close() error { r.closed.Store(true); return nil }

// openDocs unlocks, opens the first customer and taps Documents….
func openDocs(t *testing.T, svc *fakeService) (*Window, *documentsPanel) {
	t.Helper()
	svc.mu.Lock()
	svc.docStore()
	svc.mu.Unlock()
	w, _ := newTestWindow(t, svc)
	unlock(t, w, svc)
	w.customers.list.Select(0)
	test.Tap(findButton(t, w, T("docs.show")))
	if w.docs == nil {
		t.Fatal("Documents… opens nothing")
	}
	return w, w.docs
}

// buttons returns the buttons labelled text, in order.
func buttons(o fyne.CanvasObject, text string) []*widget.Button {
	var out []*widget.Button
	var walk func(fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		switch v := o.(type) {
		case *widget.Button:
			if v.Text == text {
				out = append(out, v)
			}
		case *fyne.Container:
			for _, c := range v.Objects {
				walk(c)
			}
		case fyne.Widget:
			for _, c := range test.WidgetRenderer(v).Objects() {
				walk(c)
			}
		}
	}
	walk(o)
	return out
}

// tapRow taps the button labelled text of the document named name.
func tapRow(t *testing.T, p *documentsPanel, name, text string) {
	t.Helper()
	i := slices.IndexFunc(p.docs, func(d Document) bool { return d.Name == name })
	bs := buttons(p.list, text)
	if i < 0 || i >= len(bs) {
		t.Fatalf("no %q button for %q (documents %d, buttons %d)", text, name, len(p.docs), len(bs))
	}
	test.Tap(bs[i])
}

func withEnded(svc *fakeService) chan error {
	ch := make(chan error, 4)
	svc.mu.Lock()
	svc.docStore().ended = ch
	svc.mu.Unlock()
	return ch
}

// An import streams on its own goroutine: while a 1 GiB document is
// read (slowly), a tap on View is handled at once and the viewer shows
// the other document; the bar follows the import; Cancel stops it and
// nothing is added.
func TestWindowRespondsDuringImport(t *testing.T) {
	useLanguage(t, "en")
	q := useUIQueue(t)
	svc := newFakeService()
	ended := withEnded(svc)
	w, p := openDocs(t, svc)
	before := len(p.docs)

	big := (&slowReader{size: 1 << 30, delay: 2 * time.Millisecond}).stopAtEnd(t)
	start := time.Now()
	p.startImport("stor.bin", big, big.size)
	// On the UI goroutine the 1 GiB read (2 ms a block) would take
	// minutes; 2 s leaves room for a loaded test machine.
	if time.Since(start) > 2*time.Second {
		t.Fatalf("starting the import took %v: it runs on the UI goroutine", time.Since(start))
	}
	shows(t, w, "Attaching stor.bin…")
	if !p.transfer.Visible() || p.attachB.Disabled() == false {
		t.Fatal("no progress bar, or Attach still enabled, while importing")
	}
	q.until(t, "the import reads", func() bool { return big.read.Load() > 1<<20 })

	// A click while it runs: handled at once.
	tap := time.Now()
	tapRow(t, p, "avtal.txt", "View")
	took := time.Since(tap)
	if p.viewer == nil {
		t.Fatal("the tap on View was not handled during the import")
	}
	shows(t, w, "Personnummer 19121212-1212")
	if read := big.read.Load(); read >= big.size {
		t.Fatal("the import finished before the tap; the test proves nothing")
	}
	t.Logf("tap handled in %v while %d MiB of 1024 were imported", took.Round(time.Microsecond), big.read.Load()>>20)
	if took > 2*time.Second {
		t.Errorf("a tap took %v during the import", took)
	}
	test.Tap(findButton(t, w, "Documents"))

	// The bar moves.
	q.until(t, "the bar moves", func() bool { return p.bar.Value > 0 })
	if !strings.Contains(p.transferLabel.Text, "of 1024.0 MiB") {
		t.Errorf("progress label %q", p.transferLabel.Text)
	}

	test.Tap(p.cancelB)
	var err error
	q.until(t, "the import ends after Cancel", func() bool {
		select {
		case err = <-ended:
			return true
		default:
			return false
		}
	})
	q.until(t, "the window learns it ended", func() bool { return p.running == nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("import ended with %v, want context.Canceled", err)
	}
	shows(t, w, "Attaching stor.bin was cancelled; nothing of it was kept.")
	if p.transfer.Visible() || p.attachB.Disabled() {
		t.Error("the progress bar stays, or Attach stays disabled, after Cancel")
	}
	if len(p.docs) != before || !big.closed.Load() {
		t.Errorf("%d documents after a cancelled import (want %d); reader closed %v", len(p.docs), before, big.closed.Load())
	}
}

// Files dropped on the window are attached one after the other, with
// the bar shown while they are read.
func TestDropAttachesWithProgress(t *testing.T) {
	useLanguage(t, "en")
	q := useUIQueue(t)
	svc := newFakeService()
	ended := withEnded(svc)
	w, p := openDocs(t, svc)
	dir := t.TempDir()
	var uris []fyne.URI
	for i, name := range []string{"brev.txt", "bild.png"} {
		path := filepath.Join(dir, name)
		content := bytes.Repeat([]byte{byte('a' + i)}, 300<<10)
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		uris = append(uris, storage.NewFileURI(path))
	}
	var values []float64
	var mu sync.Mutex
	w.dropped(fyne.NewPos(10, 10), uris)
	if !p.transfer.Visible() {
		t.Fatal("no progress bar after a drop")
	}
	for range uris {
		q.until(t, "an import ends", func() bool {
			mu.Lock()
			values = append(values, p.bar.Value)
			mu.Unlock()
			select {
			case err := <-ended:
				if err != nil {
					t.Fatal(err)
				}
				return true
			default:
				return false
			}
		})
	}
	q.until(t, "both listed", func() bool { return p.running == nil && len(p.docs) == 3 })
	shows(t, w, "bild.png is attached.")
	if !slices.ContainsFunc(values, func(v float64) bool { return v > 0 }) {
		t.Error("the bar never moved")
	}
	for _, d := range p.docs[1:] {
		data, err := svc.content(d, "", "check")
		if err != nil || len(data) != 300<<10 {
			t.Errorf("%s: %d bytes, %v", d.Name, len(data), err)
		}
	}
}

// Locking the window during an import cancels it.
func TestLockCancelsImport(t *testing.T) {
	useLanguage(t, "en")
	q := useUIQueue(t)
	svc := newFakeService()
	ended := withEnded(svc)
	w, p := openDocs(t, svc)
	big := (&slowReader{size: 1 << 30, delay: time.Millisecond}).stopAtEnd(t)
	p.startImport("stor.bin", big, big.size)
	q.until(t, "the import reads", func() bool { return big.read.Load() > 0 })
	w.Lock()
	select {
	case err := <-ended:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("import ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the import goes on after the lock")
	}
	q.pump()
	if w.docs != nil {
		t.Error("the documents panel survives the lock")
	}
}

// An export streams to the chosen file; a wrong passphrase removes the
// file, asks again and exports anew.
func TestExportToFile(t *testing.T) {
	useLanguage(t, "en")
	q := useUIQueue(t)
	svc := newFakeService()
	doc := svc.addFakeDocument(fakeCode(0), "skyddad.txt", "text/plain", []byte("Hemlig bilaga.\n"), "rätt lösenfras")
	w, p := openDocs(t, svc)
	u := storage.NewFileURI(filepath.Join(t.TempDir(), "ut.txt"))
	wc, err := storage.Writer(u)
	if err != nil {
		t.Fatal(err)
	}
	p.startExport(doc, wc, "fel lösenfras")
	q.until(t, "the export ends", func() bool { return p.running == nil })
	if _, err := os.Stat(u.Path()); !os.IsNotExist(err) {
		t.Errorf("a failed export leaves its file: %v", err)
	}
	if p.prompt == nil {
		t.Fatal("a wrong passphrase does not ask again")
	}
	enter(p.prompt.entry, "rätt lösenfras")
	q.until(t, "the second export ends", func() bool { return p.running == nil })
	got, err := os.ReadFile(u.Path())
	if err != nil || string(got) != "Hemlig bilaga.\n" {
		t.Fatalf("exported %q, %v", got, err)
	}
	shows(t, w, "skyddad.txt was exported to "+u.Path())
}

func pngBytes(t *testing.T, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 0xC0
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// findImage returns the first canvas image in o.
func findImage(o fyne.CanvasObject) *canvas.Image {
	switch v := o.(type) {
	case *canvas.Image:
		return v
	case *fyne.Container:
		for _, c := range v.Objects {
			if i := findImage(c); i != nil {
				return i
			}
		}
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(v).Objects() {
			if i := findImage(c); i != nil {
				return i
			}
		}
	}
	return nil
}

// Text and images are shown from memory; going back wipes them; a
// document too large to preview says so and offers Export.
func TestViewTextAndImage(t *testing.T) {
	useLanguage(t, "en")
	svc := newFakeService()
	code := fakeCode(0)
	svc.addFakeDocument(code, "id-kopia.png", "image/png", pngBytes(t, 64, 40), "")
	huge := svc.addFakeDocument(code, "stor.txt", "text/plain", []byte("x"), "")
	svc.mu.Lock()
	svc.docs[code][2].Size = service.MaxPreview + 1
	svc.mu.Unlock()
	w, p := openDocs(t, svc)

	tapRow(t, p, "avtal.txt", "View")
	shows(t, w, "Personnummer 19121212-1212")
	held := p.viewer.data.Data
	test.Tap(findButton(t, w, "Documents"))
	if p.viewer != nil || !bytes.Equal(held, make([]byte, len(held))) {
		t.Error("the plaintext is not wiped when the viewer closes")
	}

	tapRow(t, p, "id-kopia.png", "View")
	img := findImage(p.viewer.content)
	if img == nil || img.Image == nil || img.Image.Bounds() != image.Rect(0, 0, 64, 40) {
		t.Fatalf("image viewer shows %v", img)
	}
	test.Tap(findButton(t, w, "Documents"))

	tapRow(t, p, huge.Name, "View")
	shows(t, w, "too large to show inside Valv. Export it to open it.")
	if svc.count("doc-open") != 2 {
		t.Errorf("%d documents opened; the one too large must not be", svc.count("doc-open"))
	}
	findButton(t, w, "Export…")
}

// A PDF is shown page by page.
func TestViewPDFPages(t *testing.T) {
	useLanguage(t, "en")
	svc := newFakeService()
	svc.addFakeDocument(fakeCode(0), "skanning.pdf", "application/pdf", []byte("FAKEPDF 3"), "")
	w, p := openDocs(t, svc)
	tapRow(t, p, "skanning.pdf", "View")
	shows(t, w, "Page 1 of 3")
	test.Tap(p.viewer.nextB)
	test.Tap(p.viewer.nextB)
	shows(t, w, "Page 3 of 3")
	if !p.viewer.nextB.Disabled() || p.viewer.prevB.Disabled() {
		t.Error("page buttons wrong on the last page")
	}
}

// A protected document asks for its passphrase; a wrong one asks again;
// the entry never keeps what was typed.
func TestProtectedDocumentAsksPassphrase(t *testing.T) {
	useLanguage(t, "en")
	svc := newFakeService()
	svc.addFakeDocument(fakeCode(0), "skyddad.txt", "text/plain", []byte("Hemlig bilaga.\n"), "rätt lösenfras")
	w, p := openDocs(t, svc)
	tapRow(t, p, "skyddad.txt", "View")
	if p.prompt == nil {
		t.Fatal("no passphrase prompt for a protected document")
	}
	if svc.count("doc-open") != 0 {
		t.Fatal("opened before the passphrase was typed")
	}
	entry := p.prompt.entry
	enter(entry, "fel lösenfras")
	if entry.Text != "" {
		t.Error("the passphrase stays in its entry")
	}
	if p.prompt == nil {
		t.Fatal("a wrong passphrase does not ask again")
	}
	overlay := w.Canvas().Overlays().Top()
	if !strings.Contains(strings.Join(texts(overlay), "\n"), "That passphrase does not open this document.") {
		t.Errorf("the second prompt does not say why:\n%s", strings.Join(texts(overlay), "\n"))
	}
	enter(p.prompt.entry, "rätt lösenfras")
	shows(t, w, "Hemlig bilaga.")
	if p.prompt != nil {
		t.Error("the prompt stays after the right passphrase")
	}
}

// The review lists the numbers found (masked), lets a kind be kept and
// boxes be drawn on an image and on PDF pages, and has the engine write
// the copy.
func TestRedactReview(t *testing.T) {
	useLanguage(t, "en")
	svc := newFakeService()
	code := fakeCode(0)
	svc.addFakeDocument(code, "id-kopia.png", "image/png", pngBytes(t, 64, 40), "")
	svc.addFakeDocument(code, "skanning.pdf", "application/pdf", []byte("FAKEPDF 2"), "")
	w, p := openDocs(t, svc)

	tapRow(t, p, "avtal.txt", "Redact…")
	r := p.redactor
	all := shows(t, w, "Remove personnummer (1)")
	for _, want := range []string{"19121212-**12 · 95 % sure · line 2", "Remove phone numbers (1)", "2 identifying numbers found."} {
		if !strings.Contains(all, want) {
			t.Errorf("review lacks %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "19121212-1212") {
		t.Fatal("the review shows a whole number")
	}
	for k, c := range r.checks {
		if k.String() == "phone" {
			test.Tap(c)
		}
	}
	test.Tap(r.saveB)
	svc.mu.Lock()
	opts := svc.fd.redacted
	svc.mu.Unlock()
	if opts == nil || len(opts.Keep) != 1 || opts.Keep[0].String() != "phone" || len(opts.Boxes) != 0 {
		t.Fatalf("redaction asked for %+v; want phone numbers kept", opts)
	}
	shows(t, w, "Saved the redacted copy "+string(code)+"-01-redacted.txt: 1 numbers and 0 boxes removed.")

	// An image: a box dragged on it, in image pixels.
	test.Tap(findButton(t, w, "Documents"))
	tapRow(t, p, "id-kopia.png", "Redact…")
	r = p.redactor
	if r.drawer == nil {
		t.Fatal("no page to draw on for an image")
	}
	drag(t, w, r.drawer, 0.25, 0.25, 0.5, 0.5)
	shows(t, w, "1 boxes drawn")
	test.Tap(r.saveB)
	svc.mu.Lock()
	opts = svc.fd.redacted
	svc.mu.Unlock()
	if len(opts.Boxes) != 1 || opts.Boxes[0].Page != 0 || !near(opts.Boxes[0].Rect, image.Rect(16, 10, 32, 20), 1) {
		t.Fatalf("image boxes %+v; want about (16,10)-(32,20)", opts.Boxes)
	}

	// A PDF: a box on page 2, in points.
	test.Tap(findButton(t, w, "Documents"))
	tapRow(t, p, "skanning.pdf", "Redact…")
	r = p.redactor
	shows(t, w, "Page 1 of 2")
	test.Tap(r.nextB)
	shows(t, w, "Page 2 of 2")
	drag(t, w, r.drawer, 0, 0, 0.5, 0.5)
	test.Tap(r.saveB)
	svc.mu.Lock()
	opts = svc.fd.redacted
	svc.mu.Unlock()
	// Half of a 170×240 page at 20 dpi: 85×120 pixels, 306×432 points.
	if len(opts.Boxes) != 1 || opts.Boxes[0].Page != 2 || !near(opts.Boxes[0].Rect, image.Rect(0, 0, 306, 432), 8) {
		t.Fatalf("PDF boxes %+v; want page 2, about (0,0)-(306,432) points", opts.Boxes)
	}
}

// drag drags on the drawer from (x0, y0) to (x1, y1), as fractions of
// the image shown.
func drag(t *testing.T, w *Window, b *boxDrawer, x0, y0, x1, y1 float32) {
	t.Helper()
	off, s := b.fit()
	ib := b.img.Bounds()
	at := func(fx, fy float32) fyne.Position {
		return off.AddXY(fx*float32(ib.Dx())*s, fy*float32(ib.Dy())*s)
	}
	abs := fyne.CurrentApp().Driver().AbsolutePositionForObject(b)
	from, to := at(x0, y0), at(x1, y1)
	test.Drag(w.Canvas(), abs.Add(to), to.X-from.X, to.Y-from.Y)
}

func near(a, b image.Rectangle, d int) bool {
	abs := func(x int) int { return max(x, -x) }
	return abs(a.Min.X-b.Min.X) <= d && abs(a.Min.Y-b.Min.Y) <= d && abs(a.Max.X-b.Max.X) <= d && abs(a.Max.Y-b.Max.Y) <= d
}

// Golden images of the documents panel while a document is attached,
// in English and Swedish.
func TestGoldenDocuments(t *testing.T) {
	for _, language := range []string{"en", "sv"} {
		t.Run(language, func(t *testing.T) {
			useLanguage(t, language)
			q := useUIQueue(t)
			svc := newFakeService()
			ended := withEnded(svc)
			code := fakeCode(0)
			svc.addFakeDocument(code, "id-kopia.png", "image/png", pngBytes(t, 64, 40), "")
			svc.addFakeDocument(code, "skyddad.pdf", "application/pdf", []byte("FAKEPDF 1"), "rätt lösenfras")
			w, p := openDocs(t, svc)
			r := &slowReader{size: 10 << 20, gate: 4 << 20, open: make(chan struct{})}
			p.startImport("skanning.pdf", r, r.size)
			q.until(t, "the import reaches the gate", func() bool {
				return r.read.Load() == r.gate && p.bar.Value == 0.4
			})
			test.AssertImageMatches(t, "documents_"+language+".png", w.Canvas().Capture())
			test.Tap(p.cancelB)
			close(r.open)
			q.until(t, "the import ends", func() bool {
				select {
				case <-ended:
					return true
				default:
					return false
				}
			})
			q.pump()
		})
	}
}
