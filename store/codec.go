package store

import (
	"encoding/binary"
	"errors"
	"time"
	"unicode/utf8"

	"github.com/valv-vault/valv/store/customer"
)

// The plaintexts of sealed records and audit entries use a small binary
// encoding (see SPEC.md): JSON would double the size of a 100 000-customer
// compartment and its encoding time.

const (
	entryEncoding  = 1
	recordEncoding = 1
	maxFieldLen    = 1 << 20
)

var errMalformed = errors.New("malformed")

type encoder struct{ b []byte }

func (e *encoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) time(t time.Time) { e.b = binary.BigEndian.AppendUint64(e.b, uint64(t.UnixNano())) }
func (e *encoder) id(id ID)         { e.b = append(e.b, id[:]...) }
func (e *encoder) str(s string)     { e.uvarint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *encoder) strs(l []string) {
	e.uvarint(uint64(len(l)))
	for _, s := range l {
		e.str(s)
	}
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errMalformed
	}
	d.b = nil
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) time() time.Time {
	if len(d.b) < 8 {
		d.fail()
		return time.Time{}
	}
	t := time.Unix(0, int64(binary.BigEndian.Uint64(d.b))).UTC()
	d.b = d.b[8:]
	return t
}

func (d *decoder) id() ID {
	var id ID
	if len(d.b) < len(id) {
		d.fail()
		return id
	}
	copy(id[:], d.b)
	d.b = d.b[len(id):]
	return id
}

func (d *decoder) str() string {
	n := d.uvarint()
	if n > maxFieldLen || n > uint64(len(d.b)) {
		d.fail()
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	if !utf8.ValidString(s) {
		d.fail()
	}
	return s
}

func (d *decoder) strs() []string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	var l []string
	for range n {
		l = append(l, d.str())
	}
	return l
}

func (d *decoder) done() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = errMalformed
	}
	return d.err
}

func appendEntry(b []byte, e *Entry) []byte {
	enc := encoder{b}
	enc.b = append(enc.b, entryEncoding)
	enc.uvarint(e.Seq)
	enc.time(e.Time)
	enc.id(e.Holder)
	enc.str(string(e.Action))
	enc.str(e.Object)
	enc.varint(e.Count)
	return enc.b
}

func decodeEntry(p []byte) (Entry, error) {
	d := decoder{b: p}
	if d.byte() != entryEncoding {
		return Entry{}, errMalformed
	}
	e := Entry{Seq: d.uvarint(), Time: d.time(), Holder: d.id(), Action: Action(d.str()), Object: d.str(), Count: d.varint()}
	return e, d.done()
}

func appendRecord(b []byte, r *storedRecord) []byte {
	enc := encoder{b}
	c := &r.Customer
	enc.b = append(enc.b, recordEncoding)
	enc.uvarint(r.Version)
	enc.time(r.Time)
	enc.id(r.Holder)
	enc.str(string(c.Code))
	enc.str(c.Name)
	enc.str(c.PersonalNumber)
	enc.str(c.OrgNumber)
	enc.strs(c.Addresses)
	enc.str(c.Phone)
	enc.str(c.Email)
	enc.strs(c.Cards)
	enc.strs(c.Accounts)
	enc.str(c.Notes)
	enc.strs(c.Tags)
	enc.str(c.RetainUntil)
	return enc.b
}

func decodeRecord(p []byte) (*storedRecord, error) {
	d := decoder{b: p}
	if d.byte() != recordEncoding {
		return nil, errMalformed
	}
	r := &storedRecord{Version: d.uvarint(), Time: d.time(), Holder: d.id()}
	r.Customer = customer.Customer{
		Code:           customer.Code(d.str()),
		Name:           d.str(),
		PersonalNumber: d.str(),
		OrgNumber:      d.str(),
		Addresses:      d.strs(),
		Phone:          d.str(),
		Email:          d.str(),
		Cards:          d.strs(),
		Accounts:       d.strs(),
		Notes:          d.str(),
		Tags:           d.strs(),
		RetainUntil:    d.str(),
	}
	return r, d.done()
}

// raw reads a str without copying it (the slice is capped, so an
// append to it cannot overwrite what follows).
func (d *decoder) raw() []byte {
	n := d.uvarint()
	if n > maxFieldLen || n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	s := d.b[:n:n]
	d.b = d.b[n:]
	return s
}
