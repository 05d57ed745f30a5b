package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/store/customer"
)

// M3 (docs/security-review-2026-11.md): a damaged or crafted value in a
// vault file must give an error, never a panic, in every read: list,
// view, history, documents, search, intake queue, audit export and
// verification, staff, compartments, holders, retention, CSV export.

// damageFixture is a vault with something in every bucket, open, whose
// files are damaged one value at a time and read back.
type damageFixture struct {
	tv     *testVault
	cid    CompartmentID
	code   customer.Code
	doc    DocumentID
	staff  StaffID
	values []storedValue // every value of both files
	files  []savedFile   // the undamaged files
}

// savedFile is a vault file as it was: bbolt grows a file by 16 MiB of
// zeros, so what is before them and the size.
type savedFile struct {
	path string
	used []byte
	size int64
}

// storedValue names one value: its file (nil: the directory), bucket and key.
type storedValue struct {
	comp   bool
	bucket string
	key    []byte
}

func (v storedValue) String() string {
	f := "directory"
	if v.comp {
		f = "compartment"
	}
	return fmt.Sprintf("%s/%s/%x", f, v.bucket, v.key)
}

func newDamageFixture(t testing.TB) *damageFixture {
	t.Helper()
	docKnobs(t, 4<<10, 16<<10)
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	cid, err := s.CreateCompartment("Skadad")
	mustNoErr(t, err)
	code, err := s.AddCustomer(cid, testCustomer("Åsa Kund"))
	mustNoErr(t, err)
	_, err = s.AddCustomer(cid, testCustomer("Bo Kund"))
	mustNoErr(t, err)
	_, err = s.EditCustomer(code, func(c *customer.Customer) error { c.Notes = "ändrad"; return nil })
	mustNoErr(t, err)
	doc, err := s.AddDocument(context.Background(), code, "avtal.pdf", "application/pdf", bytes.NewReader(randomBytes(3, 9<<10)), nil, DocumentOptions{})
	mustNoErr(t, err)
	h := newTestHolder(t, "Hanna", RoleHolder)
	hid, err := s.Enrol(h.info)
	mustNoErr(t, err)
	mustNoErr(t, s.Grant(cid, hid))
	staff, err := s.Staff()
	mustNoErr(t, err)
	rcpt := recipientOf(t, tv.v, cid)
	mustNoErr(t, s.Lock())
	_, err = importIntake(tv.v, intakeFile(t, "in.txt", []byte("inkommande"), rcpt))
	mustNoErr(t, err)
	mustNoErr(t, tv.v.ReportFailedPIN(h.info.Serial, 2))
	f := &damageFixture{tv: tv, cid: cid, code: code, doc: doc, staff: staff[0].ID}
	tv.v.Close()
	for _, p := range []string{filepath.Join(tv.dir, DirectoryFile), compartmentPath(tv.dir, cid)} {
		b := readFile(t, p)
		f.files = append(f.files, savedFile{p, bytes.TrimRight(b, "\x00"), int64(len(b))})
	}
	tv.reopen(t)
	t.Cleanup(func() { f.tv.v.Close() }) // the last one damage opened
	cdb, err := tv.v.compartmentDB(cid)
	mustNoErr(t, err)
	for _, db := range []*bolt.DB{tv.v.db, cdb} {
		db.View(func(tx *bolt.Tx) error {
			return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
				return b.ForEach(func(k, v []byte) error {
					if v != nil {
						f.values = append(f.values, storedValue{comp: db == cdb, bucket: string(name), key: bytes.Clone(k)})
					}
					return nil
				})
			})
		})
	}
	return f
}

func (f *damageFixture) db(t testing.TB, v storedValue) *bolt.DB {
	if !v.comp {
		return f.tv.v.db
	}
	db, err := f.tv.v.compartmentDB(f.cid)
	mustNoErr(t, err)
	return db
}

// damage puts the undamaged files back (a read appends to the logs, and
// may chain pending entries) and applies mutation m to the value (data:
// the fuzzer's bytes).
func (f *damageFixture) damage(t testing.TB, v storedValue, m byte, pos uint16, data []byte) {
	f.tv.v.Close()
	for _, file := range f.files {
		mustNoErr(t, os.WriteFile(file.path, file.used, 0o600))
		mustNoErr(t, os.Truncate(file.path, file.size)) // sparse
	}
	nv, err := Open(f.tv.dir)
	mustNoErr(t, err)
	f.tv.v = nv
	db := f.db(t, v)
	mustNoErr(t, db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(v.bucket))
		if b == nil {
			return nil
		}
		orig := get(b, v.key)
		if orig == nil {
			return nil
		}
		d := bytes.Clone(orig)
		switch m % 8 {
		case 0:
			d = nil
		case 1:
			d = d[:len(d)/2]
		case 2:
			d = d[:max(len(d)-1, 0)]
		case 3:
			if len(d) > 0 {
				d[int(pos)%len(d)] ^= 1 << (pos % 8)
			}
		case 4:
			d = append(d, 0xff, 0xff, 0xff)
		case 5:
			return b.Delete(v.key)
		case 6:
			d = bytes.Clone(data)
		case 7:
			if len(d) >= 8 {
				binary.BigEndian.PutUint64(d, ^uint64(0)>>(pos%64))
			}
		}
		return b.Put(v.key, d)
	}))
	// The test rewrites files thousands of times: no fsync.
	f.tv.v.db.NoSync = true
	if cdb, err := f.tv.v.compartmentDB(f.cid); err == nil {
		cdb.NoSync = true
	}
}

// readAll unlocks as the admin and runs every read, each under recover;
// it returns the first panic (with its stack), or "".
func (f *damageFixture) readAll() (panicked string) {
	try := func(name string, fn func()) {
		defer func() {
			if p := recover(); p != nil && panicked == "" {
				panicked = fmt.Sprintf("%s panicked: %v\n%s", name, p, debug.Stack())
			}
		}()
		fn()
	}
	v := f.tv.v
	try("Vault.Holders", func() { v.Holders() })
	try("Vault.CompartmentIDs", func() { v.CompartmentIDs() })
	try("Vault.StaffIDs", func() { v.StaffIDs() })
	var s *Session
	try("Unlock", func() { s, _ = v.Unlock(f.tv.admin.identity, f.tv.admin.signer) })
	if s == nil {
		return panicked
	}
	s.signer = nil // no checkpoints: the damaged file is read, not certified
	defer s.Lock()
	ctx := context.Background()
	try("Compartments", func() { s.Compartments() })
	try("Holders", func() { s.Holders() })
	try("Grants", func() { s.Grants(f.cid) })
	try("Staff", func() { s.Staff() })
	try("NDADocument", func() { s.NDADocument(f.staff, io.Discard) })
	try("CompartmentRecipient", func() { s.CompartmentRecipient(f.cid) })
	try("ListCustomers", func() { s.ListCustomers(f.cid, 0, 100) })
	try("ViewCustomer", func() { s.ViewCustomer(f.code) })
	try("RevealCustomer", func() { s.RevealCustomer(f.code) })
	try("CustomerHistory", func() { s.CustomerHistory(f.code, true) })
	try("Documents", func() { s.Documents(f.code) })
	try("ExportDocument", func() { s.ExportDocument(ctx, f.doc, io.Discard, nil, DocumentOptions{}) })
	try("SearchCustomers", func() { s.SearchCustomers("kund", 10) })
	try("IntakeQueue", func() { s.IntakeQueue() })
	try("PastRetention", func() { s.PastRetention(time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)) })
	try("ExportCustomers", func() { s.ExportCustomers(f.cid, ExportRevealed, func(Record) error { return nil }) })
	try("ExportAudit", func() { s.ExportAudit(func(ExportedEntry) error { return nil }) })
	try("VerifyAudit", func() { s.VerifyAudit() })
	return panicked
}

// TestDamagedValuesNeverPanic damages every value of a vault's files in
// turn, in each way damage knows, and runs every read.
func TestDamagedValuesNeverPanic(t *testing.T) {
	f := newDamageFixture(t)
	if p := f.readAll(); p != "" {
		t.Fatalf("undamaged: %s", p)
	}
	mutations := []byte{0, 1, 2, 3, 4, 5, 7}
	if testing.Short() {
		mutations = []byte{1, 3}
	}
	for _, v := range f.values {
		for _, m := range mutations {
			f.damage(t, v, m, 5, nil)
			p := f.readAll()
			if p != "" {
				t.Fatalf("%s damaged (mutation %d): %s", v, m, p)
			}
		}
	}
}

// FuzzDamagedValues damages one stored value as the fuzzer says (which
// value, how, where, with what bytes) and runs every read: none may
// panic.
func FuzzDamagedValues(f *testing.F) {
	fx := newDamageFixture(f)
	for i := range len(fx.values) {
		f.Add(uint16(i), byte(i%8), uint16(i*7), []byte{0x01, 0x00})
	}
	f.Fuzz(func(t *testing.T, which uint16, m byte, pos uint16, data []byte) {
		v := fx.values[int(which)%len(fx.values)]
		fx.damage(t, v, m, pos, data)
		if p := fx.readAll(); p != "" {
			t.Fatalf("%s damaged (mutation %d at %d): %s", v, m%8, pos, p)
		}
	})
}

// M3: a damaged page in a bucket that audit verification does not read
// (here the search entries) is found by it: the structural check names
// the damage instead of the file verifying.
func TestVerifyFindsDamagedPage(t *testing.T) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	cid, err := s.CreateCompartment("A")
	mustNoErr(t, err)
	_, err = s.AddCustomers(cid, benchCustomers(300))
	mustNoErr(t, err)
	mustNoErr(t, s.Lock())
	var root uint64
	var pageSize int
	db, err := tv.v.compartmentDB(cid)
	mustNoErr(t, err)
	pageSize = db.Info().PageSize
	db.View(func(tx *bolt.Tx) error { root = uint64(tx.Bucket(bSearch).Root()); return nil })
	if root == 0 {
		t.Fatal("the search bucket is inline")
	}
	tv.v.Close()
	path := compartmentPath(tv.dir, cid)
	raw := readFile(t, path)
	// The page header: id (8 bytes), flags (2), count (2), overflow (4).
	binary.LittleEndian.PutUint16(raw[int(root)*pageSize+8:], 0x0fff)
	mustNoErr(t, os.WriteFile(path, raw, 0o600))
	tv.reopen(t)
	r, err := tv.v.Unlock(tv.recovery, nil)
	mustNoErr(t, err)
	defer r.Lock()
	_, err = r.VerifyAudit()
	var ae *AuditError
	if !errors.As(err, &ae) || ae.Log != cid.String() || !strings.Contains(ae.Reason, "damaged") {
		t.Fatalf("VerifyAudit of a file with a damaged page = %v", err)
	}
}
