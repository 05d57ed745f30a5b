package ui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/valv-vault/valv/store/service"
)

// fakeDocs is the fake service's document store: contents in memory (at
// most fakeKeep bytes of each; larger imports are counted, not kept),
// passphrases of protected documents, and the last redaction asked for.
type fakeDocs struct {
	data       map[DocumentID][]byte
	passphrase map[DocumentID]string
	next       byte
	redacted   *RedactOptions
	ended      chan error // if set, each AddDocument sends its result
}

const fakeKeep = 16 << 20

// docs returns the document store, made on first use; f.mu is held.
func (f *fakeService) docStore() *fakeDocs {
	if f.fd == nil {
		f.fd = &fakeDocs{data: map[DocumentID][]byte{}, passphrase: map[DocumentID]string{}}
		// The document newFakeService lists.
		for code, docs := range f.docs {
			for i := range docs {
				f.fd.next++
				docs[i].ID[0] = f.fd.next
				docs[i].Customer = code
				f.fd.data[docs[i].ID] = []byte("Avtal om förvaring av handlingar.\nPersonnummer 19121212-1212, telefon 070-123 45 67.\n")
				docs[i].Size = int64(len(f.fd.data[docs[i].ID]))
			}
		}
	}
	return f.fd
}

// addFakeDocument files content under code directly.
func (f *fakeService) addFakeDocument(code Code, name, mediaType string, content []byte, passphrase string) Document {
	f.mu.Lock()
	defer f.mu.Unlock()
	fd := f.docStore()
	fd.next++
	d := Document{Customer: code, Name: name, MediaType: mediaType, Size: int64(len(content)),
		Added: time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC), Protected: passphrase != ""}
	d.ID[0] = fd.next
	fd.data[d.ID] = content
	if passphrase != "" {
		fd.passphrase[d.ID] = passphrase
	}
	f.docs[code] = append(f.docs[code], d)
	return d
}

func (f *fakeService) AddDocument(ctx context.Context, code Code, name string, r io.Reader, size int64, progress func(done, total int64), passphrase string) (id DocumentID, err error) {
	f.mu.Lock()
	if err := f.check("doc-add"); err != nil {
		f.mu.Unlock()
		return DocumentID{}, err
	}
	ended := f.docStore().ended
	f.mu.Unlock()
	if ended != nil {
		defer func() { ended <- err }()
	}
	var kept bytes.Buffer
	buf := make([]byte, 64<<10)
	var done int64
	for {
		if err := ctx.Err(); err != nil {
			return DocumentID{}, err
		}
		n, err := r.Read(buf)
		done += int64(n)
		if kept.Len()+n <= fakeKeep {
			kept.Write(buf[:n])
		}
		if n > 0 && progress != nil {
			progress(done, size)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return DocumentID{}, err
		}
	}
	mt := map[string]string{".txt": "text/plain", ".png": "image/png", ".pdf": "application/pdf"}[filepath.Ext(name)]
	d := f.addFakeDocument(code, name, mt, kept.Bytes(), passphrase)
	return d.ID, nil
}

// content returns a document's content, checking its passphrase.
func (f *fakeService) content(doc Document, passphrase, what string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(what); err != nil {
		return nil, err
	}
	fd := f.docStore()
	data, ok := fd.data[doc.ID]
	if !ok {
		return nil, errors.New("store: no document with that id in the compartments this key opens")
	}
	if want, ok := fd.passphrase[doc.ID]; ok {
		switch passphrase {
		case "":
			return nil, service.ErrPassphraseNeeded
		case want:
		default:
			return nil, service.ErrWrongPassphrase
		}
	}
	return data, nil
}

func (f *fakeService) ExportDocument(ctx context.Context, doc Document, w io.Writer, progress func(done, total int64), passphrase string) error {
	data, err := f.content(doc, passphrase, "doc-export")
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	if progress != nil {
		progress(int64(len(data)), doc.Size)
	}
	return nil
}

func (f *fakeService) OpenDocument(ctx context.Context, doc Document, passphrase string) (Content, error) {
	if doc.Size > service.MaxPreview {
		return Content{}, service.ErrTooLargeToPreview
	}
	data, err := f.content(doc, passphrase, "doc-open")
	if err != nil {
		return Content{}, err
	}
	c := Content{Doc: doc, Data: bytes.Clone(data)}
	switch filepath.Ext(doc.Name) {
	case ".txt":
		c.Kind = service.ContentText
	case ".png":
		c.Kind = service.ContentImage
	case ".pdf":
		c.Kind = service.ContentPDF
	}
	return c, nil
}

func (f *fakeService) PreviewImage(data []byte) (image.Image, error) {
	return png.Decode(bytes.NewReader(data))
}

// A fake PDF is "FAKEPDF <pages>"; its pages render as 170×240 pixels
// (A4 at 20 dpi), page n with n dark bars.
func (f *fakeService) PreviewPDFPage(data []byte, page int) (PDFPage, error) {
	var pages int
	if _, err := fmt.Sscanf(string(data), "FAKEPDF %d", &pages); err != nil {
		return PDFPage{}, errors.New("redact: the PDF cannot be read")
	}
	if page < 1 || page > pages {
		return PDFPage{}, fmt.Errorf("redact: the PDF has %d pages; there is no page %d", pages, page)
	}
	img := image.NewRGBA(image.Rect(0, 0, 170, 240))
	for y := range 240 {
		for x := range 170 {
			c := color.RGBA{255, 255, 255, 255}
			if x > 20 && x < 150 && y%30 < 8 && y/30 < page {
				c = color.RGBA{40, 40, 40, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return PDFPage{Image: img, Pages: pages, PixelsPerPoint: 20.0 / 72}, nil
}

// fakeFindings finds the test personnummer and phone number in text.
func fakeFindings(data []byte) RedactReport {
	var rep RedactReport
	for _, v := range []struct {
		value  string
		kind   FindingKind
		masked string
	}{{"19121212-1212", service.FindingKinds[0], "19121212-**12"}, {"070-123 45 67", service.FindingKinds[9], "070-*** ** 67"}} {
		if i := bytes.Index(data, []byte(v.value)); i >= 0 {
			rep.Findings = append(rep.Findings, service.Finding{Kind: v.kind, Masked: v.masked, Confidence: 0.95,
				Start: int64(i), End: int64(i + len(v.value)), Line: 1 + bytes.Count(data[:i], []byte("\n"))})
		}
	}
	return rep
}

func (f *fakeService) ScanDocument(ctx context.Context, doc Document, passphrase string) (RedactReport, error) {
	data, err := f.content(doc, passphrase, "doc-scan")
	if err != nil {
		return RedactReport{}, err
	}
	return fakeFindings(data), nil
}

func (f *fakeService) RedactDocument(ctx context.Context, doc Document, passphrase string, opts RedactOptions) (DocumentID, RedactReport, error) {
	data, err := f.content(doc, passphrase, "doc-redact")
	if err != nil {
		return DocumentID{}, RedactReport{}, err
	}
	rep := fakeFindings(data)
	var kept []service.Finding
	out := string(data)
	for _, fi := range rep.Findings {
		if !containsKind(opts.Keep, fi.Kind) {
			out = strings.Replace(out, string(data[fi.Start:fi.End]), "[REDACTED]", 1)
			kept = append(kept, fi)
		}
	}
	rep.Findings, rep.Boxes = kept, len(opts.Boxes)
	f.mu.Lock()
	f.docStore().redacted = &opts
	f.mu.Unlock()
	d := f.addFakeDocument(doc.Customer, fmt.Sprintf("%s-%02x-redacted%s", doc.Customer, doc.ID[0], filepath.Ext(doc.Name)), doc.MediaType, []byte(out), "")
	return d.ID, rep, nil
}

func containsKind(ks []FindingKind, k FindingKind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}
