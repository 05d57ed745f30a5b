package store

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"
	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/crypto/pivage"
)

// A testHolder is a software key holder: a P-256 decryption key standing
// in for a YubiKey's retired slot and a P-256 signing key for slot 9C.
type testHolder struct {
	info     HolderInfo
	identity *pivage.Identity
	signer   crypto.Signer
}

var nextSerial uint32 = 1000

func newTestHolder(t testing.TB, name string, role Role) *testHolder {
	t.Helper()
	dk, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := pivage.NewIdentity(dk)
	if err != nil {
		t.Fatal(err)
	}
	sk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	nextSerial++
	return &testHolder{
		info: HolderInfo{Name: name, Serial: nextSerial, Slot: 0x82, Recipient: id.Recipient(), SigningKey: &sk.PublicKey, Role: role, Signer: sk,
			Staff: clearedStaff(name)},
		identity: id,
		signer:   sk,
	}
}

// clearedStaff is a staff record with a passed screening and a signed
// NDA, which enrolment requires.
func clearedStaff(name string) *StaffInfo {
	day := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	return &StaffInfo{Name: name, Title: "Handläggare",
		Screening:   Screening{Status: ScreeningPassed, Date: day, By: "Säkerhetsavdelningen"},
		NDASigned:   day,
		NDADocument: []byte("%PDF-1.4 signed NDA\n")}
}

type testVault struct {
	dir      string
	v        *Vault
	recovery *age.X25519Identity
	admin    *testHolder
}

func newTestVault(t testing.TB) *testVault {
	t.Helper()
	rec, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	admin := newTestHolder(t, "Alva Admin", RoleAdmin)
	dir := filepath.Join(t.TempDir(), "vault")
	v, err := Create(dir, rec, admin.info)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return &testVault{dir: dir, v: v, recovery: rec, admin: admin}
}

func (tv *testVault) unlock(t testing.TB, h *testHolder) *Session {
	t.Helper()
	s, err := tv.v.Unlock(h.identity, h.signer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Lock() })
	return s
}

// reopen closes the vault and opens it again (after editing its files).
func (tv *testVault) reopen(t testing.TB) {
	t.Helper()
	tv.v.Close()
	v, err := Open(tv.dir)
	if err != nil {
		t.Fatal(err)
	}
	tv.v = v
	t.Cleanup(func() { v.Close() })
}

// edit changes a file of the vault directly, as an intruder would. The
// vault must be closed.
func edit(t testing.TB, path string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func mustNoErr(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
