package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// excelFile is what Swedish Excel's "CSV UTF-8" writes: a byte order
// mark, ';', CRLF, Swedish headers, a quoted cell with a line break.
const excelFile = "\ufeffKod;Namn;Personnummer;Adress;Telefon;Kort;Gallras\r\n" +
	";Åsa Öberg;811228-9874;\"Storgatan 1\r\n111 22 Stockholm\";+46 8 123 45 67;4111 1111 1111 1111;2036-12-31\r\n" + // 2-3
	";Bo Ek;811228-9875;;;;\r\n" + // 4: wrong check digit
	";Cilla Berg;;;;5555 5555 5555 4444;\r\n" + // 5
	";;;;;4111 1111 1111 1112;\r\n" + // 6: no name, wrong card check digit
	";Dan Dahl;;;;;2030-02-30\r\n" + // 7: no such date
	";Eva Ek;\"x\";y\r\n" + // 8: too few cells
	";Fia Fors;;;070-123 45 67;;\r\n" // 9

func TestCSVCLI(t *testing.T) {
	cv := newCLIVault(t)
	a := strings.TrimSpace(cv.ok(t, cv.admin, "compartment", "create", "Privat"))
	b := strings.TrimSpace(cv.ok(t, cv.admin, "compartment", "create", "Företag"))
	tmp := t.TempDir()
	in := filepath.Join(tmp, "kunder.csv")
	if err := os.WriteFile(in, []byte(excelFile), 0o600); err != nil {
		t.Fatal(err)
	}

	// Import: bad rows listed by line and field, valid ones added.
	rc, out, errOut := cv.valv(t, cv.admin, "import-csv", "--compartment", a, in)
	if rc != 1 {
		t.Fatalf("import: exit %d\n%s\n%s", rc, out, errOut)
	}
	added := regexp.MustCompile(`(?m)^(\d+)\t([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z])$`).FindAllStringSubmatch(out, -1)
	if len(added) != 3 || added[0][1] != "2" || added[1][1] != "5" || added[2][1] != "9" || strings.Count(out, "\n") != 3 {
		t.Fatalf("import stdout: %q", out)
	}
	for _, want := range []string{
		"line 4: personnummer: the check digit",
		"line 6: name: required",
		"line 6: cards[0]: the check digit",
		"line 7: retain_until: write the date as YYYY-MM-DD",
		"line 8: 4 cells, the header has 7",
		"added 3 customers to compartment " + a + "; 4 rows were not imported",
		"4 rows of " + in + " were not imported",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("import stderr lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Index(errOut, "line 4") > strings.Index(errOut, "line 6") || strings.Index(errOut, "line 7") > strings.Index(errOut, "line 8") {
		t.Errorf("problems not in line order:\n%s", errOut)
	}
	for _, secret := range []string{"9875", "1112", "Bo Ek", "2030-02-30"} {
		if strings.Contains(errOut, secret) {
			t.Errorf("import stderr quotes a value (%s):\n%s", secret, errOut)
		}
	}
	asa := added[0][2]
	show := cv.ok(t, cv.admin, "customer", "show", "--reveal", asa)
	if !strings.Contains(show, "Åsa Öberg") || !strings.Contains(show, "19811228-9874") || !strings.Contains(show, "+46 8 123 45 67") ||
		!strings.Contains(show, "111 22 Stockholm") {
		t.Fatalf("imported customer:\n%s", show)
	}

	// Export, codes only by default: no names, no numbers.
	codesOut := filepath.Join(tmp, "koder.csv")
	out = cv.ok(t, cv.admin, "export-csv", "--compartment", a, codesOut)
	if out != codesOut+"\t3 customers\tcodes only\n" {
		t.Fatalf("export stdout: %q", out)
	}
	data, err := os.ReadFile(codesOut)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\r\n"), "\r\n")
	if len(lines) != 4 || lines[0] != "code,retain until,compartment,version,updated" || strings.Contains(string(data), "Åsa") ||
		!strings.Contains(string(data), asa+",2036-12-31,"+a+",1,") {
		t.Fatalf("codes export:\n%s", data)
	}
	if st, err := os.Stat(codesOut); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("export mode: %v %v", st.Mode(), err)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, ".*.tmp")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	// Never over an existing file, unless --force.
	if rc, _, errOut := cv.valv(t, cv.admin, "export-csv", "--compartment", a, "--with-names", codesOut); rc != 1 || !strings.Contains(errOut, "exists") {
		t.Fatalf("export over a file: %d %q", rc, errOut)
	}
	if d, _ := os.ReadFile(codesOut); string(d) != string(data) {
		t.Fatal("the refused export changed the file")
	}
	cv.ok(t, cv.admin, "export-csv", "--compartment", a, "--with-names", "--force", codesOut)
	masked, _ := os.ReadFile(codesOut)
	// Whole numbers only: random ids and codes may hold any four digits.
	if !strings.Contains(string(masked), "Åsa Öberg") || !strings.Contains(string(masked), "19811228-****") ||
		!strings.Contains(string(masked), "411111******1111") || strings.Contains(string(masked), "19811228-9874") ||
		strings.Contains(string(masked), "8112289874") {
		t.Fatalf("masked export:\n%s", masked)
	}
	if rc, _, _ := cv.valv(t, cv.admin, "export-csv", "--reveal", "-"); rc != 2 {
		t.Fatalf("--reveal without --with-names: exit %d", rc)
	}

	// Revealed, for Excel, to standard output: the formula guard on the
	// phone number.
	rc, full, errOut := cv.valv(t, cv.admin, "export-csv", "--compartment", a, "--with-names", "--reveal", "--excel", "-")
	if rc != 0 || !strings.HasPrefix(full, "\ufeffcode;name;personnummer;") || !strings.Contains(full, ";'+46 8 123 45 67;") ||
		!strings.Contains(full, "19811228-9874") || !strings.Contains(errOut, "exported 3 customers (with names, numbers in full)") ||
		!strings.Contains(errOut, "delete it when done") {
		t.Fatalf("revealed export: %d\n%s\n%s", rc, full, errOut)
	}
	fullFile := filepath.Join(tmp, "full.csv")
	if err := os.WriteFile(fullFile, []byte(full), 0o600); err != nil {
		t.Fatal(err)
	}
	// Into B of the same vault, the codes are taken...
	rc, _, errOut = cv.valv(t, cv.admin, "import-csv", "--compartment", b, fullFile)
	if rc != 1 || strings.Count(errOut, "code: already in use") != 3 {
		t.Fatalf("import into B: %d\n%s", rc, errOut)
	}
	// ... into another vault they are not, and the records are equal.
	cv2 := newCLIVault(t)
	c := strings.TrimSpace(cv2.ok(t, cv2.admin, "compartment", "create", "Kopia"))
	cv2.ok(t, cv2.admin, "import-csv", fullFile)
	_, full2, _ := cv2.valv(t, cv2.admin, "export-csv", "--with-names", "--reveal", "--excel", "-")
	strip := regexp.MustCompile(`;[0-9a-f]{32};1;[0-9TZ:-]+\r\n`)
	if strip.ReplaceAllString(full2, "\n") != strip.ReplaceAllString(full, "\n") || !strings.Contains(full2, c) {
		t.Fatalf("round trip:\n%s\nwant\n%s", full2, full)
	}

	// Every import and export is in the audit log.
	rc, audit, _ := cv.valv(t, cv.admin, "audit", "export")
	for _, want := range []string{",csv-import,,3\n", ",csv-import,,0\n", ",csv-export,,3\n", ",csv-export-names,,3\n", ",csv-export-reveal,,3\n"} {
		if rc != 0 || !strings.Contains(audit, want) {
			t.Errorf("audit lacks %q", want)
		}
	}
}

func TestCSVCLIEncodingAndErrors(t *testing.T) {
	cv := newCLIVault(t)
	cv.ok(t, cv.admin, "compartment", "create", "Privat")
	tmp := t.TempDir()
	cp1252 := filepath.Join(tmp, "ansi.csv")
	if err := os.WriteFile(cp1252, []byte("Namn;Anteckningar\r\nBo;ok\r\n\xc5sa \xd6berg;\xe4r h\xe4r\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rc, _, errOut := cv.valv(t, cv.admin, "import-csv", cp1252)
	if rc != 1 || !strings.Contains(errOut, "line 3, column 1 (A): the text is not UTF-8") || !strings.Contains(errOut, "--encoding windows-1252") ||
		!strings.Contains(errOut, "nothing was imported") {
		t.Fatalf("Windows-1252 as UTF-8: %d %q", rc, errOut)
	}
	out := cv.ok(t, cv.admin, "import-csv", "--encoding", "windows-1252", cp1252)
	if strings.Count(out, "\n") != 2 {
		t.Fatalf("Windows-1252: %q", out)
	}
	code := strings.Fields(strings.Split(out, "\n")[1])[1]
	if show := cv.ok(t, cv.admin, "customer", "show", code); !strings.Contains(show, "Åsa Öberg") || !strings.Contains(show, "är här") {
		t.Fatalf("show: %s", show)
	}
	bad := filepath.Join(tmp, "bad.csv")
	os.WriteFile(bad, []byte("namn,811228-9874\nA,B\n"), 0o600)
	rc, _, errOut = cv.valv(t, cv.admin, "import-csv", bad)
	if rc != 1 || !strings.Contains(errOut, "line 1: column 2 (B): not a customer field") || strings.Contains(errOut, "9874") {
		t.Fatalf("unknown column: %d %q", rc, errOut)
	}
	if rc, _, _ := cv.valv(t, cv.admin, "import-csv", "--encoding", "latin9", bad); rc != 2 {
		t.Fatalf("bad --encoding: %d", rc)
	}
}

// A large import and export print progress on standard error.
func TestCSVCLIProgress(t *testing.T) {
	cv := newCLIVault(t)
	cv.ok(t, cv.admin, "compartment", "create", "Privat")
	var b strings.Builder
	b.WriteString("name,email\n")
	for i := range 10_000 {
		fmt.Fprintf(&b, "Kund %d,kund%d@example.se\n", i, i)
	}
	in := filepath.Join(t.TempDir(), "stor.csv")
	os.WriteFile(in, []byte(b.String()), 0o600)
	rc, out, errOut := cv.valv(t, cv.admin, "import-csv", in)
	if rc != 0 || strings.Count(out, "\n") != 10_000 || !strings.Contains(errOut, "read 10000 rows\n") ||
		!strings.Contains(errOut, "checking and adding 10000 customers in one transaction\n") || !strings.Contains(errOut, "added 10000 customers") {
		t.Fatalf("import: %d\n%s", rc, errOut)
	}
	rc, out, errOut = cv.valv(t, cv.admin, "export-csv", "-")
	if rc != 0 || strings.Count(out, "\r\n") != 10_001 || !strings.Contains(errOut, "exported 10000 customers\n") {
		t.Fatalf("export: %d\n%s", rc, errOut)
	}
}
