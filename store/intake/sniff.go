package intake

import (
	"bytes"
	"mime"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// magic numbers of the kinds of file that reach a compliance office,
// checked before the extension: a scan named .pdf that is really a JPEG
// is a JPEG. (Containers such as ZIP are left to the extension: a .docx
// and an .xlsx are both ZIP files.)
var magic = []struct {
	prefix []byte
	off    int
	typ    string
}{
	{[]byte("%PDF-"), 0, "application/pdf"},
	{[]byte("\x89PNG\r\n\x1a\n"), 0, "image/png"},
	{[]byte("\xff\xd8\xff"), 0, "image/jpeg"},
	{[]byte("GIF87a"), 0, "image/gif"},
	{[]byte("GIF89a"), 0, "image/gif"},
	{[]byte("II*\x00"), 0, "image/tiff"},
	{[]byte("MM\x00*"), 0, "image/tiff"},
	{[]byte("WEBP"), 8, "image/webp"}, // after "RIFF" and a length
	{[]byte("ftypheic"), 4, "image/heic"},
	{[]byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"), 0, "application/x-ole-storage"}, // old Office files; refined by extension
}

// fallback types for common extensions that Go's built-in table lacks
// (mime.TypeByExtension also reads the system's tables, which differ
// from machine to machine, so these come first).
var byExt = map[string]string{
	".pdf":  "application/pdf",
	".png":  "image/png",
	".jpg":  "image/jpeg",
	".jpeg": "image/jpeg",
	".gif":  "image/gif",
	".tif":  "image/tiff",
	".tiff": "image/tiff",
	".webp": "image/webp",
	".heic": "image/heic",
	".txt":  "text/plain; charset=utf-8",
	".csv":  "text/csv; charset=utf-8",
	".json": "application/json",
	".xml":  "text/xml; charset=utf-8",
	".zip":  "application/zip",
	".doc":  "application/msword",
	".xls":  "application/vnd.ms-excel",
	".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	".odt":  "application/vnd.oasis.opendocument.text",
	".ods":  "application/vnd.oasis.opendocument.spreadsheet",
	".eml":  "message/rfc822",
	".msg":  "application/vnd.ms-outlook",
}

// MediaType guesses the media type of a file from its name and its first
// bytes (512 are plenty): a known magic number first, then the
// extension, then text/plain for what looks like UTF-8 text, else
// application/octet-stream.
func MediaType(name string, head []byte) string {
	ext := strings.ToLower(filepath.Ext(name))
	for _, m := range magic {
		if len(head) >= m.off+len(m.prefix) && bytes.Equal(head[m.off:m.off+len(m.prefix)], m.prefix) {
			if m.typ == "application/x-ole-storage" && (ext == ".doc" || ext == ".xls" || ext == ".msg") {
				return byExt[ext]
			}
			return m.typ
		}
	}
	if t, ok := byExt[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" && checkMediaType(t) == nil {
		return t
	}
	if len(head) > 0 && looksLikeText(head) {
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}

// looksLikeText reports whether head is UTF-8 (a rune cut at the end is
// allowed) without NUL or most control characters.
func looksLikeText(head []byte) bool {
	for len(head) > 0 {
		r, n := utf8.DecodeRune(head)
		if r == utf8.RuneError && n <= 1 {
			return len(head) < utf8.UTFMax && !utf8.FullRune(head)
		}
		if r < 0x20 && r != '\n' && r != '\r' && r != '\t' && r != '\f' {
			return false
		}
		head = head[n:]
	}
	return true
}
