package customercsv

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/valv-vault/valv/store/customer"
)

func readAll(t *testing.T, s string, opt Options) ([]Row, []*RowError) {
	t.Helper()
	rows, bad, err := ReadAll(strings.NewReader(s), opt)
	if err != nil {
		t.Fatalf("ReadAll: %v", err)
	}
	return rows, bad
}

func TestReadCommaLF(t *testing.T) {
	rows, bad := readAll(t, "code,name,personnummer\nK7Q3-MX9R-2,Anna Svensson,811228-9874\n,Bo Ek,\n", Options{})
	if len(bad) != 0 || len(rows) != 2 {
		t.Fatalf("rows %v bad %v", rows, bad)
	}
	want := Row{Line: 2, Customer: customer.Customer{Code: "K7Q3-MX9R-2", Name: "Anna Svensson", PersonalNumber: "811228-9874"}}
	if !reflect.DeepEqual(rows[0], want) || rows[1].Line != 3 || rows[1].Customer.Name != "Bo Ek" {
		t.Fatalf("rows: %+v", rows)
	}
}

// Swedish Excel: BOM, semicolons, CRLF, Swedish headers in any case, a
// decimal comma inside an unquoted cell, a quoted cell with ';', a line
// break and a doubled quote.
func TestReadSwedishExcel(t *testing.T) {
	in := "\ufeffKod;NAMN;Personnummer;Adress;Telefon;E-post;Kort;Konto;Anteckningar;Taggar;Gallras\r\n" +
		";Åsa Öberg;19811228-9874;\"Storgatan 1\r\n111 22 Stockholm\r\n\r\nBox 12; 222 33 Lund\";08-123 45 67;asa@example.se;\"4111 1111 1111 1111\r\n5555 5555 5555 4444\";5000-1234567;\"Säger \"\"hej\"\"; ring 3,5 gånger\";privat;2036-12-31\r\n"
	rows, bad := readAll(t, in, Options{})
	if len(bad) != 0 || len(rows) != 1 {
		t.Fatalf("rows %v bad %v", rows, bad)
	}
	c := rows[0].Customer
	want := customer.Customer{Name: "Åsa Öberg", PersonalNumber: "19811228-9874",
		Addresses: []string{"Storgatan 1\n111 22 Stockholm", "Box 12; 222 33 Lund"}, Phone: "08-123 45 67", Email: "asa@example.se",
		Cards: []string{"4111 1111 1111 1111", "5555 5555 5555 4444"}, Accounts: []string{"5000-1234567"},
		Notes: `Säger "hej"; ring 3,5 gånger`, Tags: []string{"privat"}, RetainUntil: "2036-12-31"}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got  %#v\nwant %#v", c, want)
	}
	rd, err := NewReader(strings.NewReader(in), Options{})
	if err != nil || rd.Delimiter() != ';' {
		t.Fatalf("delimiter: %v %v", rd, err)
	}
}

// The delimiter is counted outside quotes: a quoted header cell with ';'
// does not make a comma file a semicolon file.
func TestDelimiterOutsideQuotes(t *testing.T) {
	rows, bad := readAll(t, "\"name\",\"notes\"\n\"A;B\",\"x;y;z\"\n", Options{})
	if len(bad) != 0 || len(rows) != 1 || rows[0].Customer.Name != "A;B" {
		t.Fatalf("rows %+v bad %v", rows, bad)
	}
	if _, err := NewReader(strings.NewReader("\"name;\";notes\nA,B;x\n"), Options{}); err == nil || !strings.Contains(err.Error(), "column 1 (A): not a customer field") {
		t.Fatalf("the quoted ';' in a header cell is no delimiter: %v", err)
	}
}

func TestRepeatedListColumns(t *testing.T) {
	rows, bad := readAll(t, "name,card,card,tags,address,address\nA,4111111111111111,,\"a\nb\n\",Gata 1,\"Gata 2\n123 45 Ort\"\n", Options{})
	if len(bad) != 0 {
		t.Fatal(bad)
	}
	c := rows[0].Customer
	if !reflect.DeepEqual(c.Cards, []string{"4111111111111111"}) || !reflect.DeepEqual(c.Tags, []string{"a", "b"}) ||
		!reflect.DeepEqual(c.Addresses, []string{"Gata 1", "Gata 2\n123 45 Ort"}) {
		t.Fatalf("%#v", c)
	}
}

func TestHeaderErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "empty"},
		{"name,name\n", "column 2 (B) repeats column 1 (A) (name)"},
		{"namn,Name\n", "repeats"},
		{"name,code,kod\n", "column 3 (C) repeats column 2 (B) (code)"},
		{"name,Anna Svensson,811228-9874\n", "column 2 (B), column 3 (C): not a customer field"},
		{"code,personnummer\n", "no name (namn) column"},
		{"code,retain until,compartment,version,updated\n", "codes-only export"},
		{strings.Repeat("name,", 70) + "\n", "71 columns; at most 64"},
		{"name,\"notes\n", "quoted field"},
	} {
		_, err := NewReader(strings.NewReader(tc.in), Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.in, err, tc.want)
		}
		if err != nil && (strings.Contains(err.Error(), "Anna") || strings.Contains(err.Error(), "9874")) {
			t.Errorf("%q: the error quotes the header: %v", tc.in, err)
		}
	}
	// Unnamed columns (Excel leaves them) are fine while empty.
	rows, bad := readAll(t, "name;;\nA;;\nB;x;\n", Options{})
	if len(rows) != 1 || len(bad) != 1 || bad[0].Line != 3 || bad[0].Column != "column 2 (B)" {
		t.Fatalf("rows %v bad %v", rows, bad)
	}
}

// Bad rows are reported with their line (the line the record starts on,
// counting quoted line breaks) and the reading goes on.
func TestRowErrorsAndLines(t *testing.T) {
	in := "name,notes,tags\r\n" + // 1
		"A,\"two\r\nlines\",x\r\n" + // 2-3
		"B,only two\r\n" + // 4: too few cells
		"\r\n" + // 5: empty line, skipped
		",,\r\n" + // 6: blank row, skipped
		"C,n,t,,\r\n" + // 7: trailing empty cells are fine
		"D,n,t,extra\r\n" + // 8: a value beyond the header
		"E,\"x\n\n\ny\",z\r\n" // 9-12
	rows, bad := readAll(t, in, Options{})
	var lines []int
	for _, r := range rows {
		lines = append(lines, r.Line)
	}
	if !reflect.DeepEqual(lines, []int{2, 7, 9}) {
		t.Fatalf("lines %v", lines)
	}
	if len(bad) != 2 || bad[0].Line != 4 || !strings.Contains(bad[0].Error(), "line 4: 2 cells, the header has 3") ||
		bad[1].Line != 8 || bad[1].Error() != "line 8, column 4 (D): a value beyond the header's 3 columns" {
		t.Fatalf("bad: %v", bad)
	}
	if rows[0].Customer.Notes != "two\nlines" {
		t.Fatalf("CRLF inside quotes: %q", rows[0].Customer.Notes)
	}
}

func TestQuoteErrorsNameTheLine(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"name,notes\nA,ok\nB,x\"y\n", "line 3: a '\"' appears inside an unquoted field"},
		{"name,notes\nA,ok\nB,\"x\"y\"\n", "line 3: a quoted field has a stray"},
		{"name,notes\nA,\"never\nclosed\n", "line 3 (in the record starting on line 2)"},
	} {
		_, _, err := ReadAll(strings.NewReader(tc.in), Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestNotUTF8(t *testing.T) {
	// "Åsa" in Windows-1252, as Excel's "CSV (semikolonavgränsad)" saves it.
	in := "namn;anteckningar\r\nBo;ok\r\n\xc5sa;\xf6vrigt\r\n"
	_, _, err := ReadAll(strings.NewReader(in), Options{})
	if !errors.Is(err, ErrNotUTF8) || !strings.HasPrefix(err.Error(), "line 3, column 1 (A): ") {
		t.Fatalf("%v", err)
	}
	rows, bad, err := ReadAll(strings.NewReader(in), Options{Windows1252: true})
	if err != nil || len(bad) != 0 || rows[1].Customer.Name != "Åsa" || rows[1].Customer.Notes != "övrigt" {
		t.Fatalf("Windows-1252: %v %v %v", rows, bad, err)
	}
	// A UTF-8 file read as Windows-1252 is refused by its BOM.
	if _, err := NewReader(strings.NewReader("\ufeffnamn\r\nÅsa\r\n"), Options{Windows1252: true}); err == nil || !strings.Contains(err.Error(), "byte order mark") {
		t.Fatalf("BOM as Windows-1252: %v", err)
	}
	if _, err := NewReader(strings.NewReader("na\xffme\n"), Options{}); !errors.Is(err, ErrNotUTF8) || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("header: %v", err)
	}
}

func TestLimits(t *testing.T) {
	// Too many rows.
	in := "name\n" + strings.Repeat("A\n", 11)
	if _, _, err := ReadAll(strings.NewReader(in), Options{MaxRows: 10}); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "more than 10 rows, at line 12") {
		t.Fatalf("rows: %v", err)
	}
	if rows, _, err := ReadAll(strings.NewReader(in), Options{MaxRows: 11}); err != nil || len(rows) != 11 {
		t.Fatalf("11 rows: %v", err)
	}
	// Too many bytes.
	if _, _, err := ReadAll(strings.NewReader(in), Options{MaxBytes: int64(len(in)) - 1}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("bytes: %v", err)
	}
	if _, _, err := ReadAll(strings.NewReader(in), Options{MaxBytes: int64(len(in))}); err != nil {
		t.Fatalf("exactly the limit: %v", err)
	}
	// A quote that never closes, in a file larger than a record may be.
	big := "name,notes\nA,\"" + strings.Repeat("x", MaxRecordBytes+3*readBuffer)
	if _, _, err := ReadAll(strings.NewReader(big), Options{}); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "the record after line 1 is longer than 1 MiB") {
		t.Fatalf("record: %v", err)
	}
	// A long cell is a row error.
	long := "name,notes\nA,\"" + strings.Repeat("x", MaxFieldBytes+1) + "\"\nB,ok\n"
	rows, bad, err := ReadAll(strings.NewReader(long), Options{})
	if err != nil || len(rows) != 1 || len(bad) != 1 || bad[0].Error() != "line 2, column 2 (B): longer than 256 KiB" {
		t.Fatalf("field: %v %v %v", rows, bad, err)
	}
	// A header line with no end.
	if _, err := NewReader(strings.NewReader(strings.Repeat("n", maxHeaderLine+10)), Options{}); err == nil || !strings.Contains(err.Error(), "header line is longer") {
		t.Fatalf("header: %v", err)
	}
}

// No error quotes a value: a personnummer placed in every kind of bad
// spot never appears in a message.
func TestErrorsNeverQuoteValues(t *testing.T) {
	const pnr = "19811228-9874"
	for _, in := range []string{
		pnr + ",name\n",
		"name\n" + pnr + "\xff\n",
		"name,notes\n" + pnr + ",\"" + pnr + "\"x\n",
		"name,notes\n" + pnr + "," + pnr + "\"\n",
		"name,notes\n" + pnr + "\n",
		"name,notes\n" + pnr + ",a," + pnr + "\n",
		"name,\n" + pnr + "," + pnr + "\n",
	} {
		_, bad, err := ReadAll(strings.NewReader(in), Options{})
		msgs := []string{}
		if err != nil {
			msgs = append(msgs, err.Error())
		}
		for _, b := range bad {
			msgs = append(msgs, b.Error())
		}
		if len(msgs) == 0 {
			t.Errorf("%q: no error", in)
		}
		for _, m := range msgs {
			if strings.Contains(m, "9874") {
				t.Errorf("%q: %s", in, m)
			}
		}
	}
}

func TestFormulaGuardRoundTrip(t *testing.T) {
	values := []string{"=1+2", "+46 8 123 45 67", "-x", "@SUM(A1)", "\tx", "'=x", "''y", "'abc", "'", "plain", "a=b", "Åsa"}
	var buf bytes.Buffer
	w := NewWriter(&buf, WriterOptions{Names: true})
	for _, v := range values {
		if err := w.Write(ExportRow{Customer: customer.Customer{Name: v, Notes: v}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, bad := range []string{"\r\n=", "\r\n+", "\r\n-", "\r\n@", ",=", ",+", ",-", ",@", ",\"\t", "\r\n\"\t"} {
		if strings.Contains(out, bad) {
			t.Errorf("a cell starts a formula: %q in\n%s", bad, out)
		}
	}
	if !strings.Contains(out, ",'+46 8 123 45 67,") {
		t.Errorf("phone not guarded:\n%s", out)
	}
	rows, bad := readAll(t, out, Options{})
	if len(bad) != 0 || len(rows) != len(values) {
		t.Fatalf("rows %d bad %v", len(rows), bad)
	}
	for i, r := range rows {
		if r.Customer.Name != values[i] || r.Customer.Notes != values[i] {
			t.Errorf("value %q read back as %q / %q", values[i], r.Customer.Name, r.Customer.Notes)
		}
	}
}

func TestWriterColumns(t *testing.T) {
	full := customer.Customer{Code: "K7Q3-MX9R-2", Name: "Anna", PersonalNumber: "19811228-9874", RetainUntil: "2030-01-01",
		Addresses: []string{"Gata 1\n\n  \n123 45 Ort", "Box 2"}, Cards: []string{"4111111111111111"}, Tags: []string{"a", "b"}}
	row := ExportRow{Customer: full, Compartment: "0123456789abcdef0123456789abcdef", Version: 3, Updated: time.Date(2026, 5, 1, 12, 0, 0, 0, time.FixedZone("CEST", 7200))}

	var buf bytes.Buffer
	w := NewWriter(&buf, WriterOptions{})
	w.Write(row)
	w.Flush()
	want := "code,retain until,compartment,version,updated\r\nK7Q3-MX9R-2,2030-01-01,0123456789abcdef0123456789abcdef,3,2026-05-01T10:00:00Z\r\n"
	if buf.String() != want {
		t.Fatalf("codes only:\n%q\nwant\n%q", buf.String(), want)
	}

	buf.Reset()
	w = NewWriter(&buf, WriterOptions{Names: true, Excel: true})
	w.Write(row)
	w.Flush()
	out := buf.String()
	if !strings.HasPrefix(out, "\ufeffcode;name;personnummer;organisationsnummer;address;phone;email;card;account;notes;tags;retain until;compartment;version;updated\r\n") {
		t.Fatalf("excel header: %q", out)
	}
	rows, bad := readAll(t, out, Options{})
	if len(bad) != 0 || len(rows) != 1 {
		t.Fatal(bad)
	}
	got := rows[0].Customer
	full.Addresses[0] = "Gata 1\n123 45 Ort"
	if !reflect.DeepEqual(got, full) {
		t.Fatalf("read back\n%#v\nwant\n%#v", got, full)
	}

	// An empty export still has its header.
	buf.Reset()
	NewWriter(&buf, WriterOptions{}).Flush()
	if buf.String() != "code,retain until,compartment,version,updated\r\n" {
		t.Fatalf("empty: %q", buf.String())
	}
}

func TestColumnName(t *testing.T) {
	for i, want := range map[int]string{0: "column 1 (A)", 25: "column 26 (Z)", 26: "column 27 (AA)", 51: "column 52 (AZ)", 52: "column 53 (BA)"} {
		if got := columnName(i); got != want {
			t.Errorf("%d: %s, want %s", i, got, want)
		}
	}
	if len(Columns()) != 15 {
		t.Errorf("Columns: %v", Columns())
	}
}

var _ = io.EOF
