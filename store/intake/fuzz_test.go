package intake

import (
	"bufio"
	"bytes"
	"io"
	"testing"
	"time"

	"filippo.io/age"
)

// FuzzEnvelope parses arbitrary bytes as an intake file's envelope: no
// panic, bounded reading, and what parses writes back the same.
func FuzzEnvelope(f *testing.F) {
	k, _ := age.GenerateX25519Identity()
	r := k.Recipient()
	f.Add(AppendEnvelope(nil, []*age.X25519Recipient{r}, 300))
	f.Add(AppendEnvelope(nil, []*age.X25519Recipient{r, r}, -1))
	f.Add([]byte("valv-intake v1\nto age1\nlength 1\n\n"))
	f.Add([]byte("age-encryption.org/v1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEnvelope(bufio.NewReader(bytes.NewReader(b)))
		if err != nil {
			return
		}
		if e.Size > MaxEnvelope || e.Size > int64(len(b)) || len(e.To) == 0 || len(e.To) > MaxRecipients || e.Length <= 0 || e.Length > MaxSize {
			t.Fatalf("accepted %+v from %d bytes", e, len(b))
		}
		// The canonical form (unpadded length) re-parses the same.
		again, err := ParseEnvelope(bufio.NewReader(bytes.NewReader(AppendEnvelope(nil, e.To, e.Length))))
		if err != nil || again.Length != e.Length || len(again.To) != len(e.To) {
			t.Fatalf("re-parse: %v", err)
		}
	})
}

// FuzzHeader parses arbitrary bytes as a decrypted intake plaintext: no
// panic, a header that parses is valid and round-trips, and the content
// reader never returns more than Size bytes.
func FuzzHeader(f *testing.F) {
	h := &Header{Name: "Avtal.pdf", MediaType: "application/pdf", Size: 3, Sealed: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)}
	f.Add(append(AppendHeader(nil, h), "abc"...))
	f.Add(append(AppendHeader(nil, h), "abcd"...))
	f.Add([]byte("valv-intake-content v1\nname ..\ntype a/b\nsize 0\nsealed 2026-01-02T03:04:05Z\n\n"))
	f.Add([]byte("valv-intake-content v1\nname a\ntype text/plain; charset=\"x\"\nsize 00\nsealed 0000-01-01T00:00:00Z\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, content, err := ReadHeader(bytes.NewReader(b))
		if err != nil {
			return
		}
		if err := h.Check(); err != nil {
			t.Fatalf("parsed an invalid header: %v", err)
		}
		got, err := io.ReadAll(content)
		if int64(len(got)) > h.Size {
			t.Fatalf("content reader returned %d bytes for size %d", len(got), h.Size)
		}
		if err == nil && int64(len(got)) != h.Size {
			t.Fatalf("content of %d bytes for size %d, no error", len(got), h.Size)
		}
		h2, _, err := ReadHeader(bytes.NewReader(AppendHeader(nil, h)))
		if err != nil || h2.Name != h.Name || h2.MediaType != h.MediaType || h2.Size != h.Size || !h2.Sealed.Equal(h.Sealed) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// FuzzSafeName: whatever name a sender's file system gives, SafeName
// makes one that CheckName accepts, and leaves a valid name alone.
func FuzzSafeName(f *testing.F) {
	for _, s := range []string{"Avtal.pdf", "../../etc/passwd", `C:\Users\a\b.pdf`, " ", "..", "a\x00b", "\u202egpj.exe", "\xff\xfe", "x\u00a0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		safe := SafeName(name)
		if err := CheckName(safe); err != nil {
			t.Fatalf("SafeName(%q) = %q: %v", name, safe, err)
		}
		if CheckName(name) == nil && safe != name {
			t.Fatalf("SafeName changed the valid name %q to %q", name, safe)
		}
	})
}
