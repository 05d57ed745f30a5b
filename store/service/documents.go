package service

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"mime"
	"path/filepath"
	"slices"
	"strings"

	"github.com/valv-vault/valv/store"
	"github.com/valv-vault/valv/store/redact"
	"github.com/valv-vault/valv/store/redact/detect"
)

// Documents for the window: attach (streamed, with progress and
// cancellation), export (streamed), preview (decrypted into memory only,
// up to MaxPreview bytes, never to a file), and redacted archive copies.
// Every read of a document's content is an export in the store's audit
// log (doc-export, with the customer's code); a redacted copy adds
// doc-redact and doc-add.

// Types of documents the window shows.
type (
	// DocumentID names a stored document.
	DocumentID = store.DocumentID
	// RedactReport says what a scan found or a redaction removed; its
	// findings hold masked values only.
	RedactReport = redact.Report
	// Finding is one value found in a document, masked.
	Finding = redact.Finding
	// FindingKind is a kind of identifying number (personnummer, card…).
	FindingKind = detect.Kind
	// Box is a rectangle to black out: in pixels of an image as
	// previewed, or in points of a PDF page (see PDFPage).
	Box = redact.Box
	// PDFPage is one rendered page of a PDF, with the scale from its
	// pixels to the points of a Box.
	PDFPage = redact.PDFPage
)

// FindingKinds lists every kind of number the detectors find.
var FindingKinds = detect.Kinds

// Errors of documents the window tells apart.
var (
	// ErrPassphraseNeeded: the document is protected; ask for its
	// passphrase and call again with it.
	ErrPassphraseNeeded = store.ErrPassphraseNeeded
	// ErrWrongPassphrase: the passphrase given does not open it.
	ErrWrongPassphrase = store.ErrWrongPassphrase
	// ErrTooLargeToPreview: OpenDocument refuses a document larger than
	// MaxPreview; export it instead.
	ErrTooLargeToPreview = fmt.Errorf("the document is larger than %d MiB, too large to show inside Valv: export it to read it", MaxPreview>>20)
)

// MaxPreview is the largest document OpenDocument decrypts into memory.
const MaxPreview = 64 << 20

// ContentKind is how the window shows a document.
type ContentKind int

// How documents are shown.
const (
	ContentOther ContentKind = iota // not shown inside Valv: export it
	ContentText                     // text, CSV, JSON, Markdown
	ContentImage                    // PNG, JPEG
	ContentPDF                      // PDF, rendered page by page
)

// Content is a document decrypted into memory for the viewer. Wipe it
// when it is no longer shown.
type Content struct {
	Doc  Document
	Kind ContentKind
	Data []byte
}

// Wipe overwrites the plaintext and drops it.
func (c *Content) Wipe() {
	clear(c.Data)
	c.Data = nil
}

// AddDocument attaches the content read from r to a customer, streamed in
// chunks (memory stays bounded whatever its size). name is the file's
// name (its folder is dropped); the media type is taken from the name's
// extension or, failing that, the first bytes. size is the expected
// length, for progress(done, size) (0 if unknown). Cancelling ctx stops
// the import and leaves nothing behind. A non-empty passphrase protects
// the document (at least store.MinDocumentPassphrase characters).
func (s *Service) AddDocument(ctx context.Context, code Code, name string, r io.Reader, size int64, progress func(done, total int64), passphrase string) (DocumentID, error) {
	sess, err := s.session()
	if err != nil {
		return DocumentID{}, err
	}
	name = filepath.Base(filepath.Clean(name))
	br := bufio.NewReaderSize(r, 4096)
	head, err := br.Peek(4096)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return DocumentID{}, fmt.Errorf("reading %s: %w", name, err)
	}
	var p func(int64)
	if progress != nil {
		p = func(done int64) { progress(done, size) }
	}
	return sess.AddDocument(ctx, code, name, mediaType(name, head), br, p, store.DocumentOptions{Passphrase: passphrase})
}

// mediaType names the type of a file from its extension, or its first
// bytes.
func mediaType(name string, head []byte) string {
	ext := strings.ToLower(filepath.Ext(name))
	known := map[string]string{
		".txt": "text/plain", ".text": "text/plain", ".log": "text/plain", ".csv": "text/csv",
		".json": "application/json", ".md": "text/markdown", ".png": "image/png",
		".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".pdf": "application/pdf",
	}
	if t, ok := known[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" && ext != "" {
		return t
	}
	switch redact.Sniff(head, name) {
	case redact.PDF:
		return "application/pdf"
	case redact.PNG:
		return "image/png"
	case redact.JPEG:
		return "image/jpeg"
	case redact.Text, redact.CSV, redact.JSON, redact.Markdown:
		return "text/plain"
	}
	return "application/octet-stream"
}

// ExportDocument writes a document's content to w, streamed, with
// progress(done, doc.Size). A protected document needs its passphrase
// (ErrPassphraseNeeded, ErrWrongPassphrase: nothing was written). A
// damaged document fails after part of it was written: the caller
// discards w. Audited as an export.
func (s *Service) ExportDocument(ctx context.Context, doc Document, w io.Writer, progress func(done, total int64), passphrase string) error {
	sess, err := s.session()
	if err != nil {
		return err
	}
	var p func(int64)
	if progress != nil {
		p = func(done int64) { progress(done, doc.Size) }
	}
	_, err = sess.ExportDocument(ctx, doc.ID, w, p, store.DocumentOptions{Passphrase: passphrase})
	return err
}

// capped is a bytes.Buffer that refuses to grow past max.
type capped struct {
	bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	if c.Len()+len(p) > c.max {
		return 0, ErrTooLargeToPreview
	}
	return c.Buffer.Write(p)
}

// OpenDocument decrypts a document into memory for the viewer: at most
// MaxPreview bytes (ErrTooLargeToPreview before anything is read), never
// to a file. Audited as an export. The caller wipes the Content.
func (s *Service) OpenDocument(ctx context.Context, doc Document, passphrase string) (Content, error) {
	if doc.Size > MaxPreview {
		return Content{}, ErrTooLargeToPreview
	}
	sess, err := s.session()
	if err != nil {
		return Content{}, err
	}
	buf := &capped{max: MaxPreview}
	buf.Grow(int(doc.Size))
	if _, err := sess.ExportDocument(ctx, doc.ID, buf, nil, store.DocumentOptions{Passphrase: passphrase}); err != nil {
		clear(buf.Bytes())
		return Content{}, err
	}
	c := Content{Doc: doc, Data: buf.Bytes()}
	switch redact.Sniff(c.Data[:min(len(c.Data), 4096)], doc.Name) {
	case redact.Text, redact.CSV, redact.JSON, redact.Markdown:
		c.Kind = ContentText
	case redact.PNG, redact.JPEG:
		c.Kind = ContentImage
	case redact.PDF:
		c.Kind = ContentPDF
	}
	return c, nil
}

// PreviewImage decodes a PNG or JPEG of an opened document as displayed
// (EXIF orientation applied): its pixels are the coordinates of an image
// Box.
func (s *Service) PreviewImage(data []byte) (image.Image, error) {
	return redact.DecodeImage(data, redact.Options{})
}

// previewDPI is the resolution of PDF pages in the viewer.
const previewDPI = 100

// PreviewPDFPage renders page (from 1) of an opened PDF in memory, in
// PDFium's WebAssembly sandbox.
func (s *Service) PreviewPDFPage(data []byte, page int) (PDFPage, error) {
	return redact.RenderPDFPage(data, page, redact.Options{DPI: previewDPI})
}

// ScanDocument is the pre-archive check: which identifying numbers a
// document holds, masked. Audited as an export.
func (s *Service) ScanDocument(ctx context.Context, doc Document, passphrase string) (RedactReport, error) {
	sess, err := s.session()
	if err != nil {
		return RedactReport{}, err
	}
	return sess.ScanDocument(ctx, doc.ID, store.DocumentOptions{Passphrase: passphrase})
}

// RedactOptions choose what a redacted copy removes besides every number
// found.
type RedactOptions struct {
	// Keep are kinds of number the person reviewing chose to leave in
	// the copy.
	Keep []FindingKind
	// Boxes are drawn areas to black out (images and PDFs).
	Boxes []Box
}

// RedactDocument makes a redacted archive copy of a document, filed
// under the same customer as "<code>-<id>-redacted.<ext>", and returns its
// id and what was removed. The original is kept.
func (s *Service) RedactDocument(ctx context.Context, doc Document, passphrase string, opts RedactOptions) (DocumentID, RedactReport, error) {
	sess, err := s.session()
	if err != nil {
		return DocumentID{}, RedactReport{}, err
	}
	var kinds []FindingKind
	for _, k := range detect.Kinds {
		if !slices.Contains(opts.Keep, k) {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) == 0 {
		// The zero set means every kind: refuse rather than remove all.
		return DocumentID{}, RedactReport{}, errors.New("every kind of number is kept, so the copy would redact nothing found: tick at least one kind")
	}
	return sess.RedactDocument(ctx, doc.ID, store.DocumentOptions{Passphrase: passphrase}, redact.Options{Kinds: detect.SetOf(kinds...), Boxes: opts.Boxes})
}
