package ui

import (
	"image"
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/widget"
)

// boxDrawer shows an image (a picture, or a rendered PDF page) scaled to
// fit, and lets the person drag rectangles on it: the areas a redacted
// copy blacks out. Boxes are kept in pixels of the image, whatever size
// it is shown at; a secondary tap (right click) on a box removes it.
type boxDrawer struct {
	widget.BaseWidget
	img      image.Image
	boxes    []image.Rectangle
	onChange func()

	dragging   bool
	start, cur fyne.Position
}

func newBoxDrawer(img image.Image, onChange func()) *boxDrawer {
	b := &boxDrawer{img: img, onChange: onChange}
	b.ExtendBaseWidget(b)
	return b
}

// setImage shows another image with its boxes.
func (b *boxDrawer) setImage(img image.Image, boxes []image.Rectangle) {
	b.img, b.boxes, b.dragging = img, boxes, false
	b.Refresh()
}

// fit returns where the image stands in the widget and its scale
// (widget units per image pixel).
func (b *boxDrawer) fit() (fyne.Position, float32) {
	sz, ib := b.Size(), b.img.Bounds()
	if ib.Dx() == 0 || ib.Dy() == 0 || sz.Width <= 0 || sz.Height <= 0 {
		return fyne.Position{}, 1
	}
	s := min(sz.Width/float32(ib.Dx()), sz.Height/float32(ib.Dy()))
	return fyne.NewPos((sz.Width-s*float32(ib.Dx()))/2, (sz.Height-s*float32(ib.Dy()))/2), s
}

// toImage maps a position in the widget to a pixel of the image,
// clamped to the image.
func (b *boxDrawer) toImage(p fyne.Position) image.Point {
	off, s := b.fit()
	ib := b.img.Bounds()
	x := int((p.X - off.X) / s)
	y := int((p.Y - off.Y) / s)
	return image.Pt(min(max(x, 0), ib.Dx()), min(max(y, 0), ib.Dy()))
}

// toWidget maps an image rectangle to the widget.
func (b *boxDrawer) toWidget(r image.Rectangle) (fyne.Position, fyne.Size) {
	off, s := b.fit()
	return fyne.NewPos(off.X+float32(r.Min.X)*s, off.Y+float32(r.Min.Y)*s),
		fyne.NewSize(float32(r.Dx())*s, float32(r.Dy())*s)
}

// Dragged draws the rectangle from where the drag began.
func (b *boxDrawer) Dragged(e *fyne.DragEvent) {
	if !b.dragging {
		b.dragging = true
		b.start = e.Position.Subtract(e.Dragged)
	}
	b.cur = e.Position
	b.Refresh()
}

// DragEnd keeps the rectangle, unless it is too small to mean anything.
func (b *boxDrawer) DragEnd() {
	if !b.dragging {
		return
	}
	b.dragging = false
	r := image.Rectangle{Min: b.toImage(b.start), Max: b.toImage(b.cur)}.Canon()
	if r.Dx() >= 2 && r.Dy() >= 2 {
		b.boxes = append(b.boxes, r)
		if b.onChange != nil {
			b.onChange()
		}
	}
	b.Refresh()
}

// TappedSecondary removes the last box drawn under the pointer.
func (b *boxDrawer) TappedSecondary(e *fyne.PointEvent) {
	p := b.toImage(e.Position)
	for i := len(b.boxes) - 1; i >= 0; i-- {
		if p.In(b.boxes[i]) {
			b.boxes = append(b.boxes[:i], b.boxes[i+1:]...)
			if b.onChange != nil {
				b.onChange()
			}
			b.Refresh()
			return
		}
	}
}

// MinSize leaves room to draw.
func (b *boxDrawer) MinSize() fyne.Size { return fyne.NewSize(200, 200) }

func (b *boxDrawer) CreateRenderer() fyne.WidgetRenderer {
	r := &boxRenderer{b: b, img: canvas.NewImageFromImage(b.img)}
	r.img.FillMode = canvas.ImageFillContain
	r.band = newBoxRect()
	return r
}

var (
	boxFill   = color.NRGBA{A: 0xD0}
	boxStroke = color.NRGBA{R: 0xE0, G: 0x20, B: 0x20, A: 0xFF}
)

func newBoxRect() *canvas.Rectangle {
	r := canvas.NewRectangle(boxFill)
	r.StrokeColor = boxStroke
	r.StrokeWidth = 2
	return r
}

type boxRenderer struct {
	b     *boxDrawer
	img   *canvas.Image
	rects []*canvas.Rectangle
	band  *canvas.Rectangle
}

func (r *boxRenderer) Layout(size fyne.Size) {
	r.img.Resize(size)
	r.img.Move(fyne.Position{})
	for len(r.rects) < len(r.b.boxes) {
		r.rects = append(r.rects, newBoxRect())
	}
	r.rects = r.rects[:len(r.b.boxes)]
	for i, box := range r.b.boxes {
		pos, sz := r.b.toWidget(box)
		r.rects[i].Move(pos)
		r.rects[i].Resize(sz)
	}
	if r.b.dragging {
		band := image.Rectangle{Min: r.b.toImage(r.b.start), Max: r.b.toImage(r.b.cur)}.Canon()
		pos, sz := r.b.toWidget(band)
		r.band.Move(pos)
		r.band.Resize(sz)
		r.band.Show()
	} else {
		r.band.Hide()
	}
}

func (r *boxRenderer) MinSize() fyne.Size { return r.b.MinSize() }

func (r *boxRenderer) Refresh() {
	if r.img.Image != r.b.img {
		r.img.Image = r.b.img
	}
	r.Layout(r.b.Size())
	r.img.Refresh()
	for _, o := range r.rects {
		o.Refresh()
	}
	r.band.Refresh()
}

func (r *boxRenderer) Objects() []fyne.CanvasObject {
	objs := []fyne.CanvasObject{r.img}
	for _, o := range r.rects {
		objs = append(objs, o)
	}
	return append(objs, r.band)
}

func (r *boxRenderer) Destroy() {}
