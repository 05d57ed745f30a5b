package customercsv

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzReader feeds arbitrary bytes to the reader: it must never panic,
// every error is an error (not a crash), and the lines it reports are
// increasing and inside the file.
func FuzzReader(f *testing.F) {
	for _, s := range []string{
		"code,name,personnummer\nK7Q3-MX9R-2,Anna Svensson,811228-9874\n",
		"\ufeffKod;Namn;Adress;Kort\r\n;Åsa;\"Gata 1\r\n\r\nBox 2\";\"4111 1111 1111 1111\r\n\"\r\n",
		"name,notes\nA,\"x\"\"y\"\nB,\"unterminated\n",
		"name,,tags\n,,\nA,x,y\nB\n",
		"namn;anteckningar\r\n\xc5sa;\xf6\r\n",
		"name,notes\n'=1+2,''x\n",
		"name,notes\nA,x\"y\n",
		"",
		"\"",
	} {
		f.Add([]byte(s), false)
	}
	f.Add([]byte("namn;anteckningar\r\n\xc5sa;\xf6\r\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, cp1252 bool) {
		rd, err := NewReader(bytes.NewReader(data), Options{Windows1252: cp1252, MaxRows: 1000})
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		prev := 1
		for {
			row, err := rd.Read()
			var re *RowError
			switch {
			case errors.As(err, &re):
				if re.Line <= prev-1 || re.Line > lines {
					t.Fatalf("row error at line %d after %d, file of %d lines", re.Line, prev, lines)
				}
				prev = re.Line + 1
				continue
			case err != nil:
				if err.Error() == "" {
					t.Fatal("empty error")
				}
				return
			}
			if row.Line < prev || row.Line > lines {
				t.Fatalf("row at line %d after %d, file of %d lines", row.Line, prev, lines)
			}
			prev = row.Line + 1
		}
	})
}
