package store

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/crypto/compartmentkey"
)

func TestCreateOpenUnlock(t *testing.T) {
	tv := newTestVault(t)
	if _, err := Create(tv.dir, tv.recovery, tv.admin.info); err == nil {
		t.Fatal("Create over an existing vault succeeded")
	}
	s := tv.unlock(t, tv.admin)
	if !s.IsAdmin() || s.Actor() == Recovery {
		t.Fatalf("admin session: IsAdmin %v actor %v", s.IsAdmin(), s.Actor())
	}
	cid, err := s.CreateCompartment("Privatkunder")
	mustNoErr(t, err)
	mustNoErr(t, s.Lock())
	if _, err := s.Compartments(); !errors.Is(err, ErrLockedSession) {
		t.Fatalf("Compartments after Lock: %v", err)
	}

	tv.reopen(t)
	s = tv.unlock(t, tv.admin)
	cs, err := s.Compartments()
	mustNoErr(t, err)
	if len(cs) != 1 || cs[0].ID != cid || cs[0].Name != "Privatkunder" || !cs[0].Unlocked {
		t.Fatalf("Compartments = %+v", cs)
	}

	// Folder 0700, files 0600, no temporary files left.
	fi, err := os.Stat(tv.dir)
	mustNoErr(t, err)
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("folder mode %v", fi.Mode().Perm())
	}
	ents, err := os.ReadDir(tv.dir)
	mustNoErr(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
		fi, err := e.Info()
		mustNoErr(t, err)
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v", e.Name(), fi.Mode().Perm())
		}
	}
	want := []string{cid.String() + FileExt, DirectoryFile}
	slices.Sort(want)
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("vault folder holds %v; want %v", names, want)
	}
}

func TestUnlockRefusesStrangers(t *testing.T) {
	tv := newTestVault(t)
	stranger := newTestHolder(t, "X", RoleHolder)
	if _, err := tv.v.Unlock(stranger.identity, nil); !errors.Is(err, ErrUnknownIdentity) {
		t.Errorf("stranger card: %v", err)
	}
	other, _ := age.GenerateX25519Identity()
	if _, err := tv.v.Unlock(other, nil); !errors.Is(err, ErrUnknownIdentity) {
		t.Errorf("other X25519 key: %v", err)
	}
	// The admin's card with someone else's signing key.
	if _, err := tv.v.Unlock(tv.admin.identity, stranger.signer); err == nil {
		t.Error("Unlock accepted a signer that is not the holder's")
	}
	if _, err := Open(t.TempDir()); !errors.Is(err, ErrNotVault) {
		t.Errorf("Open(empty folder) = %v", err)
	}
}

func TestRecoveryKeyOpensEverything(t *testing.T) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	cid, err := s.CreateCompartment("A")
	mustNoErr(t, err)
	code, err := s.AddCustomer(cid, testCustomer("Bo Ek"))
	mustNoErr(t, err)
	mustNoErr(t, s.Lock())

	r, err := tv.v.Unlock(tv.recovery, nil)
	mustNoErr(t, err)
	defer r.Lock()
	if !r.IsAdmin() || r.Actor() != Recovery {
		t.Fatal("recovery session is not an admin session")
	}
	rec, err := r.RevealCustomer(code)
	mustNoErr(t, err)
	if rec.Customer.Name != "Bo Ek" {
		t.Fatalf("recovery read %q", rec.Customer.Name)
	}
	// Recovery enrols a new card, as after losing every card.
	h := newTestHolder(t, "Ny Admin", RoleAdmin)
	_, err = r.Enrol(h.info)
	mustNoErr(t, err)
	mustNoErr(t, r.Lock())
	s2 := tv.unlock(t, h)
	if !s2.IsAdmin() {
		t.Fatal("a newly enrolled admin does not get the directory key")
	}
}

func TestMigration(t *testing.T) {
	tv := newTestVault(t)
	tv.v.Close()
	path := filepath.Join(tv.dir, DirectoryFile)
	// Make a "version 0" file: the vault id under an old key name.
	edit(t, path, func(tx *bolt.Tx) error {
		m := tx.Bucket(bMeta)
		id := get(m, kVaultID)
		m.Delete(kVaultID)
		m.Put([]byte("id"), id)
		return m.Put(kFormat, u32(0))
	})
	if _, err := Open(tv.dir); err == nil || !strings.Contains(err.Error(), "no migration") {
		t.Fatalf("Open without a migration: %v", err)
	}
	migrations[kindDirectory][0] = func(tx *bolt.Tx) error {
		m := tx.Bucket(bMeta)
		if err := m.Put(kVaultID, get(m, []byte("id"))); err != nil {
			return err
		}
		return m.Delete([]byte("id"))
	}
	defer delete(migrations[kindDirectory], 0)
	v, err := Open(tv.dir)
	mustNoErr(t, err)
	var format []byte
	v.db.View(func(tx *bolt.Tx) error { format = get(tx.Bucket(bMeta), kFormat); return nil })
	if string(format) != string(u32(DirectoryFormat)) {
		t.Fatalf("format after migration = %x", format)
	}
	s, err := v.Unlock(tv.admin.identity, tv.admin.signer)
	mustNoErr(t, err)
	s.Lock()
	v.Close()

	// A newer format is refused.
	edit(t, path, func(tx *bolt.Tx) error { return tx.Bucket(bMeta).Put(kFormat, u32(DirectoryFormat+1)) })
	if _, err := Open(tv.dir); !errors.Is(err, ErrNewerFormat) {
		t.Fatalf("Open(newer format) = %v", err)
	}
}

func TestOpenTwiceIsLocked(t *testing.T) {
	defer func(d time.Duration) { lockTimeout = d }(lockTimeout)
	lockTimeout = 50 * time.Millisecond
	tv := newTestVault(t)
	if _, err := Open(tv.dir); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open = %v", err)
	}
}

// A holder record swapped in the directory (to get keys wrapped to an
// intruder) is detected at the next admin unlock.
func TestDirectoryTamperDetected(t *testing.T) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	h := newTestHolder(t, "Hugo", RoleHolder)
	hid, err := s.Enrol(h.info)
	mustNoErr(t, err)
	mustNoErr(t, s.Lock())
	tv.v.Close()
	intruder := newTestHolder(t, "Intruder", RoleHolder)
	edit(t, filepath.Join(tv.dir, DirectoryFile), func(tx *bolt.Tx) error {
		b := tx.Bucket(bHolders)
		v := string(b.Get(hid[:]))
		v = strings.Replace(v, h.info.Recipient.String(), intruder.info.Recipient.String(), 1)
		return b.Put(hid[:], []byte(v))
	})
	tv.reopen(t)
	if _, err := tv.v.Unlock(tv.admin.identity, tv.admin.signer); err == nil || !strings.Contains(err.Error(), "altered") {
		t.Fatalf("Unlock after tampering = %v", err)
	}
}

func TestIsolation(t *testing.T) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	a, err := s.CreateCompartment("A")
	mustNoErr(t, err)
	b, err := s.CreateCompartment("B")
	mustNoErr(t, err)
	h := newTestHolder(t, "Hanna", RoleHolder)
	hid, err := s.Enrol(h.info)
	mustNoErr(t, err)
	mustNoErr(t, s.Grant(a, hid))
	codeB, err := s.AddCustomer(b, testCustomer("Berit i B"))
	mustNoErr(t, err)
	mustNoErr(t, s.Lock())

	hs := tv.unlock(t, h)
	if hs.IsAdmin() {
		t.Fatal("holder session holds the directory key")
	}
	cs, err := hs.Compartments()
	mustNoErr(t, err)
	if len(cs) != 1 || cs[0].ID != a || cs[0].Name != "A" {
		t.Fatalf("holder sees %+v; want only A", cs)
	}
	if _, err := hs.AddCustomer(b, testCustomer("X")); !errors.Is(err, ErrNotGranted) {
		t.Errorf("AddCustomer(B) = %v", err)
	}
	if _, _, err := hs.ListCustomers(b, 0, 10); !errors.Is(err, ErrNotGranted) {
		t.Errorf("ListCustomers(B) = %v", err)
	}
	if _, err := hs.RevealCustomer(codeB); !errors.Is(err, ErrNoCustomer) {
		t.Errorf("RevealCustomer(code in B) = %v", err)
	}
	if _, err := hs.CreateCompartment("C"); !errors.Is(err, ErrNotAdmin) {
		t.Errorf("holder CreateCompartment = %v", err)
	}
	if _, err := hs.Enrol(newTestHolder(t, "Y", RoleHolder).info); !errors.Is(err, ErrNotAdmin) {
		t.Errorf("holder Enrol = %v", err)
	}
	// And below the API: B's wrapped key does not open with the card.
	db, err := tv.v.compartmentDB(b)
	mustNoErr(t, err)
	var wrapped []byte
	db.View(func(tx *bolt.Tx) error { wrapped = get(tx.Bucket(bMeta), kCompKey); return nil })
	if _, err := compartmentkey.UnwrapFor(b, wrapped, h.identity); !errors.Is(err, compartmentkey.ErrNotGranted) {
		t.Errorf("B's key unwrapped by A's holder: %v", err)
	}
	hsHolders, err := hs.Holders()
	mustNoErr(t, err)
	for _, x := range hsHolders {
		if x.Name != "" {
			t.Errorf("a key holder reads staff names: %q", x.Name)
		}
	}
}

// A missing or damaged compartment file does not keep the others shut.
func TestUnlockWithDamagedCompartment(t *testing.T) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	a, err := s.CreateCompartment("A")
	mustNoErr(t, err)
	b, err := s.CreateCompartment("B")
	mustNoErr(t, err)
	c, err := s.CreateCompartment("C")
	mustNoErr(t, err)
	code, err := s.AddCustomer(a, testCustomer("Kvar"))
	mustNoErr(t, err)
	mustNoErr(t, s.Lock())
	tv.v.Close()
	mustNoErr(t, os.Remove(compartmentPath(tv.dir, b)))
	edit(t, compartmentPath(tv.dir, c), func(tx *bolt.Tx) error {
		return tx.Bucket(bMeta).Put(kCompKey, []byte("not an age file"))
	})
	tv.reopen(t)
	s = tv.unlock(t, tv.admin)
	if _, err := s.RevealCustomer(code); err != nil {
		t.Fatal(err)
	}
	cs, err := s.Compartments()
	mustNoErr(t, err)
	problems := map[CompartmentID]string{}
	for _, x := range cs {
		problems[x.ID] = x.Problem
	}
	if problems[a] != "" || !strings.Contains(problems[b], "missing") || !strings.Contains(problems[c], "damaged") {
		t.Fatalf("problems: %q", problems)
	}
}
