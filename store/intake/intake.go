// Package intake is the format of Valv's sealed intake files: a file
// encrypted, anywhere and without a vault, to a compartment's public age
// recipient, which the vault takes in while the compartment is locked
// and which only the compartment's key holders can read.
//
// An intake file is a short clear envelope (the recipients and the
// length of what follows) and an age file. The age file's plaintext is a
// header (the original file name, media type, size and time sealed) and
// the content. SPEC.md beside this file gives the format, and how to make
// or open an intake file with the stock age command line.
//
// This package needs no vault, no card and no key: it seals, and it
// parses what the vault's import (no key) and a key holder (after
// decryption) read. Everything it parses is untrusted.
package intake

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"mime"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"filippo.io/age"
)

// Format constants. They are part of the format: see SPEC.md.
const (
	// Ext ends the name of every intake file.
	Ext = ".valvin"

	envelopeMagic = "valv-intake v1"
	headerMagic   = "valv-intake-content v1"

	// MaxRecipients bounds the "to" lines of an envelope.
	MaxRecipients = 8
	// MaxEnvelope bounds the envelope, in bytes.
	MaxEnvelope = 1024
	// MaxHeader bounds the sealed header, in bytes.
	MaxHeader = 4096
	// MaxName and MaxMediaType bound the sealed header's fields, in bytes.
	MaxName      = 1024
	MaxMediaType = 255
	// MaxSize bounds the content and the age file, in bytes (1 TiB).
	MaxSize = 1 << 40

	// minAgeFile is the shortest age file an envelope may announce: a
	// header with one X25519 stanza (168 bytes), the 16-byte nonce and
	// one sealed chunk holding at least the sealed header's first line.
	minAgeFile = 168 + 16 + len(headerMagic) + 1 + 16

	// lengthDigits is the width of the length field seal writes (it
	// writes the field before it knows the length, then fills it in).
	lengthDigits = 20
)

var (
	// ErrNotIntake is returned for a file that does not begin with an
	// intake envelope.
	ErrNotIntake = errors.New("intake: not a sealed intake file (no \"" + envelopeMagic + "\" envelope)")
	// ErrBadHeader is returned for a sealed header that does not parse.
	ErrBadHeader = errors.New("intake: the sealed header is malformed")
)

// An Envelope is the clear part of an intake file: who it is for and how
// long its age file is. Nothing in it is secret: the recipients are
// public keys. It is not authenticated either: the age file is, and an
// envelope that lies makes the file fail at import or when a key holder
// opens it.
type Envelope struct {
	To     []*age.X25519Recipient
	Length int64 // bytes of the age file that follows the envelope
	Size   int64 // bytes of the envelope itself
}

// AppendEnvelope appends the envelope for the recipients and an age file
// of length bytes. With length < 0 the length field is a placeholder of
// 20 zeros, the width that FillLength later writes over.
func AppendEnvelope(b []byte, to []*age.X25519Recipient, length int64) []byte {
	b = append(b, envelopeMagic+"\n"...)
	for _, r := range to {
		b = append(b, "to "+r.String()+"\n"...)
	}
	if length < 0 {
		b = append(b, "length "+strings.Repeat("0", lengthDigits)+"\n\n"...)
	} else {
		b = fmt.Appendf(b, "length %d\n\n", length)
	}
	return b
}

// ParseEnvelope reads the envelope from r, leaving r at the first byte of
// the age file. Errors say what is wrong without quoting the file.
func ParseEnvelope(r *bufio.Reader) (*Envelope, error) {
	e := &Envelope{}
	line := func() (string, error) {
		s, err := readLine(r, MaxEnvelope-int(e.Size))
		e.Size += int64(len(s)) + 1
		return s, err
	}
	first, err := line()
	if err != nil || first != envelopeMagic {
		if err == nil && strings.HasPrefix(first, "valv-intake v") {
			return nil, errors.New("intake: the file is of a newer intake format; upgrade Valv")
		}
		return nil, ErrNotIntake
	}
	for {
		s, err := line()
		if err != nil {
			return nil, fmt.Errorf("intake: the envelope is malformed: %w", err)
		}
		if rest, ok := strings.CutPrefix(s, "to "); ok {
			if len(e.To) == MaxRecipients {
				return nil, fmt.Errorf("intake: the envelope names more than %d recipients", MaxRecipients)
			}
			rcpt, err := age.ParseX25519Recipient(rest)
			if err != nil {
				return nil, fmt.Errorf("intake: recipient %d of the envelope is not an age X25519 recipient", len(e.To)+1)
			}
			e.To = append(e.To, rcpt)
			continue
		}
		rest, ok := strings.CutPrefix(s, "length ")
		if !ok {
			return nil, errors.New("intake: the envelope is malformed: want \"to age1…\" or \"length N\" lines")
		}
		if len(e.To) == 0 {
			return nil, errors.New("intake: the envelope names no recipient")
		}
		n, err := parseDecimal(rest, lengthDigits, true)
		if err != nil || n < int64(minAgeFile) || n > MaxSize {
			return nil, errors.New("intake: the envelope's length is not a plausible size of an age file")
		}
		e.Length = n
		break
	}
	if s, err := line(); err != nil || s != "" {
		return nil, errors.New("intake: the envelope does not end with an empty line")
	}
	return e, nil
}

// readLine reads a line ending in "\n" of at most max bytes (with the
// newline), and returns it without the newline. A CR, NUL or invalid
// UTF-8 is an error.
func readLine(r *bufio.Reader, max int) (string, error) {
	var b []byte
	for {
		if len(b) >= max {
			return "", errors.New("too long")
		}
		c, err := r.ReadByte()
		if err == io.EOF {
			return "", io.ErrUnexpectedEOF
		}
		if err != nil {
			return "", err
		}
		if c == '\n' {
			break
		}
		if c == '\r' || c == 0 {
			return "", errors.New("a line holds CR or NUL")
		}
		b = append(b, c)
	}
	if !utf8.Valid(b) {
		return "", errors.New("a line is not UTF-8")
	}
	return string(b), nil
}

// parseDecimal reads a non-negative decimal of at most width digits,
// without sign, spaces or leading zeros (except, if padded, a field of
// exactly width digits, which seal writes).
func parseDecimal(s string, width int, padded bool) (int64, error) {
	if s == "" || len(s) > width || strings.TrimLeft(s, "0123456789") != "" {
		return 0, errors.New("not a decimal")
	}
	if len(s) > 1 && s[0] == '0' && !(padded && len(s) == width) {
		return 0, errors.New("leading zeros")
	}
	return strconv.ParseInt(s, 10, 64)
}

// A Header is the sealed header of an intake file: what the sender said
// about the content. Only a key holder reads it.
type Header struct {
	Name      string    // the original file name, without folders
	MediaType string    // e.g. application/pdf
	Size      int64     // bytes of content
	Sealed    time.Time // when it was sealed, by the sender's clock
}

// Check reports whether the header's fields are valid (see SPEC.md).
func (h *Header) Check() error {
	if err := CheckName(h.Name); err != nil {
		return err
	}
	if err := checkMediaType(h.MediaType); err != nil {
		return err
	}
	if h.Size < 0 || h.Size > MaxSize {
		return fmt.Errorf("intake: a content size is 0 to %d bytes", int64(MaxSize))
	}
	if h.Sealed.IsZero() || h.Sealed.Year() < 1 || h.Sealed.Year() > 9999 {
		return errors.New("intake: the time sealed is missing")
	}
	return nil
}

// CheckName reports whether name is a valid file name for a sealed
// header: 1 to MaxName bytes of UTF-8, not "." or "..", without a folder
// separator, control character or bidirectional override.
func CheckName(name string) error {
	switch {
	case name == "" || strings.TrimSpace(name) == "":
		return errors.New("intake: the file name is empty")
	case len(name) > MaxName || !utf8.ValidString(name):
		return fmt.Errorf("intake: a file name is UTF-8 of at most %d bytes", MaxName)
	case name == "." || name == "..":
		return errors.New(`intake: the file name is "." or ".."`)
	case strings.ContainsFunc(name, badNameRune):
		return errors.New("intake: the file name holds a folder separator, a control character or a bidirectional override")
	}
	return nil
}

func badNameRune(r rune) bool {
	return r == '/' || r == '\\' || unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == utf8.RuneError
}

// SafeName turns a file name into one that CheckName accepts: folders
// are dropped, forbidden characters become "_", and it is cut to
// MaxName bytes.
func SafeName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.ToValidUTF8(name, "_")
	name = strings.Map(func(r rune) rune {
		if badNameRune(r) {
			return '_'
		}
		return r
	}, name)
	for len(name) > MaxName {
		_, n := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-n]
	}
	if strings.TrimSpace(name) == "" || name == "." || name == ".." {
		name = "unnamed"
	}
	return name
}

func checkMediaType(t string) error {
	if t == "" || len(t) > MaxMediaType || strings.ContainsFunc(t, func(r rune) bool { return r < 0x20 || r >= 0x7f }) {
		return fmt.Errorf("intake: a media type is printable ASCII of 1 to %d bytes", MaxMediaType)
	}
	if _, _, err := mime.ParseMediaType(t); err != nil || !strings.Contains(t, "/") {
		return errors.New("intake: the media type is malformed")
	}
	return nil
}

// AppendHeader appends the sealed header (SPEC.md) of h. h must pass
// Check.
func AppendHeader(b []byte, h *Header) []byte {
	return fmt.Appendf(b, "%s\nname %s\ntype %s\nsize %d\nsealed %s\n\n",
		headerMagic, h.Name, h.MediaType, h.Size, h.Sealed.UTC().Format(time.RFC3339Nano))
}

// ReadHeader reads the sealed header from the decrypted plaintext r and
// returns it with a reader of exactly the content: one that fails with
// io.ErrUnexpectedEOF if r ends early and with an error if r holds more
// than Size bytes after the header.
func ReadHeader(r io.Reader) (*Header, io.Reader, error) {
	br := bufio.NewReaderSize(r, MaxHeader)
	h, err := parseHeader(br)
	if err != nil {
		return nil, nil, err
	}
	return h, &contentReader{r: br, left: h.Size}, nil
}

func parseHeader(br *bufio.Reader) (*Header, error) {
	left := MaxHeader
	field := func(key string) (string, error) {
		s, err := readLine(br, left)
		left -= len(s) + 1
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrBadHeader, err)
		}
		v, ok := strings.CutPrefix(s, key+" ")
		if !ok {
			return "", fmt.Errorf("%w: want the %q line", ErrBadHeader, key)
		}
		return v, nil
	}
	s, err := readLine(br, left)
	left -= len(s) + 1
	if err != nil || s != headerMagic {
		return nil, fmt.Errorf("%w: it does not begin with %q", ErrBadHeader, headerMagic)
	}
	h := &Header{}
	if h.Name, err = field("name"); err != nil {
		return nil, err
	}
	if h.MediaType, err = field("type"); err != nil {
		return nil, err
	}
	size, err := field("size")
	if err != nil {
		return nil, err
	}
	if h.Size, err = parseDecimal(size, 13, false); err != nil {
		return nil, fmt.Errorf("%w: the size is not a decimal number", ErrBadHeader)
	}
	sealed, err := field("sealed")
	if err != nil {
		return nil, err
	}
	if h.Sealed, err = time.Parse(time.RFC3339Nano, sealed); err != nil {
		return nil, fmt.Errorf("%w: the time sealed is not RFC 3339", ErrBadHeader)
	}
	h.Sealed = h.Sealed.UTC()
	if s, err := readLine(br, left); err != nil || s != "" {
		return nil, fmt.Errorf("%w: it does not end with an empty line", ErrBadHeader)
	}
	if err := h.Check(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadHeader, err)
	}
	return h, nil
}

// contentReader returns exactly left bytes of r, then checks that r is at
// its end.
type contentReader struct {
	r    io.Reader
	left int64
	err  error
}

func (c *contentReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if c.left == 0 {
		var one [1]byte
		n, err := io.ReadFull(c.r, one[:])
		switch {
		case n > 0:
			c.err = errors.New("intake: the content is longer than its sealed header says")
		case err == io.EOF:
			c.err = io.EOF
		default:
			c.err = err
		}
		return 0, c.err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if err == io.EOF {
		if c.left > 0 {
			c.err = fmt.Errorf("intake: the content is shorter than its sealed header says: %w", io.ErrUnexpectedEOF)
			return n, c.err
		}
		err = nil
	}
	return n, err
}

// ParseRecipient reads a compartment's recipient as given to seal, with a
// message that says what to ask for when it is something else.
func ParseRecipient(s string) (*age.X25519Recipient, error) {
	s = strings.TrimSpace(s)
	r, err := age.ParseX25519Recipient(s)
	if err == nil {
		return r, nil
	}
	hint := "ask the vault's admin for the output of \"valv recipient COMPARTMENT\""
	switch {
	case strings.HasPrefix(s, "age1yubikey1"):
		return nil, fmt.Errorf("intake: that is a YubiKey's recipient, not a compartment's; %s", hint)
	case strings.HasPrefix(s, "AGE-SECRET-KEY-"):
		return nil, fmt.Errorf("intake: that is a secret key, not a recipient: destroy this copy of it, and %s", hint)
	case strings.HasPrefix(s, "age1"):
		return nil, fmt.Errorf("intake: %q is not an age X25519 recipient (age1 and 58 more characters); %s", truncate(s, 80), hint)
	}
	return nil, fmt.Errorf("intake: not an age recipient (a compartment's recipient begins with age1); %s", hint)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// CheckStanzas checks the recipient stanzas of an intake file's age
// header, as read without a key: each must be an X25519 stanza (one
// argument, a 32-byte body), one for each recipient of the envelope.
func CheckStanzas(e *Envelope, stanzas []*age.Stanza) error {
	if len(stanzas) != len(e.To) {
		return fmt.Errorf("intake: the age header has %d recipient stanzas, the envelope names %d recipients", len(stanzas), len(e.To))
	}
	for i, s := range stanzas {
		if s.Type != "X25519" || len(s.Args) != 1 || len(s.Body) != 32 {
			return fmt.Errorf("intake: recipient stanza %d of the age header is not an X25519 stanza", i+1)
		}
	}
	return nil
}

// Recipients lists the envelope's recipients as strings.
func (e *Envelope) Recipients() []string {
	out := make([]string, len(e.To))
	for i, r := range e.To {
		out[i] = r.String()
	}
	return out
}

// Has reports whether the envelope names recipient r (as a string).
func (e *Envelope) Has(r string) bool {
	for _, t := range e.To {
		if t.String() == r {
			return true
		}
	}
	return false
}
