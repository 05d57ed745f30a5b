package service

import (
	"bytes"
	"strings"

	"github.com/go-pdf/fpdf"
)

// SheetPDF lays out a recovery sheet (crypto/recovery's Sheet: plain text
// for a monospaced font) on an A4 page, for printing. The first line is
// the title. The PDF holds the text and nothing else: no images, no
// scripts, no attachments.
func SheetPDF(sheet string) ([]byte, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetTitle("Valv recovery key", true)
	pdf.SetCreator("Valv", true)
	pdf.SetMargins(20, 20, 20)
	pdf.SetAutoPageBreak(true, 20)
	pdf.AddPage()
	tr := pdf.UnicodeTranslatorFromDescriptor("") // cp1252, for names in the text
	lines := strings.Split(strings.TrimRight(sheet, "\n"), "\n")
	for i, line := range lines {
		if i == 0 {
			pdf.SetFont("Helvetica", "B", 16)
			pdf.CellFormat(0, 10, tr(line), "", 1, "L", false, 0, "")
			pdf.Ln(4)
			continue
		}
		pdf.SetFont("Courier", "", 10)
		if strings.HasPrefix(strings.TrimSpace(line), secretPrefix) || isGroupLine(line) {
			pdf.SetFont("Courier", "B", 11)
		}
		pdf.CellFormat(0, 5, tr(line), "", 1, "L", false, 0, "")
	}
	var b bytes.Buffer
	if err := pdf.Output(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// isGroupLine reports whether a sheet line is a numbered line of groups
// ("  2: ABCD EFGH …").
func isGroupLine(line string) bool {
	f := strings.Fields(line)
	return len(f) > 1 && len(f[0]) >= 2 && strings.HasSuffix(f[0], ":") && strings.Trim(f[0], "0123456789:") == ""
}
