package backup

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/valv-vault/valv/crypto/pivage"
	"github.com/valv-vault/valv/store"
	"github.com/valv-vault/valv/store/customer"
)

// A testHolder is a software key holder: a P-256 decryption key standing
// in for a card's retired slot, and a P-256 signing key for slot 9C.
type testHolder struct {
	info     store.HolderInfo
	identity *pivage.Identity
	signer   crypto.Signer
	dk       *ecdh.PrivateKey  // the decryption key behind identity
	sk       *ecdsa.PrivateKey // signer
}

var nextSerial uint32 = 5000

func newTestHolder(t testing.TB, name string, role store.Role) *testHolder {
	t.Helper()
	dk, err := ecdh.P256().GenerateKey(rand.Reader)
	must(t, err)
	id, err := pivage.NewIdentity(dk)
	must(t, err)
	sk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	nextSerial++
	day := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	return &testHolder{
		info: store.HolderInfo{Name: name, Serial: nextSerial, Slot: 0x82, Recipient: id.Recipient(), SigningKey: &sk.PublicKey, Role: role, Signer: sk,
			Staff: &store.StaffInfo{Name: name, Title: "Handläggare",
				Screening: store.Screening{Status: store.ScreeningPassed, Date: day, By: "Säkerhet"},
				NDASigned: day, NDADocument: []byte("%PDF-1.4 NDA\n")}},
		identity: id,
		signer:   sk,
		dk:       dk,
		sk:       sk,
	}
}

// A fixture is a vault with compartments, customers and documents.
type fixture struct {
	dir      string
	v        *store.Vault
	recovery *age.X25519Identity
	admin    *testHolder
	comps    []store.CompartmentID
	docs     map[store.DocumentID][]byte // every document's content
}

// newFixture makes a vault with nComps compartments holding nCustomers
// customers in all, and docsPer documents (of up to docMax bytes) in each
// compartment.
func newFixture(t testing.TB, nComps, nCustomers, docsPer, docMax int) *fixture {
	t.Helper()
	rec, err := age.GenerateX25519Identity()
	must(t, err)
	admin := newTestHolder(t, "Alva Admin", store.RoleAdmin)
	dir := filepath.Join(t.TempDir(), "vault")
	v, err := store.Create(dir, rec, admin.info)
	must(t, err)
	f := &fixture{dir: dir, v: v, recovery: rec, admin: admin, docs: map[store.DocumentID][]byte{}}
	t.Cleanup(func() { f.v.Close() })
	s := f.unlock(t)
	rng := mrand.New(mrand.NewPCG(1, 2))
	for c := range nComps {
		cid, err := s.CreateCompartment(fmt.Sprintf("Avdelning %d", c))
		must(t, err)
		f.comps = append(f.comps, cid)
		n := nCustomers / nComps
		if c == 0 {
			n += nCustomers % nComps
		}
		cs := make([]customer.Customer, n)
		for i := range cs {
			cs[i] = customer.Customer{Name: fmt.Sprintf("Kund %d-%d Svensson", c, i), Email: fmt.Sprintf("k%d.%d@example.se", c, i),
				Phone: "070-123 45 67", Notes: "Föredrar e-post.", Tags: []string{"privat"}}
		}
		codes, err := s.AddCustomers(cid, cs)
		must(t, err)
		for d := range docsPer {
			data := make([]byte, 1+rng.IntN(docMax))
			for i := range data {
				data[i] = byte(rng.Uint32())
			}
			id, err := s.AddDocument(context.Background(), codes[d%len(codes)], fmt.Sprintf("avtal-%d.pdf", d), "application/pdf",
				bytes.NewReader(data), nil, store.DocumentOptions{})
			must(t, err)
			f.docs[id] = data
		}
	}
	must(t, s.Lock())
	return f
}

func (f *fixture) unlock(t testing.TB) *store.Session {
	t.Helper()
	s, err := f.v.Unlock(f.admin.identity, f.admin.signer)
	must(t, err)
	t.Cleanup(func() { s.Lock() })
	return s
}

// backup writes a backup to a new folder as the admin.
func (f *fixture) backup(t testing.TB, to string) *Result {
	t.Helper()
	s := f.unlock(t)
	defer s.Lock()
	res, err := Write(s, to, Options{App: "test", Signer: f.admin.signer})
	must(t, err)
	return res
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func writeRecovery(t testing.TB, f *fixture, path string) {
	t.Helper()
	must(t, os.WriteFile(path, []byte(f.recovery.String()+"\n"), 0o600))
}
