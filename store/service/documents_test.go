package service

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/valv-vault/valv/crypto/card"
	"github.com/valv-vault/valv/store"
	"github.com/valv-vault/valv/store/redact/detect"
)

// zeros is an endless reader of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// testDocuments drives documents through the demo service (a subtest of
// TestDemoService, which owns the only demo vault of the process): attach
// with progress, cancel, preview, protected files, export, the pre-archive
// scan and redacted archive copies of text and an image.
func testDocuments(t *testing.T, s *Service, pin string) {
	if err := s.Unlock(card.DemoSerial, pin); err != nil {
		t.Fatal(err)
	}
	defer s.Lock()
	ctx := context.Background()
	comps, err := s.Compartments()
	if err != nil {
		t.Fatal(err)
	}
	codes, err := s.Customers(comps[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	var code Code // the customer with the demo's picture
	for _, c := range codes {
		docs, err := s.Documents(c)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(docs, func(d Document) bool { return d.Name == "id-kopia.png" }) {
			code = c
		}
	}
	byName := func(name string) Document {
		t.Helper()
		docs, err := s.Documents(code)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(docs, func(d Document) bool { return d.Name == name })
		if i < 0 {
			t.Fatalf("no document %q among %d", name, len(docs))
		}
		return docs[i]
	}
	before, _ := s.Documents(code)

	// Attach, with progress against the size given.
	text := "Kund med personnummer 19121212-1212.\nTelefon 070-123 45 67.\n"
	var last, total int64
	_, err = s.AddDocument(ctx, code, "/home/anna/kund.txt", strings.NewReader(text), int64(len(text)),
		func(done, of int64) { last, total = done, of }, "")
	if err != nil {
		t.Fatal(err)
	}
	if last != int64(len(text)) || total != int64(len(text)) {
		t.Errorf("progress ended at %d of %d; want %d of %d", last, total, len(text), len(text))
	}
	doc := byName("kund.txt")
	if doc.MediaType != "text/plain" {
		t.Errorf("media type %q", doc.MediaType)
	}

	// Cancelling stops a large import and leaves no document.
	cctx, cancel := context.WithCancel(ctx)
	_, err = s.AddDocument(cctx, code, "stor.bin", io.LimitReader(zeros{}, 1<<30), 1<<30, func(done, _ int64) {
		if done >= 4<<20 {
			cancel()
		}
	}, "")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled import: %v", err)
	}
	if docs, _ := s.Documents(code); len(docs) != len(before)+1 {
		t.Fatalf("%d documents after a cancelled import; want %d", len(docs), len(before)+1)
	}

	// Preview: text and an image, in memory.
	c, err := s.OpenDocument(ctx, doc, "")
	if err != nil || c.Kind != ContentText || string(c.Data) != text {
		t.Fatalf("open text: kind %v, %q, %v", c.Kind, c.Data, err)
	}
	c.Wipe()
	png := byName("id-kopia.png")
	c, err = s.OpenDocument(ctx, png, "")
	if err != nil || c.Kind != ContentImage {
		t.Fatalf("open image: kind %v, %v", c.Kind, err)
	}
	img, err := s.PreviewImage(c.Data)
	if err != nil || img.Bounds() != image.Rect(0, 0, 64, 40) {
		t.Fatalf("preview image: %v, %v", img, err)
	}
	huge := doc
	huge.Size = MaxPreview + 1
	if _, err := s.OpenDocument(ctx, huge, ""); !errors.Is(err, ErrTooLargeToPreview) {
		t.Errorf("open a document over MaxPreview: %v", err)
	}

	// A protected document asks for its passphrase.
	const phrase = "korrekt häst batteri"
	if _, err := s.AddDocument(ctx, code, "skyddad.txt", strings.NewReader("hemligt\n"), 8, nil, phrase); err != nil {
		t.Fatal(err)
	}
	prot := byName("skyddad.txt")
	if !prot.Protected {
		t.Fatal("not protected")
	}
	if _, err := s.OpenDocument(ctx, prot, ""); !errors.Is(err, ErrPassphraseNeeded) {
		t.Errorf("without the passphrase: %v", err)
	}
	if _, err := s.OpenDocument(ctx, prot, "fel fras fel fras"); !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("wrong passphrase: %v", err)
	}
	var out bytes.Buffer
	if err := s.ExportDocument(ctx, prot, &out, func(done, of int64) { last, total = done, of }, phrase); err != nil || out.String() != "hemligt\n" || last != 8 || total != 8 {
		t.Fatalf("export: %q, progress %d of %d, %v", out.String(), last, total, err)
	}

	// The pre-archive check, then a copy that keeps the phone number.
	rep, err := s.ScanDocument(ctx, doc, "")
	if err != nil || rep.Counts()[detect.Personnummer] != 1 || rep.Counts()[detect.Phone] != 1 {
		t.Fatalf("scan: %+v, %v", rep, err)
	}
	for _, f := range rep.Findings {
		if strings.Contains(f.Masked, "1212-1212") {
			t.Errorf("the scan shows the value: %q", f.Masked)
		}
	}
	copyID, rep, err := s.RedactDocument(ctx, doc, "", RedactOptions{Keep: []FindingKind{detect.Phone}})
	if err != nil || len(rep.Findings) != 1 {
		t.Fatalf("redact: %+v, %v", rep, err)
	}
	red := byName(string(code) + "-" + strings.ToLower(doc.ID.Short()) + "-redacted.txt")
	if red.ID != copyID {
		t.Fatal("the copy is not the id returned")
	}
	c, err = s.OpenDocument(ctx, red, "")
	if err != nil {
		t.Fatal(err)
	}
	got := string(c.Data)
	if strings.Contains(got, "19121212-1212") || !strings.Contains(got, "070-123 45 67") || !strings.Contains(got, string(code)) {
		t.Errorf("redacted copy:\n%s", got)
	}
	if !audited(t, s, store.ActionDocRedact, string(code)) {
		t.Error("the redaction is not in the audit log")
	}
	if _, _, err := s.RedactDocument(ctx, doc, "", RedactOptions{Keep: FindingKinds}); err == nil {
		t.Error("a copy keeping every kind was made")
	}

	// An image copy with a drawn box.
	if _, _, err := s.RedactDocument(ctx, png, "", RedactOptions{Boxes: []Box{{Rect: image.Rect(0, 0, 32, 20)}}}); err != nil {
		t.Fatal(err)
	}
	c, err = s.OpenDocument(ctx, byName(string(code)+"-"+strings.ToLower(png.ID.Short())+"-redacted.png"), "")
	if err != nil {
		t.Fatal(err)
	}
	img, err = s.PreviewImage(c.Data)
	if err != nil {
		t.Fatal(err)
	}
	if r, g, b, _ := img.At(10, 10).RGBA(); color.RGBA64Model.Convert(img.At(10, 10)) != (color.RGBA64{0, 0, 0, 0xffff}) {
		t.Errorf("pixel in the box is %d,%d,%d; want black", r, g, b)
	}
	if r, _, _, _ := img.At(50, 30).RGBA(); r == 0 {
		t.Error("pixel outside the box is black")
	}
}
