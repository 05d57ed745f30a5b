package store

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"filippo.io/age"
	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/crypto/compartmentkey"
	"github.com/valv-vault/valv/crypto/pivage"
	"github.com/valv-vault/valv/crypto/seal"
)

// A Role is what a key holder may do.
type Role string

const (
	// RoleHolder opens the compartments granted to it.
	RoleHolder Role = "holder"
	// RoleAdmin also holds the directory key: it enrols key holders,
	// creates compartments and grants them.
	RoleAdmin Role = "admin"
)

// HolderInfo describes a key holder to enrol: the public half of a
// YubiKey's keys, and the person it belongs to.
type HolderInfo struct {
	// StaffID is the person's record in the staff register, which must
	// have a passed screening and an NDA on file.
	StaffID StaffID
	// Staff, instead of StaffID, adds the person to the staff register
	// with the key holder (Create needs this for the first admin). It
	// must have a passed screening and the signed NDA.
	Staff *StaffInfo
	// Name is the person's name (default: the staff record's). It is
	// stored sealed under the directory key, so only admins (and the
	// recovery key) read it.
	Name string
	// Serial and Slot say which card and PIV slot hold the decryption key.
	Serial uint32
	Slot   byte
	// Recipient is the age-plugin-yubikey recipient of that slot.
	Recipient *pivage.Recipient
	// SigningKey is the public key of the card's slot 9C, which signs
	// audit checkpoints: a P-256 *ecdsa.PublicKey (or ed25519.PublicKey).
	SigningKey crypto.PublicKey
	Role       Role
	// Signer is the card's slot 9C key itself (its public key is
	// SigningKey), needed for an admin: the new card signs the directory
	// anchor (anchor.go) it will check at every unlock. It is not stored.
	Signer crypto.Signer
}

// A Holder is an enrolled key holder. Name and StaffID are empty unless
// the session holds the directory key.
type Holder struct {
	ID         HolderID
	Name       string
	StaffID    StaffID
	Inactive   bool // deactivated: it opens nothing
	Serial     uint32
	Slot       byte
	Recipient  string // age1yubikey1…
	SigningKey crypto.PublicKey
	Role       Role
}

// holderRecord is the public part of a holder, stored as JSON.
type holderRecord struct {
	Serial     uint32 `json:"serial"`
	Slot       byte   `json:"slot"`
	Recipient  string `json:"recipient"`
	SigningKey []byte `json:"signing_key"` // PKIX DER
	Role       Role   `json:"role"`
	Inactive   bool   `json:"inactive,omitempty"` // deactivated with its staff member
}

func (h *HolderInfo) check() error {
	switch {
	case h.Recipient == nil:
		return errors.New("store: key holder has no recipient")
	case h.Role != RoleAdmin && h.Role != RoleHolder:
		return fmt.Errorf("store: unknown role %q", h.Role)
	case h.Name == "":
		return errors.New("store: key holder has no name")
	case h.Slot < pivage.FirstRetiredSlot || h.Slot > pivage.LastRetiredSlot:
		return fmt.Errorf("store: slot %#x is not a retired PIV slot (0x82–0x95)", h.Slot)
	}
	switch k := h.SigningKey.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return errors.New("store: the signing key is not a P-256 key")
		}
	case ed25519.PublicKey:
	default:
		return fmt.Errorf("store: unsupported signing key %T; want the P-256 key of slot 9C", h.SigningKey)
	}
	return nil
}

func (h *HolderInfo) record() (holderRecord, error) {
	der, err := x509.MarshalPKIXPublicKey(h.SigningKey)
	if err != nil {
		return holderRecord{}, fmt.Errorf("store: signing key: %v", err)
	}
	return holderRecord{Serial: h.Serial, Slot: h.Slot, Recipient: h.Recipient.String(), SigningKey: der, Role: h.Role}, nil
}

// checkSigner checks an admin's Signer against its SigningKey.
func (h *HolderInfo) checkSigner() error {
	if h.Role != RoleAdmin {
		return nil
	}
	if h.Signer == nil {
		return errors.New("store: enrolling an admin needs the new card's signing key (slot 9C) to sign the directory anchor")
	}
	if eq, ok := h.Signer.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(h.SigningKey) {
		return errors.New("store: the new card's signer is not its signing key")
	}
	return nil
}

func (r *holderRecord) holder(id HolderID) (Holder, error) {
	pub, err := x509.ParsePKIXPublicKey(r.SigningKey)
	if err != nil {
		return Holder{}, fmt.Errorf("store: key holder %s has a malformed signing key; the directory is damaged", id)
	}
	return Holder{ID: id, Serial: r.Serial, Slot: r.Slot, Recipient: r.Recipient, SigningKey: pub, Role: r.Role, Inactive: r.Inactive}, nil
}

// A Vault is an open vault folder: the directory file is open, no key is.
// A Vault is safe for concurrent use. Only one process can have a vault
// open at a time (bbolt's file lock).
type Vault struct {
	dir string
	db  *bolt.DB

	id           ID
	recovery     *age.X25519Recipient
	dirID        ID
	dirRecipient *age.X25519Recipient

	mu    sync.Mutex
	comps map[CompartmentID]*bolt.DB // opened compartment files

	// now is the clock; tests replace it.
	now func() time.Time
}

// Create makes a new vault in dir (made with mode 0700 if missing; an
// existing folder must not hold a vault) with the recovery key and a
// first admin key holder, and returns it open. The recovery key's
// secret is used only to sign the directory's first anchor statement
// (anchor.go) with a key derived from it; the vault stores its recipient.
// firstAdmin.Signer (the card's slot 9C key) signs it too. firstAdmin.Staff is the
// first admin's staff record, with a passed screening and the signed NDA:
// nobody holds a key without them.
//
// It makes the directory key, wraps it to the admin and the recovery
// recipient, and logs the creation and the enrolment in the directory's
// audit log. The directory file is written under a temporary name and
// renamed into place, so a vault either exists whole or not at all.
func Create(dir string, recoveryKey *age.X25519Identity, firstAdmin HolderInfo) (*Vault, error) {
	if recoveryKey == nil {
		return nil, errors.New("store: Create needs the recovery key")
	}
	recovery := recoveryKey.Recipient()
	if firstAdmin.Role == "" {
		firstAdmin.Role = RoleAdmin
	}
	if firstAdmin.Role != RoleAdmin {
		return nil, errors.New("store: the first key holder must be an admin")
	}
	if firstAdmin.Staff == nil {
		return nil, errors.New("store: the first admin needs a staff record with a passed screening and the signed NDA")
	}
	staff, ndaDoc, err := newStaff(firstAdmin.Staff, time.Now(), firstAdminCleared)
	if err != nil {
		return nil, err
	}
	if firstAdmin.Name == "" {
		firstAdmin.Name = staff.Name
	}
	if err := firstAdmin.check(); err != nil {
		return nil, err
	}
	if err := firstAdmin.checkSigner(); err != nil {
		return nil, err
	}
	rec, err := firstAdmin.record()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, folderMode); err != nil {
		return nil, fmt.Errorf("store: making the vault folder: %w", err)
	}
	if err := os.Chmod(dir, folderMode); err != nil {
		return nil, fmt.Errorf("store: vault folder: %w", err)
	}
	path := filepath.Join(dir, DirectoryFile)
	if _, err := os.Lstat(path); err == nil {
		return nil, fmt.Errorf("store: %s already holds a vault", dir)
	}
	tmp := path + tmpSuffix
	os.Remove(tmp)
	db, err := openDB(tmp, true)
	if err != nil {
		return nil, err
	}
	v := &Vault{dir: dir, db: db, id: newID(), recovery: recovery, comps: make(map[CompartmentID]*bolt.DB), now: time.Now}
	dirKey, err := compartmentkey.New()
	if err != nil {
		db.Close()
		return nil, err
	}
	defer dirKey.Destroy()
	v.dirID, v.dirRecipient = dirKey.ID(), dirKey.Recipient()
	wrapped, err := compartmentkey.Wrap(dirKey, firstAdmin.Recipient, recovery)
	if err != nil {
		db.Close()
		return nil, err
	}
	kr, err := dirKey.Keyring()
	if err != nil {
		db.Close()
		return nil, err
	}
	defer kr.Destroy()
	adminID := newID()
	err = db.Update(func(tx *bolt.Tx) error {
		m, err := initMeta(tx, kindDirectory, DirectoryFormat)
		if err != nil {
			return err
		}
		for _, kv := range [][2][]byte{
			{kVaultID, v.id[:]},
			{kRecovery, []byte(recovery.String())},
			{kDirID, v.dirID[:]},
			{kDirKey, wrapped},
			{kDirRecipient, []byte(v.dirRecipient.String())},
		} {
			if err := m.Put(kv[0], kv[1]); err != nil {
				return err
			}
		}
		for _, b := range [][]byte{bHolders, bNames, bMACs, bComps, bGrants, bAudit, bCheckpoints, bPending} {
			if _, err := tx.CreateBucket(b); err != nil {
				return err
			}
		}
		if err := putMAC(tx, kr, "recovery", nil, []byte(recovery.String())); err != nil {
			return err
		}
		if err := putHolder(tx, kr, adminID, rec, firstAdmin.Name); err != nil {
			return err
		}
		now := v.now()
		a, err := newAppender(tx, kr)
		if err != nil {
			return err
		}
		if err := a.add(Entry{Time: now, Holder: Recovery, Action: ActionCreateVault, Object: v.id.String()}); err != nil {
			return err
		}
		staffID := newID()
		if err := addStaff(tx, kr, a, staffID, firstAdmin.Staff, staff, ndaDoc, Recovery, now); err != nil {
			return err
		}
		if err := linkHolder(tx, kr, staffID, staff, adminID); err != nil {
			return err
		}
		if err := a.add(Entry{Time: now, Holder: Recovery, Action: ActionEnrol, Object: adminID.String()}); err != nil {
			return err
		}
		if err := a.flush(); err != nil {
			return err
		}
		return anchorNewVault(tx, v, dirKey, kr, recoveryKey, adminID, firstAdmin.Signer)
	})
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		db.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("store: creating the vault: %w", err)
	}
	// The vault exists from the rename on: a failing fsync of the folder
	// is not reported as a failure, since the caller would then throw the
	// recovery key of an existing vault away
	// (docs/security-review-2026-11.md, L3). At worst a power cut loses
	// the new vault, and the recovery key opens nothing.
	syncDir(dir)
	return v, nil
}

// Open opens the vault in dir. Nothing is decrypted until Unlock. A
// directory file of an older format is migrated first.
func Open(dir string) (*Vault, error) {
	path := filepath.Join(dir, DirectoryFile)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s", ErrNotVault, dir)
	}
	db, err := openDB(path, false)
	if err != nil {
		return nil, err
	}
	v := &Vault{dir: dir, db: db, comps: make(map[CompartmentID]*bolt.DB), now: time.Now}
	if err := v.load(); err != nil {
		db.Close()
		return nil, err
	}
	return v, nil
}

func (v *Vault) load() error {
	if err := checkFormat(v.db, kindDirectory, DirectoryFormat); err != nil {
		return err
	}
	return v.db.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(bMeta)
		bad := func(what string) error {
			return fmt.Errorf("store: %s: %s is missing or malformed; the file is damaged", DirectoryFile, what)
		}
		if n := copy(v.id[:], m.Get(kVaultID)); n != len(v.id) {
			return bad("the vault id")
		}
		if n := copy(v.dirID[:], m.Get(kDirID)); n != len(v.dirID) {
			return bad("the directory key id")
		}
		var err error
		if v.recovery, err = age.ParseX25519Recipient(string(m.Get(kRecovery))); err != nil {
			return bad("the recovery recipient")
		}
		if v.dirRecipient, err = age.ParseX25519Recipient(string(m.Get(kDirRecipient))); err != nil {
			return bad("the directory recipient")
		}
		if m.Get(kDirKey) == nil {
			return bad("the wrapped directory key")
		}
		return nil
	})
}

// Close closes the vault's files. Sessions must be locked first.
func (v *Vault) Close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	var errs []error
	for id, db := range v.comps {
		errs = append(errs, db.Close())
		delete(v.comps, id)
	}
	errs = append(errs, v.db.Close())
	return errors.Join(errs...)
}

// ID returns the vault's random id.
func (v *Vault) ID() ID { return v.id }

// Dir returns the vault folder.
func (v *Vault) Dir() string { return v.dir }

// RecoveryRecipient returns the recovery key's public recipient.
func (v *Vault) RecoveryRecipient() *age.X25519Recipient { return v.recovery }

// Holders lists the enrolled key holders (public data, no names).
func (v *Vault) Holders() ([]Holder, error) {
	var hs []Holder
	err := v.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bHolders).ForEach(func(k, val []byte) error {
			h, err := decodeHolder(k, val)
			if err != nil {
				return err
			}
			hs = append(hs, h)
			return nil
		})
	})
	return hs, err
}

func decodeHolder(k, val []byte) (Holder, error) {
	var id HolderID
	var r holderRecord
	if len(k) != len(id) || json.Unmarshal(val, &r) != nil {
		return Holder{}, errors.New("store: a key holder record is malformed; the directory is damaged")
	}
	copy(id[:], k)
	return r.holder(id)
}

func (v *Vault) holder(tx *bolt.Tx, id HolderID) (Holder, []byte, error) {
	val := tx.Bucket(bHolders).Get(id[:])
	if val == nil {
		return Holder{}, nil, fmt.Errorf("store: no key holder %s", id)
	}
	h, err := decodeHolder(id[:], val)
	return h, val, err
}

// CompartmentIDs lists the vault's compartments (random ids only).
func (v *Vault) CompartmentIDs() ([]CompartmentID, error) {
	var ids []CompartmentID
	err := v.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bComps).ForEach(func(k, _ []byte) error {
			var id CompartmentID
			if len(k) != len(id) {
				return errors.New("store: the compartment list is damaged")
			}
			copy(id[:], k)
			ids = append(ids, id)
			return nil
		})
	})
	return ids, err
}

// ReportFailedPIN records a wrong PIN on a key holder's card (with the
// retries left) in the audit log. It needs no key: the entry is encrypted
// to the directory key's public recipient and chained at the next admin
// unlock. serial names the card.
func (v *Vault) ReportFailedPIN(serial uint32, retriesLeft int) error {
	hs, err := v.Holders()
	if err != nil {
		return err
	}
	var holder HolderID
	for _, h := range hs {
		if h.Serial == serial {
			holder = h.ID
		}
	}
	if holder == (HolderID{}) {
		return fmt.Errorf("store: no key holder has card %d", serial)
	}
	return v.db.Update(func(tx *bolt.Tx) error {
		return addPending(tx, v, Entry{Time: v.now(), Holder: holder, Action: ActionPINFailed, Count: int64(retriesLeft)}, serial, nil)
	})
}

// compartmentDB returns the open file of a compartment, opening it (and
// migrating an older format) on first use.
func (v *Vault) compartmentDB(id CompartmentID) (*bolt.DB, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if db := v.comps[id]; db != nil {
		return db, nil
	}
	db, err := openDB(compartmentPath(v.dir, id), false)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("store: the file of compartment %s is missing", id)
	}
	if err != nil {
		return nil, err
	}
	if err := checkFormat(db, kindCompartment, CompartmentFormat); err != nil {
		db.Close()
		return nil, err
	}
	v.comps[id] = db
	return db, nil
}

// putMAC stores a keyed tag over a public record, so that an edit of the
// directory (a holder's recipient swapped for an intruder's, say) is
// detected before anything is wrapped to it. The tag is only as good as
// the directory key it is keyed from, which the directory anchor vouches
// for (anchor.go).
func putMAC(tx *bolt.Tx, kr *seal.Keyring, kind string, id []byte, value []byte) error {
	tag := kr.LookupTag(nil, "mac "+kind, slices.Concat(id, value))
	return tx.Bucket(bMACs).Put(slices.Concat([]byte(kind+"/"), id), tag)
}

func checkMAC(tx *bolt.Tx, kr *seal.Keyring, kind string, id []byte, value []byte) bool {
	want := tx.Bucket(bMACs).Get(slices.Concat([]byte(kind+"/"), id))
	tag := kr.LookupTag(nil, "mac "+kind, slices.Concat(id, value))
	return want != nil && hmac.Equal(want, tag)
}

func putHolder(tx *bolt.Tx, kr *seal.Keyring, id HolderID, rec holderRecord, name string) error {
	p, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bHolders).Put(id[:], p); err != nil {
		return err
	}
	if err := putMAC(tx, kr, "holder", id[:], p); err != nil {
		return err
	}
	return tx.Bucket(bNames).Put(id[:], sealName(kr, id, name))
}

func sealName(kr *seal.Keyring, id ID, name string) []byte {
	return kr.Seal(nil, seal.Record, slices.Concat([]byte("name/"), id[:]), 0, padName(name))
}

func openName(kr *seal.Keyring, id ID, sealed []byte) (string, error) {
	p, err := kr.Open(nil, seal.Record, slices.Concat([]byte("name/"), id[:]), 0, sealed)
	if err != nil {
		return "", fmt.Errorf("store: the name of %s does not open; it was altered", id)
	}
	return unpadName(p), nil
}

// Names are padded to a multiple of 32 bytes, and records to a multiple
// of 64, before sealing, so that a ciphertext's length does not give the
// length of what was typed away (only a rough size).
func padName(s string) []byte { return pad([]byte(s), 32) }

func unpadName(p []byte) string { return string(unpad(p)) }

// pad appends 1 to block bytes, the last of which is their count.
func pad(p []byte, block int) []byte {
	n := block - len(p)%block
	for i := 1; i < n; i++ {
		p = append(p, 0)
	}
	return append(p, byte(n))
}

func unpad(p []byte) []byte {
	if len(p) == 0 {
		return nil
	}
	n := int(p[len(p)-1])
	if n == 0 || n > len(p) {
		return nil
	}
	return p[:len(p)-n]
}

// CompartmentRecipient returns the public age recipient stored in the
// file of the compartment whose id is id or starts with it (at least 8
// hex digits). It needs no key, and so it is only what the file says:
// anyone who can write the file can put their own recipient there
// (docs/security-review-2026-11.md, M2).
//
// Deprecated: encrypt only to Session.CompartmentRecipient, which gives
// the recipient the directory's signed anchor names.
func (v *Vault) CompartmentRecipient(id string) (string, error) {
	ids, err := v.CompartmentIDs()
	if err != nil {
		return "", err
	}
	id = strings.ToLower(strings.TrimSpace(id))
	if len(id) < 8 {
		return "", errors.New("store: give at least the first 8 hex digits of the compartment id (valv compartment list)")
	}
	var found []CompartmentID
	for _, c := range ids {
		if strings.HasPrefix(c.String(), id) {
			found = append(found, c)
		}
	}
	switch {
	case len(found) == 0:
		return "", fmt.Errorf("store: no compartment %s in this vault", id)
	case len(found) > 1:
		return "", fmt.Errorf("store: compartment id %s is ambiguous; give more digits", id)
	}
	return v.fileRecipient(found[0])
}

// fileRecipient reads the public recipient in a compartment's file. It is
// what the file says, vouched for by nothing.
func (v *Vault) fileRecipient(cid CompartmentID) (string, error) {
	db, err := v.compartmentDB(cid)
	if err != nil {
		return "", err
	}
	var r string
	err = db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bMeta)
		if b == nil || b.Get(kCompRecipient) == nil {
			return fmt.Errorf("store: the file of compartment %s has no recipient", cid)
		}
		r = string(b.Get(kCompRecipient))
		return nil
	})
	if err != nil {
		return "", err
	}
	if _, err := age.ParseX25519Recipient(r); err != nil {
		return "", fmt.Errorf("store: the recipient of compartment %s is damaged", cid)
	}
	return r, nil
}
