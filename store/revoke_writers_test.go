package store

import (
	"testing"
	"time"

	"github.com/valv-vault/valv/store/customer"
)

// L5: while Revoke copies a compartment into its new file, another
// session of the same process may commit to the old file; whatever it
// commits there after the copy began is gone with the old file. Such a
// write must either fail (nothing is returned unlogged) or reach the new
// file.
func TestRevokeDoesNotLoseOtherWriters(t *testing.T) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	cid, err := s.CreateCompartment("A")
	mustNoErr(t, err)
	var code customer.Code
	for range 3 {
		code, err = s.AddCustomer(cid, testCustomer("Kund"))
		mustNoErr(t, err)
	}
	h := newTestHolder(t, "Hanna", RoleHolder)
	hid, err := s.Enrol(h.info)
	mustNoErr(t, err)
	mustNoErr(t, s.Grant(cid, hid))
	other := tv.unlock(t, tv.admin) // a second window of the same process

	type result struct {
		err error
	}
	done := make(chan result, 1)
	started := false
	mustNoErr(t, s.Revoke(cid, hid, func(_, _ int) {
		if started {
			return
		}
		started = true
		go func() {
			_, err := other.ViewCustomer(code)
			done <- result{err}
		}()
		select {
		case <-done: // it went through during the copy: put it back for below
			done <- result{nil}
		case <-time.After(500 * time.Millisecond): // blocked until the swap
		}
	}))
	r := <-done
	var views int
	mustNoErr(t, s.ExportAudit(func(e ExportedEntry) error {
		if e.Log == cid.String() && e.Action == ActionView && e.Object == string(code) {
			views++
		}
		return nil
	}))
	if r.err == nil && views == 0 {
		t.Fatal("a view committed during the revocation returned its record, but its audit entry is gone with the old file")
	}
}
