package store

import (
	"bytes"
	"io"
	"testing"

	"github.com/valv-vault/valv/store/customercsv"
)

// BenchmarkImportCSV100k reads a CSV file of 100 000 customers (Excel's
// form: BOM, ';', CRLF, names and numbers) and imports it into an empty
// compartment: parsing, validation, sealing, index, audit entries and one
// commit. Goal: a few seconds.
func BenchmarkImportCSV100k(b *testing.B) {
	file := importCSVFile(b, benchN, 0)
	b.SetBytes(int64(len(file)))
	for b.Loop() {
		b.StopTimer()
		tv := newTestVault(b)
		s := tv.unlock(b, tv.admin)
		cid, err := s.CreateCompartment("A")
		mustNoErr(b, err)
		b.StartTimer()
		rows, bad, err := customercsv.ReadAll(bytes.NewReader(file), customercsv.Options{})
		if err != nil || len(bad) != 0 {
			b.Fatal(err, bad)
		}
		in := make([]ImportRow, len(rows))
		for i, r := range rows {
			in[i] = ImportRow{Line: r.Line, Customer: r.Customer}
		}
		res, err := s.ImportCustomers(cid, in)
		if err != nil || res.Added != benchN {
			b.Fatal(err, res.Added)
		}
		b.StopTimer()
		s.Lock()
		tv.v.Close()
		b.StartTimer()
	}
}

// BenchmarkExportCSV100k exports a compartment of 100 000 customers with
// names, unmasked, as CSV (to io.Discard). Goal: a few seconds.
func BenchmarkExportCSV100k(b *testing.B) {
	tv := newTestVault(b)
	s := tv.unlock(b, tv.admin)
	cid, err := s.CreateCompartment("A")
	mustNoErr(b, err)
	_, err = s.AddCustomers(cid, benchCustomers(benchN))
	mustNoErr(b, err)
	for b.Loop() {
		w := customercsv.NewWriter(io.Discard, customercsv.WriterOptions{Names: true})
		n, err := s.ExportCustomers(cid, ExportRevealed, func(r Record) error {
			return w.Write(customercsv.ExportRow{Customer: r.Customer, Compartment: r.Compartment.String(), Version: r.Version, Updated: r.Time})
		})
		if err != nil || n != benchN {
			b.Fatal(err, n)
		}
		mustNoErr(b, w.Flush())
	}
}
