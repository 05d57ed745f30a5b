// Package redact makes redacted archive copies of documents and checks
// documents before they are archived.
//
// Redaction removes what it hides. In text (plain text, CSV, JSON,
// Markdown) each identifying number found by package detect is replaced by a
// label such as [PERSONNUMMER], or for a card by its last four digits. In
// images (PNG, JPEG) the rectangles drawn by the user are overwritten in the
// pixels and the image is re-encoded with no metadata. A PDF is rendered to
// images, its text layer is searched and every value found is blacked out
// where it stood on the page, together with the drawn rectangles, and a new
// PDF is written that holds only those images: no text layer, metadata,
// forms or attachments of the original survive.
//
// A copy is labelled with the customer's code ("Redacted archive copy —
// customer K7Q3-MX9R-2"), never the name.
package redact

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/valv-vault/valv/store/redact/detect"
)

// Kind is the kind of a document.
type Kind int

// The kinds of document Valv redacts.
const (
	Unknown Kind = iota
	Text
	CSV
	JSON
	Markdown
	PNG
	JPEG
	PDF
)

var kindNames = []string{"unknown", "text", "csv", "json", "markdown", "png", "jpeg", "pdf"}

func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return fmt.Sprintf("Kind(%d)", int(k))
	}
	return kindNames[k]
}

// MarshalText returns the kind's name, so reports encode as JSON readably.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Ext returns the usual file name extension of the kind, with the dot.
func (k Kind) Ext() string {
	return [...]string{"", ".txt", ".csv", ".json", ".md", ".png", ".jpg", ".pdf"}[k]
}

// Box is a rectangle to black out, as drawn by the user.
//
// For an image, Rect is in pixels of the image as displayed (after its EXIF
// orientation is applied), and Page is ignored. For a PDF, Rect is in
// points (1/72 inch) from the top-left corner of the page as displayed, and
// Page is the 1-based page number.
type Box struct {
	Page int
	Rect image.Rectangle
}

// Options controls Redact and Scan. The zero value is usable.
type Options struct {
	// CustomerCode labels the copy: a header line in text, a first record
	// in CSV, a wrapping object in JSON, a footer on every PDF page.
	// Images are not labelled (the label would be more pixels; name the
	// file by the code). Empty means no label. It must be a customer code
	// (digits, capital letters and dashes), never a name.
	CustomerCode string

	// Boxes are areas to black out in images and PDFs.
	Boxes []Box

	// Kinds restricts which kinds of values are found and redacted in
	// text. Zero means all.
	Kinds detect.Set

	// MinConfidence drops values found with a lower confidence. Zero keeps
	// every value the detectors report.
	MinConfidence float32

	// Now decides the century of 10-digit personnummer. Zero means today.
	Now time.Time

	// MaxBytes caps the input size. Zero means 256 MiB.
	MaxBytes int64

	// MaxPixels caps the pixels of an image or a rendered PDF page (a
	// decompression bomb guard). Zero means 100 million. A PDF page that
	// would be larger is rendered at a lower resolution.
	MaxPixels int

	// DPI is the resolution PDF pages are rendered at. Zero means 150.
	DPI int

	// MaxPages caps the pages of a PDF. Zero means 2000.
	MaxPages int

	// JPEGQuality is the quality of re-encoded JPEG images. Zero means 90.
	JPEGQuality int
}

func (o *Options) maxBytes() int64 {
	if o.MaxBytes > 0 {
		return o.MaxBytes
	}
	return 256 << 20
}

func (o *Options) maxPixels() int {
	if o.MaxPixels > 0 {
		return o.MaxPixels
	}
	return 100e6
}

func (o *Options) dpi() int {
	if o.DPI > 0 {
		return o.DPI
	}
	return 150
}

func (o *Options) maxPages() int {
	if o.MaxPages > 0 {
		return o.MaxPages
	}
	return 2000
}

func (o *Options) jpegQuality() int {
	if o.JPEGQuality > 0 && o.JPEGQuality <= 100 {
		return o.JPEGQuality
	}
	return 90
}

func (o *Options) detector() *detect.Detector {
	return &detect.Detector{Kinds: o.Kinds, Now: o.Now}
}

// find returns the matches in b that pass MinConfidence.
func (o *Options) find(d *detect.Detector, dst []detect.Match, b []byte, hint string) []detect.Match {
	n := len(dst)
	dst = d.Append(dst, b, hint)
	if o.MinConfidence <= 0 {
		return dst
	}
	out := dst[:n]
	for _, m := range dst[n:] {
		if m.Confidence >= o.MinConfidence {
			out = append(out, m)
		}
	}
	return out
}

// Finding is one value found in a document. It never holds the value
// itself, only a masked form.
type Finding struct {
	Kind       detect.Kind
	Masked     string  // the value with all but its last few characters masked
	Confidence float32 // see detect.Match
	// Start and End are the value's byte offsets in the input, or -1 in a
	// PDF (whose text is not a byte range of the file).
	Start, End int64
	Line       int    // 1-based line of the input (text, CSV, JSON, Markdown)
	Page       int    // 1-based page (PDF)
	Field      string // CSV column name or JSON key, if any
	// Rect is where the value was blacked out on a PDF page, in pixels of
	// the rendered page.
	Rect image.Rectangle
}

// Report says what a Scan found or what a Redact removed.
type Report struct {
	Kind     Kind
	Findings []Finding
	Pages    int // pages of a PDF
	Boxes    int // drawn boxes blacked out
	// Notes are things the user should know, such as a PDF page without
	// a text layer, whose text could not be searched.
	Notes []string
}

// Counts returns the number of findings of each kind.
func (r Report) Counts() map[detect.Kind]int {
	c := make(map[detect.Kind]int)
	for _, f := range r.Findings {
		c[f.Kind]++
	}
	return c
}

// Summary returns the counts as one line, such as
// "2 personnummer, 1 card", or "nothing found".
func (r Report) Summary() string {
	c := r.Counts()
	var parts []string
	for _, k := range detect.Kinds {
		if c[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c[k], k))
		}
	}
	if len(parts) == 0 {
		return "nothing found"
	}
	return strings.Join(parts, ", ")
}

// ErrTooLarge is returned (wrapped) when an input exceeds a limit in
// Options.
var ErrTooLarge = errors.New("redact: input too large")

// Sniff returns the kind of a document from its first bytes and, to tell
// text formats apart, its file name. It returns Unknown for content it
// cannot redact.
func Sniff(head []byte, name string) Kind {
	switch {
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return PDF
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return PNG
	case bytes.HasPrefix(head, []byte("\xff\xd8\xff")):
		return JPEG
	}
	// A PDF may have junk before its header; readers look in the first
	// kilobyte.
	if i := bytes.Index(head[:min(len(head), 1024)], []byte("%PDF-")); i >= 0 {
		return PDF
	}
	if !looksText(head) {
		return Unknown
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv", ".tsv":
		return CSV
	case ".json":
		return JSON
	case ".md", ".markdown":
		return Markdown
	}
	// Text, unless it is JSON as a whole.
	if t := bytes.TrimLeft(bytes.TrimPrefix(head, bom), " \t\r\n"); len(t) > 0 && (t[0] == '{' || t[0] == '[') && json.Valid(bytes.TrimPrefix(head, bom)) {
		return JSON
	}
	return Text
}

var bom = []byte("\xef\xbb\xbf")

// looksText reports whether b looks like text: no NUL bytes and few
// control characters.
func looksText(b []byte) bool {
	ctl := 0
	for _, c := range b {
		if c == 0 {
			return false
		}
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f' {
			ctl++
		}
	}
	return ctl*100 <= len(b)
}

// readAll reads r up to limit bytes.
func readAll(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("redact: reading input: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes; raise Options.MaxBytes if this is expected", ErrTooLarge, limit)
	}
	return b, nil
}

// Redact reads a document of the given kind from r, writes a redacted copy
// of the same kind to w and reports what it removed. If kind is Unknown it
// is sniffed from the content. Nothing is written to w if Redact fails
// before the output is complete, except for PDF, JPEG and PNG output, which
// is encoded straight to w: write to a temporary file and rename it on
// success (as RedactFile does).
func Redact(r io.Reader, kind Kind, w io.Writer, opts Options) (Report, error) {
	if err := checkCode(opts.CustomerCode); err != nil {
		return Report{}, err
	}
	data, err := readAll(r, opts.maxBytes())
	if err != nil {
		return Report{}, err
	}
	if kind == Unknown {
		kind = Sniff(data, "")
	}
	var rep Report
	switch kind {
	case Text:
		rep, err = redactText(data, w, &opts, false)
	case Markdown:
		rep, err = redactText(data, w, &opts, true)
	case CSV:
		rep, err = redactCSV(data, w, &opts)
	case JSON:
		rep, err = redactJSON(data, w, &opts)
	case PNG, JPEG:
		rep, err = redactImage(data, kind, w, &opts)
	case PDF:
		rep, err = redactPDF(data, w, &opts)
	default:
		return Report{}, errors.New("redact: unknown document kind; Valv redacts text, CSV, JSON, Markdown, PNG, JPEG and PDF")
	}
	rep.Kind = kind
	sortFindings(rep.Findings)
	return rep, err
}

// Scan reports which identifying values a document holds, without changing
// it: the pre-archive check. If kind is Unknown it is sniffed. Values are
// masked in the report. Images cannot be searched (Valv does no OCR); a
// PDF's text layer is searched, and pages without one are named in
// Report.Notes.
func Scan(r io.Reader, kind Kind) (Report, error) {
	return ScanWith(r, kind, Options{})
}

// ScanWith is Scan with options (Kinds, MinConfidence, Now and the
// limits are used).
func ScanWith(r io.Reader, kind Kind, opts Options) (Report, error) {
	data, err := readAll(r, opts.maxBytes())
	if err != nil {
		return Report{}, err
	}
	if kind == Unknown {
		kind = Sniff(data, "")
	}
	var rep Report
	switch kind {
	case Text, Markdown:
		rep.Findings = scanText(data, &opts)
	case CSV:
		rep.Findings, err = scanCSV(data, &opts)
	case JSON:
		rep.Findings, err = scanJSON(data, &opts)
	case PNG, JPEG:
		rep, err = scanImage(data, kind, &opts)
	case PDF:
		rep, err = scanPDF(data, &opts)
	default:
		return Report{}, errors.New("redact: unknown document kind; Valv checks text, CSV, JSON, Markdown, PNG, JPEG and PDF")
	}
	rep.Kind = kind
	sortFindings(rep.Findings)
	return rep, err
}

// sortFindings puts findings in reading order: by page, then by offset,
// or on a PDF page top to bottom, left to right.
func sortFindings(f []Finding) {
	sort.SliceStable(f, func(i, j int) bool {
		a, b := f[i], f[j]
		switch {
		case a.Page != b.Page:
			return a.Page < b.Page
		case a.Start != b.Start:
			return a.Start < b.Start
		case a.Rect.Min.Y != b.Rect.Min.Y:
			return a.Rect.Min.Y < b.Rect.Min.Y
		}
		return a.Rect.Min.X < b.Rect.Min.X
	})
}

// RedactFile redacts the file in into a new file out of the same kind. The
// kind is sniffed from in's content and name; out must not exist, and is
// written under a temporary name in its folder and renamed into place only
// when complete, so a failed redaction leaves nothing behind.
func RedactFile(in, out string, opts Options) (Report, error) {
	if err := checkCode(opts.CustomerCode); err != nil {
		return Report{}, err
	}
	ai, err1 := filepath.Abs(in)
	ao, err2 := filepath.Abs(out)
	if err1 == nil && err2 == nil && ai == ao {
		return Report{}, errors.New("redact: input and output are the same file; choose a new name for the redacted copy")
	}
	f, err := os.Open(in)
	if err != nil {
		return Report{}, fmt.Errorf("redact: %w", err)
	}
	defer f.Close()
	head := make([]byte, 4096)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return Report{}, fmt.Errorf("redact: reading %s: %w", in, err)
	}
	kind := Sniff(head[:n], in)
	if kind == Unknown {
		return Report{}, fmt.Errorf("redact: %s is not a document Valv can redact (text, CSV, JSON, Markdown, PNG, JPEG or PDF)", in)
	}
	if ext := strings.ToLower(filepath.Ext(out)); ext != "" && !extFits(kind, ext) {
		return Report{}, fmt.Errorf("redact: %s is %s but the output name ends in %s; name the copy %s", in, kind, ext, strings.TrimSuffix(out, filepath.Ext(out))+kind.Ext())
	}
	if _, err := os.Lstat(out); err == nil {
		return Report{}, fmt.Errorf("redact: %s already exists; Valv does not overwrite files: remove it or choose another name", out)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return Report{}, fmt.Errorf("redact: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".valv-redact-*")
	if err != nil {
		return Report{}, fmt.Errorf("redact: creating the output: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename this fails harmlessly
	rep, err := Redact(f, kind, tmp, opts)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return rep, err
	}
	// Link rather than rename, so that an out created meanwhile is not
	// replaced; file systems without links (FAT on a USB stick) get a
	// rename after one more check.
	if err := os.Link(tmp.Name(), out); err != nil {
		if _, serr := os.Lstat(out); serr == nil || errors.Is(err, os.ErrExist) {
			return rep, fmt.Errorf("redact: %s already exists; Valv does not overwrite files: remove it or choose another name", out)
		}
		if err := os.Rename(tmp.Name(), out); err != nil {
			return rep, fmt.Errorf("redact: %w", err)
		}
	}
	if d, err := os.Open(filepath.Dir(out)); err == nil {
		d.Sync()
		d.Close()
	}
	return rep, nil
}

func extFits(k Kind, ext string) bool {
	switch k {
	case Text:
		return ext == ".txt" || ext == ".text" || ext == ".log"
	case CSV:
		return ext == ".csv" || ext == ".tsv"
	case JSON:
		return ext == ".json"
	case Markdown:
		return ext == ".md" || ext == ".markdown"
	case PNG:
		return ext == ".png"
	case JPEG:
		return ext == ".jpg" || ext == ".jpeg"
	case PDF:
		return ext == ".pdf"
	}
	return false
}

// checkCode makes sure a customer code is a code and not a name: Crockford
// base32 symbols (digits and capitals without I, L, O, U), its check
// symbols *~$= and dashes, at most 32 of them.
func checkCode(code string) error {
	if code == "" {
		return nil
	}
	if len(code) > 32 {
		return errors.New("redact: customer code is longer than 32 characters; pass the customer's code (such as K7Q3-MX9R-2), never a name")
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		ok := c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' && c != 'I' && c != 'L' && c != 'O' ||
			c == '-' || c == '*' || c == '~' || c == '$' || c == '='
		if !ok {
			return fmt.Errorf("redact: customer code %q has a character (%q) no code has; pass the customer's code (such as K7Q3-MX9R-2), never a name", code, c)
		}
	}
	return nil
}

func label(code string) string {
	return "Redacted archive copy — customer " + code
}
