package intake

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
)

// memFile is an in-memory io.WriteSeeker.
type memFile struct {
	b   []byte
	off int64
}

func (m *memFile) Write(p []byte) (int, error) {
	if end := m.off + int64(len(p)); end > int64(len(m.b)) {
		m.b = append(m.b, make([]byte, end-int64(len(m.b)))...)
	}
	copy(m.b[m.off:], p)
	m.off += int64(len(p))
	return len(p), nil
}

func (m *memFile) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
		m.off = off
	case io.SeekCurrent:
		m.off += off
	case io.SeekEnd:
		m.off = int64(len(m.b)) + off
	}
	return m.off, nil
}

func newKey(t testing.TB) *age.X25519Identity {
	t.Helper()
	k, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var when = time.Date(2026, 3, 4, 5, 6, 7, 890, time.UTC)

func seal(t testing.TB, to []*age.X25519Recipient, name string, content []byte) []byte {
	t.Helper()
	var m memFile
	h := &Header{Name: name, MediaType: MediaType(name, content), Size: int64(len(content)), Sealed: when}
	if err := Seal(&m, to, h, bytes.NewReader(content), nil); err != nil {
		t.Fatal(err)
	}
	return m.b
}

// open parses an intake file and decrypts it with id.
func open(file []byte, id age.Identity) (*Envelope, *Header, []byte, error) {
	br := bufio.NewReader(bytes.NewReader(file))
	env, err := ParseEnvelope(br)
	if err != nil {
		return nil, nil, nil, err
	}
	if int64(len(file)) != env.Size+env.Length {
		return env, nil, nil, fmt.Errorf("length %d, envelope says %d", len(file), env.Size+env.Length)
	}
	plain, err := age.Decrypt(br, id)
	if err != nil {
		return env, nil, nil, err
	}
	h, content, err := ReadHeader(plain)
	if err != nil {
		return env, nil, nil, err
	}
	b, err := io.ReadAll(content)
	return env, h, b, err
}

func TestSealRoundTrip(t *testing.T) {
	a, b := newKey(t), newKey(t)
	for _, n := range []int{0, 1, 64<<10 - 200, 64 << 10, 200 << 10} {
		content := bytes.Repeat([]byte("kanarie "), n/8+1)[:n]
		file := seal(t, []*age.X25519Recipient{a.Recipient(), b.Recipient()}, "Avtal Kanarieström.pdf", content)
		for _, id := range []*age.X25519Identity{a, b} {
			env, h, got, err := open(file, id)
			if err != nil {
				t.Fatalf("%d bytes: %v", n, err)
			}
			if len(env.To) != 2 || !env.Has(a.Recipient().String()) || !env.Has(b.Recipient().String()) {
				t.Errorf("envelope recipients %v", env.Recipients())
			}
			if h.Name != "Avtal Kanarieström.pdf" || h.Size != int64(n) || !h.Sealed.Equal(when) {
				t.Errorf("header %+v", h)
			}
			if !bytes.Equal(got, content) {
				t.Errorf("%d bytes: content differs", n)
			}
		}
		if bytes.Contains(file, []byte("Kanarie")) || bytes.Contains(file, []byte("kanarie")) {
			t.Errorf("the intake file shows the name or content in the clear")
		}
	}
}

// TestStockAge makes an intake file with printf and the stock age
// command line, as SPEC.md describes, and imports the one Seal makes
// back into stock age: the format is what SPEC.md says.
func TestStockAge(t *testing.T) {
	ageBin, err := exec.LookPath("age")
	if err != nil {
		t.Skip("no age command")
	}
	dir := t.TempDir()
	k := newKey(t)
	keyFile := filepath.Join(dir, "key.txt")
	os.WriteFile(keyFile, []byte(k.String()+"\n"), 0o600)
	content := []byte("scanned contract\nline two\n")
	os.WriteFile(filepath.Join(dir, "contract.txt"), content, 0o600)
	script := `set -e
cd "$1"
R=$(cat recipient.txt)
{ printf 'valv-intake-content v1\nname contract.txt\ntype text/plain\nsize %d\nsealed %s\n\n' \
    "$(stat -c %s contract.txt)" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"; cat contract.txt; } |
  "$2" -r "$R" -o body.age
{ printf 'valv-intake v1\nto %s\nlength %d\n\n' "$R" "$(stat -c %s body.age)"; cat body.age; } > by-hand.valvin
`
	os.WriteFile(filepath.Join(dir, "recipient.txt"), []byte(k.Recipient().String()), 0o600)
	if out, err := exec.Command("sh", "-c", script, "sh", dir, ageBin).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	file, err := os.ReadFile(filepath.Join(dir, "by-hand.valvin"))
	if err != nil {
		t.Fatal(err)
	}
	_, h, got, err := open(file, k)
	if err != nil {
		t.Fatal(err)
	}
	if h.Name != "contract.txt" || h.MediaType != "text/plain" || !bytes.Equal(got, content) {
		t.Errorf("header %+v, content %q", h, got)
	}

	// And the other way: stock age opens what SealFile writes, after
	// the envelope (whose length is fixed for one recipient).
	path, err := SealFile(dir, []*age.X25519Recipient{k.Recipient()}, filepath.Join(dir, "contract.txt"), when, nil)
	if err != nil {
		t.Fatal(err)
	}
	env, err := ParseEnvelope(bufio.NewReader(mustOpen(t, path)))
	if err != nil {
		t.Fatal(err)
	}
	if env.Size != 110 {
		t.Errorf("a one-recipient envelope is %d bytes; SPEC.md says 110", env.Size)
	}
	out, err := exec.Command("sh", "-c", `tail -c +111 "$1" | "$2" -d -i "$3"`, "sh", path, ageBin, keyFile).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := "valv-intake-content v1\nname contract.txt\ntype text/plain; charset=utf-8\nsize 26\nsealed 2026-03-04T05:06:07.00000089Z\n\n" + string(content)
	if string(out) != want {
		t.Errorf("stock age reads\n%q\nwant\n%q", out, want)
	}
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestSealFile(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	os.Mkdir(out, 0o700)
	k := newKey(t)
	src := filepath.Join(dir, "Kanarieström passport.jpg")
	os.WriteFile(src, []byte("\xff\xd8\xff\xe0 a jpeg"), 0o644)
	var paths []string
	for range 3 {
		p, err := SealFile(out, []*age.X25519Recipient{k.Recipient()}, src, when, nil)
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	ents, _ := os.ReadDir(out)
	if len(ents) != 3 {
		t.Fatalf("%d files in the output folder; want 3 (no temporary left, none overwritten)", len(ents))
	}
	for _, p := range paths {
		base := filepath.Base(p)
		if len(base) != 32+len(Ext) || !strings.HasSuffix(base, Ext) || strings.Contains(strings.ToLower(base), "kanarie") {
			t.Errorf("output name %q: want 32 random hex digits and %s", base, Ext)
		}
		st, _ := os.Stat(p)
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v", base, st.Mode())
		}
		_, h, got, err := open(readFile(t, p), k)
		if err != nil || h.Name != "Kanarieström passport.jpg" || h.MediaType != "image/jpeg" || string(got) != "\xff\xd8\xff\xe0 a jpeg" {
			t.Errorf("%s: %v %+v", base, err, h)
		}
	}
	if _, err := SealFile(out, []*age.X25519Recipient{k.Recipient()}, dir, when, nil); err == nil {
		t.Error("sealed a folder")
	}
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSealStreams seals 64 MiB and checks that allocations do not grow
// with the content: a 1 GiB file seals in the same memory.
func TestSealStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB")
	}
	k := newKey(t)
	const size = 64 << 20
	var m discardSeeker
	h := &Header{Name: "big.bin", MediaType: "application/octet-stream", Size: size, Sealed: when}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var calls int
	if err := Seal(&m, []*age.X25519Recipient{k.Recipient()}, h, io.LimitReader(zeros{}, size), func(int64) { calls++ }); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("sealing 64 MiB allocated %d bytes; it should stream", alloc)
	}
	if m.n < size || calls == 0 {
		t.Errorf("wrote %d bytes, %d progress calls", m.n, calls)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

type discardSeeker struct{ n, off int64 }

func (d *discardSeeker) Write(p []byte) (int, error) {
	d.off += int64(len(p))
	d.n = max(d.n, d.off)
	return len(p), nil
}

func (d *discardSeeker) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
		d.off = off
	case io.SeekEnd:
		d.off = d.n + off
	}
	return d.off, nil
}

func TestSealChecksSize(t *testing.T) {
	k := []*age.X25519Recipient{newKey(t).Recipient()}
	for _, n := range []int64{9, 11} {
		var m memFile
		h := &Header{Name: "a.txt", MediaType: "text/plain", Size: n, Sealed: when}
		if err := Seal(&m, k, h, strings.NewReader("0123456789"), nil); err == nil {
			t.Errorf("header size %d, content 10: sealed", n)
		}
	}
}

func TestEnvelopeErrors(t *testing.T) {
	r := newKey(t).Recipient().String()
	good := fmt.Sprintf("valv-intake v1\nto %s\nlength 300\n\n", r)
	if _, err := ParseEnvelope(bufio.NewReader(strings.NewReader(good))); err != nil {
		t.Fatalf("good envelope: %v", err)
	}
	for name, env := range map[string]string{
		"empty":         "",
		"age file":      "age-encryption.org/v1\n-> X25519 abc\n",
		"newer":         "valv-intake v2\nto " + r + "\nlength 300\n\n",
		"no recipient":  "valv-intake v1\nlength 300\n\n",
		"bad recipient": "valv-intake v1\nto age1yubikey1qqqq\nlength 300\n\n",
		"short length":  "valv-intake v1\nto " + r + "\nlength 10\n\n",
		"signed length": "valv-intake v1\nto " + r + "\nlength +300\n\n",
		"leading zeros": "valv-intake v1\nto " + r + "\nlength 0300\n\n",
		"huge length":   "valv-intake v1\nto " + r + "\nlength 99999999999999999999\n\n",
		"no blank line": "valv-intake v1\nto " + r + "\nlength 300\nX",
		"CRLF":          "valv-intake v1\r\nto " + r + "\r\nlength 300\r\n\r\n",
		"unknown line":  "valv-intake v1\nto " + r + "\nfrom me\nlength 300\n\n",
		"too many":      "valv-intake v1\n" + strings.Repeat("to "+r+"\n", 9) + "length 300\n\n",
		"endless":       "valv-intake v1\nto " + strings.Repeat("x", 5000),
	} {
		if _, err := ParseEnvelope(bufio.NewReader(strings.NewReader(env))); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
	if _, err := ParseEnvelope(bufio.NewReader(strings.NewReader("%PDF-1.4\n"))); !errors.Is(err, ErrNotIntake) {
		t.Errorf("a PDF: %v", err)
	}
}

func TestHeaderErrors(t *testing.T) {
	h := func(name, typ, size, sealed string) string {
		return "valv-intake-content v1\nname " + name + "\ntype " + typ + "\nsize " + size + "\nsealed " + sealed + "\n\n"
	}
	good := h("a.pdf", "application/pdf", "3", "2026-01-02T03:04:05Z") + "abc"
	if _, c, err := ReadHeader(strings.NewReader(good)); err != nil {
		t.Fatal(err)
	} else if b, err := io.ReadAll(c); err != nil || string(b) != "abc" {
		t.Fatalf("content %q, %v", b, err)
	}
	for name, in := range map[string]string{
		"slash":        h("../../etc/passwd", "text/plain", "0", "2026-01-02T03:04:05Z"),
		"backslash":    h(`..\x.exe`, "text/plain", "0", "2026-01-02T03:04:05Z"),
		"dotdot":       h("..", "text/plain", "0", "2026-01-02T03:04:05Z"),
		"bidi":         h("invoice\u202efdp.exe", "text/plain", "0", "2026-01-02T03:04:05Z"),
		"control":      h("a\tb", "text/plain", "0", "2026-01-02T03:04:05Z"),
		"empty name":   h("", "text/plain", "0", "2026-01-02T03:04:05Z"),
		"bad type":     h("a", "text", "0", "2026-01-02T03:04:05Z"),
		"bad size":     h("a", "text/plain", "-1", "2026-01-02T03:04:05Z"),
		"bad time":     h("a", "text/plain", "0", "yesterday"),
		"order":        "valv-intake-content v1\ntype text/plain\nname a\nsize 0\nsealed 2026-01-02T03:04:05Z\n\n",
		"magic":        "valv-intake v1\n",
		"no end":       strings.TrimSuffix(h("a", "text/plain", "0", "2026-01-02T03:04:05Z"), "\n"),
		"long name":    h(strings.Repeat("a", MaxName+1), "text/plain", "0", "2026-01-02T03:04:05Z"),
		"long header":  h(strings.Repeat("a", 1000), "text/plain; x="+strings.Repeat("b", 3500), "0", "2026-01-02T03:04:05Z"),
		"invalid utf8": h("a\xffb", "text/plain", "0", "2026-01-02T03:04:05Z"),
	} {
		if _, _, err := ReadHeader(strings.NewReader(in)); !errors.Is(err, ErrBadHeader) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Content shorter or longer than the header says.
	for _, content := range []string{"ab", "abcd"} {
		_, c, err := ReadHeader(strings.NewReader(h("a", "text/plain", "3", "2026-01-02T03:04:05Z") + content))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(c); err == nil {
			t.Errorf("content %q for size 3: read without error", content)
		}
	}
}

func TestSafeName(t *testing.T) {
	for in, want := range map[string]string{
		"/home/x/Avtal.pdf": "Avtal.pdf",
		`C:\scans\a.jpg`:    "a.jpg",
		"a\nb\u202ec.pdf":   "a_b_c.pdf",
		"..":                "unnamed",
		"":                  "unnamed",
		"bad\xffutf8":       "bad_utf8",
	} {
		got := SafeName(in)
		if got != want || CheckName(got) != nil {
			t.Errorf("SafeName(%q) = %q, want %q", in, got, want)
		}
	}
	long := SafeName(strings.Repeat("ö", MaxName))
	if len(long) > MaxName || CheckName(long) != nil {
		t.Errorf("a long name is cut to %d bytes", len(long))
	}
}

func TestMediaType(t *testing.T) {
	for _, c := range []struct{ name, head, want string }{
		{"scan.pdf", "%PDF-1.7", "application/pdf"},
		{"scan.pdf", "\xff\xd8\xff\xe1", "image/jpeg"}, // the bytes win
		{"x", "\x89PNG\r\n\x1a\n....", "image/png"},
		{"a.docx", "PK\x03\x04", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{"old.doc", "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/msword"},
		{"notes", "hej på dig\n", "text/plain; charset=utf-8"},
		{"blob", "\x00\x01\x02", "application/octet-stream"},
		{"photo.webp", "RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"},
	} {
		if got := MediaType(c.name, []byte(c.head)); got != c.want {
			t.Errorf("MediaType(%q, %q) = %q, want %q", c.name, c.head, got, c.want)
		}
	}
}

func TestParseRecipient(t *testing.T) {
	k := newKey(t)
	if r, err := ParseRecipient(" " + k.Recipient().String() + "\n"); err != nil || r.String() != k.Recipient().String() {
		t.Fatalf("%v", err)
	}
	for in, want := range map[string]string{
		"age1yubikey1qwertyuiop":   "YubiKey",
		k.String():                 "secret key",
		"age1abc":                  "not an age X25519 recipient",
		"ssh-ed25519 AAAA":         "not an age recipient",
		"":                         "not an age recipient",
		k.Recipient().String()[1:]: "not an age recipient",
	} {
		_, err := ParseRecipient(in)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "valv recipient") {
			t.Errorf("ParseRecipient(%.20q): %v; want %q", in, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "AGE-SECRET-KEY") {
			t.Errorf("the error quotes the secret key")
		}
	}
}

func TestCheckStanzas(t *testing.T) {
	a, b := newKey(t), newKey(t)
	env := &Envelope{To: []*age.X25519Recipient{a.Recipient(), b.Recipient()}}
	x := func() *age.Stanza { return &age.Stanza{Type: "X25519", Args: []string{"e"}, Body: make([]byte, 32)} }
	if err := CheckStanzas(env, []*age.Stanza{x(), x()}); err != nil {
		t.Error(err)
	}
	for name, ss := range map[string][]*age.Stanza{
		"one":    {x()},
		"three":  {x(), x(), x()},
		"scrypt": {x(), {Type: "scrypt", Args: []string{"s", "18"}, Body: make([]byte, 32)}},
		"body":   {x(), {Type: "X25519", Args: []string{"e"}, Body: make([]byte, 31)}},
	} {
		if CheckStanzas(env, ss) == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
