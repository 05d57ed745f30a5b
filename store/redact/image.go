package redact

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"
)

// Images are decoded, the boxes are filled with opaque black in the pixels,
// and the image is encoded anew by image/png or image/jpeg, which write no
// metadata: EXIF (with GPS), XMP, ICC profiles, comments, text chunks and
// embedded thumbnails are all left behind. A JPEG's EXIF orientation is
// applied first, so the boxes are in the image as the user saw it and the
// copy looks the same without the tag. In a JPEG, boxes grow to the 16-pixel
// macroblock grid (see fillBoxes).

func decodeConfig(data []byte, kind Kind) (image.Config, error) {
	var cfg image.Config
	var err error
	switch kind {
	case PNG:
		cfg, err = png.DecodeConfig(bytes.NewReader(data))
	case JPEG:
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(data))
	default:
		return cfg, fmt.Errorf("redact: %s is not an image", kind)
	}
	if err != nil {
		return cfg, fmt.Errorf("redact: the %s image cannot be read: %v", kind, err)
	}
	return cfg, nil
}

// decodeImage decodes a PNG or JPEG into an image that can be drawn on:
// *image.Gray, *image.NRGBA (PNG with transparency) or *image.RGBA.
func decodeImage(data []byte, kind Kind, opts *Options) (draw.Image, error) {
	cfg, err := decodeConfig(data, kind)
	if err != nil {
		return nil, err
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("redact: the %s image is empty (%d×%d)", kind, cfg.Width, cfg.Height)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > int64(opts.maxPixels()) {
		return nil, fmt.Errorf("%w: the %s image is %d×%d pixels, more than %d; raise Options.MaxPixels if it is genuine", ErrTooLarge, kind, cfg.Width, cfg.Height, opts.maxPixels())
	}
	var img image.Image
	if kind == PNG {
		img, err = png.Decode(bytes.NewReader(data))
	} else {
		img, err = jpeg.Decode(bytes.NewReader(data))
	}
	if err != nil {
		return nil, fmt.Errorf("redact: the %s image cannot be decoded: %v", kind, err)
	}
	var dst draw.Image
	switch m := img.(type) {
	case *image.Gray:
		dst = m
	case *image.NRGBA:
		dst = m
	case *image.RGBA:
		dst = m
	default:
		rgba := image.NewRGBA(image.Rect(0, 0, m.Bounds().Dx(), m.Bounds().Dy()))
		draw.Draw(rgba, rgba.Bounds(), m, m.Bounds().Min, draw.Src)
		dst = rgba
	}
	if kind == JPEG {
		if o := jpegOrientation(data); o > 1 {
			dst = orient(dst, o)
		}
	}
	return dst, nil
}

// fillBoxes blacks out the boxes (of one page: page 0 takes every box) and
// returns how many it filled. With grid > 1 each box grows outward to that
// grid, so that JPEG blocks are wholly black or wholly outside: a box then
// decodes as uniform black, with no colour bled in from its edges.
func fillBoxes(img draw.Image, boxes []Box, page int, scale float64, grid int) (int, error) {
	n := 0
	b := img.Bounds()
	for _, box := range boxes {
		if page > 0 && box.Page != page {
			continue
		}
		r := box.Rect.Canon()
		if scale != 1 {
			r = image.Rect(int(float64(r.Min.X)*scale), int(float64(r.Min.Y)*scale),
				int(float64(r.Max.X)*scale+0.999), int(float64(r.Max.Y)*scale+0.999))
		}
		r = r.Add(b.Min).Intersect(b)
		if grid > 1 && !r.Empty() {
			r = image.Rect(r.Min.X/grid*grid, r.Min.Y/grid*grid,
				(r.Max.X+grid-1)/grid*grid, (r.Max.Y+grid-1)/grid*grid).Intersect(b)
		}
		if r.Empty() {
			if page > 0 {
				return n, fmt.Errorf("redact: box %v on page %d lies outside the page; PDF boxes are in points from the page's top-left corner", box.Rect, page)
			}
			return n, fmt.Errorf("redact: box %v lies outside the %d×%d image; image boxes are in pixels of the image as displayed", box.Rect, b.Dx(), b.Dy())
		}
		blackOut(img, r)
		n++
	}
	return n, nil
}

func blackOut(img draw.Image, r image.Rectangle) {
	draw.Draw(img, r, image.NewUniform(color.Black), image.Point{}, draw.Src)
}

func redactImage(data []byte, kind Kind, w io.Writer, opts *Options) (Report, error) {
	rep := Report{}
	for _, b := range opts.Boxes {
		if b.Page > 1 {
			return rep, fmt.Errorf("redact: a box is for page %d but an image has one page", b.Page)
		}
	}
	img, err := decodeImage(data, kind, opts)
	if err != nil {
		return rep, err
	}
	grid := 1
	if kind == JPEG {
		grid = 16 // the encoder's 4:2:0 macroblock
	}
	if rep.Boxes, err = fillBoxes(img, opts.Boxes, 0, 1, grid); err != nil {
		return rep, err
	}
	if opts.CustomerCode != "" {
		rep.Notes = append(rep.Notes, "images carry no label; name the file by the customer code")
	}
	rep.Notes = append(rep.Notes, imageNote)
	if kind == PNG {
		err = (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(w, img)
	} else {
		err = jpeg.Encode(w, img, &jpeg.Options{Quality: opts.jpegQuality()})
	}
	if err != nil {
		return rep, fmt.Errorf("redact: writing the %s image: %w", kind, err)
	}
	return rep, nil
}

const imageNote = "text in images is not searched (Valv does no OCR): check the image by eye and draw boxes over identifying numbers"

func scanImage(data []byte, kind Kind, opts *Options) (Report, error) {
	cfg, err := decodeConfig(data, kind)
	if err != nil {
		return Report{}, err
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > int64(opts.maxPixels()) {
		return Report{}, fmt.Errorf("%w: the %s image is %d×%d pixels, more than %d", ErrTooLarge, kind, cfg.Width, cfg.Height, opts.maxPixels())
	}
	return Report{Notes: []string{imageNote}}, nil
}

// jpegOrientation returns the EXIF orientation (1-8) of a JPEG, 1 if it has
// none or the EXIF data cannot be read.
func jpegOrientation(b []byte) int {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return 1
	}
	p := 2
	for p+4 <= len(b) {
		if b[p] != 0xFF {
			return 1
		}
		marker := b[p+1]
		switch {
		case marker == 0xFF: // fill byte
			p++
			continue
		case marker == 0xDA || marker == 0xD9: // start of scan, end of image
			return 1
		case marker >= 0xD0 && marker <= 0xD7 || marker == 0x01:
			p += 2
			continue
		}
		l := int(b[p+2])<<8 | int(b[p+3])
		if l < 2 || p+2+l > len(b) {
			return 1
		}
		seg := b[p+4 : p+2+l]
		if marker == 0xE1 && len(seg) >= 6 && string(seg[:6]) == "Exif\x00\x00" {
			if o := tiffOrientation(seg[6:]); o != 0 {
				return o
			}
		}
		p += 2 + l
	}
	return 1
}

// tiffOrientation reads tag 0x0112 from the first IFD of a TIFF header, or
// returns 0.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	if bo.Uint16(t[2:]) != 42 {
		return 0
	}
	off := uint64(bo.Uint32(t[4:]))
	if off+2 > uint64(len(t)) {
		return 0
	}
	n := int(bo.Uint16(t[off:]))
	for i := 0; i < n; i++ {
		e := int(off) + 2 + 12*i
		if e+12 > len(t) {
			return 0
		}
		if bo.Uint16(t[e:]) != 0x0112 {
			continue
		}
		if bo.Uint16(t[e+2:]) != 3 { // SHORT
			return 0
		}
		if v := int(bo.Uint16(t[e+8:])); v >= 1 && v <= 8 {
			return v
		}
		return 0
	}
	return 0
}

var errOrient = errors.New("redact: unexpected image type")

// orient returns img turned by EXIF orientation o (2-8).
func orient(img draw.Image, o int) draw.Image {
	var pix []byte
	var stride, bpp int
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	switch m := img.(type) {
	case *image.RGBA:
		pix, stride, bpp = m.Pix, m.Stride, 4
	case *image.Gray:
		pix, stride, bpp = m.Pix, m.Stride, 1
	default:
		panic(errOrient)
	}
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	out := make([]byte, dw*dh*bpp)
	for y := 0; y < dh; y++ {
		for x := 0; x < dw; x++ {
			var sx, sy int
			switch o {
			case 2:
				sx, sy = w-1-x, y
			case 3:
				sx, sy = w-1-x, h-1-y
			case 4:
				sx, sy = x, h-1-y
			case 5:
				sx, sy = y, x
			case 6:
				sx, sy = y, h-1-x
			case 7:
				sx, sy = w-1-y, h-1-x
			case 8:
				sx, sy = w-1-y, x
			}
			copy(out[(y*dw+x)*bpp:(y*dw+x+1)*bpp], pix[sy*stride+sx*bpp:sy*stride+(sx+1)*bpp])
		}
	}
	r := image.Rect(0, 0, dw, dh)
	if bpp == 4 {
		return &image.RGBA{Pix: out, Stride: dw * 4, Rect: r}
	}
	return &image.Gray{Pix: out, Stride: dw, Rect: r}
}
