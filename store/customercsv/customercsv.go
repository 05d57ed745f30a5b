// Package customercsv reads and writes Valv customers as CSV (RFC 4180).
// It parses and formats only: it holds no keys and touches no vault
// (package store imports and exports).
//
// # Reading
//
//   - Encoding: UTF-8, with or without a byte order mark. A byte sequence
//     that is not UTF-8 stops the import with an error naming the line and
//     column ([ErrNotUTF8]): Swedish Excel's "CSV (semikolonavgränsad)"
//     saves in Windows-1252, which is not guessed (a guess would turn a
//     damaged UTF-8 file into wrong names without a word). Such a file is
//     read with [Options].Windows1252, or saved again as "CSV UTF-8".
//   - Delimiter: ',' or ';' (Swedish Excel), whichever the header line
//     holds more of outside quotes (',' if neither).
//   - Quoting as RFC 4180: fields in double quotes may hold the
//     delimiter, line breaks and doubled quotes. Lines end in CRLF or LF.
//   - The first line names the columns, in English or Swedish, ignoring
//     case, spaces, '-', '_' and '.' (see [Columns]): "E-post", "e-mail"
//     and "EMAIL" are the same column. A column the reader does not know
//     and a column given twice are errors (list columns excepted); columns
//     are named by number and spreadsheet letter, never by the header's
//     text, which may be a first data row holding a personnummer. A
//     column with an empty header must be empty in every row (Excel
//     leaves such columns behind). The columns compartment, version and
//     updated, which the export writes, are accepted and ignored.
//   - Lists: address, card, account and tags may be given in several
//     columns; in one cell, cards, accounts and tags are one per line
//     (Alt+Enter in Excel) and addresses, which span lines, are separated
//     by an empty line.
//   - A row that is empty (every cell blank) is skipped. A row with fewer
//     cells than the header, or with values beyond the header's columns,
//     is a row error: it is reported ([RowError]) and reading goes on.
//   - A cell that starts with an apostrophe followed by = + - @ TAB CR or
//     another apostrophe loses the apostrophe: that undoes the export's
//     formula guard (below), and is what Excel does with a leading
//     apostrophe.
//   - Limits against hostile files: [Options].MaxBytes (default
//     [DefaultMaxBytes]), MaxRows ([DefaultMaxRows]), [MaxRecordBytes] per
//     record, [MaxFieldBytes] per cell, [MaxColumns] columns.
//
// Errors name the physical line where the record starts (counting the
// header as line 1) and the column; they never quote a cell's value,
// which may be a personal number.
//
// # Writing
//
// [Writer] writes RFC 4180 with CRLF line ends, ',' by default or ';'
// and a UTF-8 byte order mark for Excel. A cell that starts with = + - @
// TAB or CR (a spreadsheet would run it as a formula), or with an
// apostrophe followed by one of those or another apostrophe, is written
// with an apostrophe in front; reading removes it again, so an export
// reads back unchanged. Phone numbers such as +46 8 123 45 67 therefore
// show as '+46 8 123 45 67 in a text editor. Addresses are joined with
// an empty line between them; an empty line inside one address is written
// as a single line break, so that it reads back as one address.
package customercsv

import (
	"strconv"
	"strings"
)

// A column is a known column of a customer file.
type column int

const (
	colNone column = iota
	colCode
	colName
	colPersonalNumber
	colOrgNumber
	colAddress
	colPhone
	colEmail
	colCard
	colAccount
	colNotes
	colTags
	colRetainUntil
	// Written by the export, ignored by the import.
	colCompartment
	colVersion
	colUpdated
)

// columnInfo describes a column: its English header (what the export
// writes), the other names it is read under, and whether it may repeat.
type columnInfo struct {
	header  string
	aliases []string
	list    bool
	ignored bool
}

var columns = map[column]columnInfo{
	colCode:           {header: "code", aliases: []string{"kod", "kundkod", "customer code"}},
	colName:           {header: "name", aliases: []string{"namn"}},
	colPersonalNumber: {header: "personnummer", aliases: []string{"personal number", "pnr", "samordningsnummer"}},
	colOrgNumber:      {header: "organisationsnummer", aliases: []string{"orgnr", "org.nr", "organisation number", "organization number"}},
	colAddress:        {header: "address", aliases: []string{"adress", "addresses", "adresser"}, list: true},
	colPhone:          {header: "phone", aliases: []string{"telefon", "telephone", "tel", "telefonnummer"}},
	colEmail:          {header: "email", aliases: []string{"e-mail", "e-post", "mejl"}},
	colCard:           {header: "card", aliases: []string{"cards", "kort", "kortnummer", "card number"}, list: true},
	colAccount:        {header: "account", aliases: []string{"accounts", "konto", "kontonummer", "account number"}, list: true},
	colNotes:          {header: "notes", aliases: []string{"note", "anteckningar", "anteckning"}},
	colTags:           {header: "tags", aliases: []string{"tag", "taggar", "tagg"}, list: true},
	colRetainUntil:    {header: "retain until", aliases: []string{"retention", "gallras", "gallring", "gallras efter", "gallringsdatum"}},
	colCompartment:    {header: "compartment", aliases: []string{"fack"}, ignored: true},
	colVersion:        {header: "version", ignored: true},
	colUpdated:        {header: "updated", aliases: []string{"ändrad", "uppdaterad"}, ignored: true},
}

// byKey maps a header, as headerKey writes it, to its column.
var byKey = func() map[string]column {
	m := make(map[string]column)
	for c, info := range columns {
		for _, n := range append([]string{info.header}, info.aliases...) {
			m[headerKey(n)] = c
		}
	}
	return m
}()

// headerKey folds a header for comparison: lower case, without spaces,
// '-', '_' and '.'.
func headerKey(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '-', '_', '.', '\u00a0':
			return -1
		}
		return r
	}, strings.ToLower(s))
}

// Columns returns the column names the reader knows, one line per
// column: the English name then the other accepted spellings.
func Columns() []string {
	var out []string
	for c := colCode; c <= colUpdated; c++ {
		info := columns[c]
		line := info.header
		if len(info.aliases) > 0 {
			line += " (" + strings.Join(info.aliases, ", ") + ")"
		}
		if info.list {
			line += ", repeatable"
		}
		if info.ignored {
			line += ", ignored on import"
		}
		out = append(out, line)
	}
	return out
}

// columnName names the i-th column (0-based) as a spreadsheet does:
// "column 3 (C)".
func columnName(i int) string {
	letters := ""
	for n := i + 1; n > 0; n = (n - 1) / 26 {
		letters = string(rune('A'+(n-1)%26)) + letters
	}
	return "column " + strconv.Itoa(i+1) + " (" + letters + ")"
}

// formulaStart reports whether a spreadsheet would read a cell starting
// with b as a formula.
func formulaStart(b byte) bool {
	switch b {
	case '=', '+', '-', '@', '\t', '\r':
		return true
	}
	return false
}

// guarded reports whether s carries the export's apostrophe.
func guarded(s string) bool {
	return len(s) > 1 && s[0] == '\'' && (formulaStart(s[1]) || s[1] == '\'')
}

// escapeCell puts an apostrophe before a cell a spreadsheet would run as
// a formula (and before one that already looks escaped, so that reading
// undoes exactly what writing did).
func escapeCell(s string) string {
	if s != "" && (formulaStart(s[0]) || guarded(s)) {
		return "'" + s
	}
	return s
}

// unescapeCell undoes escapeCell.
func unescapeCell(s string) string {
	if guarded(s) {
		return s[1:]
	}
	return s
}
