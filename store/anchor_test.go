package store

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"filippo.io/age"
	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/crypto/compartmentkey"
	"github.com/valv-vault/valv/crypto/pivage"
)

// forgeDirectoryKey performs C1 of docs/security-review-2026-11.md: an
// intruder who can write directory.valv (and holds no key) makes a new
// directory key, wraps it to the real admins and the recovery recipient,
// swaps key holder hid's recipient for their own, recomputes every MAC,
// re-seals the names and drops the log whose head no longer opens.
func forgeDirectoryKey(t *testing.T, tv *testVault, hid HolderID, intruder *pivage.Recipient) {
	t.Helper()
	forged, err := compartmentkey.New()
	mustNoErr(t, err)
	kr, err := forged.Keyring()
	mustNoErr(t, err)
	tv.v.Close()
	edit(t, filepath.Join(tv.dir, DirectoryFile), func(tx *bolt.Tx) error {
		m := tx.Bucket(bMeta)
		rec, err := age.ParseX25519Recipient(string(m.Get(kRecovery)))
		if err != nil {
			return err
		}
		rs := []age.Recipient{rec}
		var admins [][]byte
		hb := tx.Bucket(bHolders)
		hb.ForEach(func(k, v []byte) error {
			h, err := decodeHolder(k, v)
			if err == nil && h.Role == RoleAdmin {
				r, _ := pivage.ParseRecipient(h.Recipient)
				rs = append(rs, r)
				admins = append(admins, k)
			}
			return nil
		})
		wrapped, err := compartmentkey.Wrap(forged, rs...)
		if err != nil {
			return err
		}
		m.Put(kDirKey, wrapped)
		id := forged.ID()
		m.Put(kDirID, id[:])
		m.Put(kDirRecipient, []byte(forged.Recipient().String()))
		m.Delete(kAuditHead)
		tx.DeleteBucket(bAudit)
		tx.DeleteBucket(bCheckpoints)
		v := strings.Replace(string(hb.Get(hid[:])), `"recipient":"`, `"recipient":"`+intruder.String()+`","x":"`, 1)
		hb.Put(hid[:], []byte(v))
		putMAC(tx, kr, "recovery", nil, m.Get(kRecovery))
		var ids [][]byte
		hb.ForEach(func(k, _ []byte) error { ids = append(ids, append([]byte(nil), k...)); return nil })
		for _, k := range ids {
			putMAC(tx, kr, "holder", k, hb.Get(k))
			var hid ID
			copy(hid[:], k)
			tx.Bucket(bNames).Put(k, sealName(kr, hid, "Namn"))
		}
		var cids [][]byte
		tx.Bucket(bComps).ForEach(func(k, _ []byte) error { cids = append(cids, append([]byte(nil), k...)); return nil })
		for _, k := range cids {
			var cid ID
			copy(cid[:], k)
			tx.Bucket(bNames).Put(k, sealName(kr, cid, "Namn"))
		}
		return nil
	})
	tv.reopen(t)
}

// TestForgedDirectoryKeyRefused: with a forged directory key, a genuine
// admin's unlock must fail before a Grant can wrap a compartment key to
// the intruder (C1).
func TestForgedDirectoryKeyRefused(t *testing.T) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	cid, err := s.CreateCompartment("Privatkunder")
	mustNoErr(t, err)
	h := newTestHolder(t, "Hugo", RoleHolder)
	hid, err := s.Enrol(h.info)
	mustNoErr(t, err)
	mustNoErr(t, s.Lock())

	intruder := newTestHolder(t, "Intruder", RoleHolder)
	forgeDirectoryKey(t, tv, hid, intruder.identity.Recipient())

	s, err = tv.v.Unlock(tv.admin.identity, tv.admin.signer)
	if err == nil {
		// The attack: the admin grants the compartment to Hugo, and the
		// key is wrapped to the intruder.
		if gerr := s.Grant(cid, hid); gerr == nil {
			db, _ := tv.v.compartmentDB(cid)
			var wrapped []byte
			db.View(func(tx *bolt.Tx) error { wrapped = get(tx.Bucket(bMeta), kCompKey); return nil })
			if k, uerr := compartmentkey.UnwrapFor(cid, wrapped, intruder.identity); uerr == nil {
				k.Destroy()
				t.Fatal("the intruder unwrapped the compartment key: a forged directory key was accepted")
			}
		}
		s.Lock()
		t.Fatal("an admin unlock accepted a forged directory key")
	}
	if !errors.Is(err, ErrAnchor) {
		t.Fatalf("Unlock with a forged directory key = %v, want ErrAnchor", err)
	}
	// The recovery key refuses it too.
	if _, err := tv.v.Unlock(tv.recovery, nil); !errors.Is(err, ErrAnchor) {
		t.Fatalf("recovery Unlock with a forged directory key = %v, want ErrAnchor", err)
	}
}

// An anchor removed (or the file made to look like format 1) is
// refused, not trusted on first use.
func TestAnchorRemovedRefused(t *testing.T) {
	tv := newTestVault(t)
	tv.v.Close()
	edit(t, filepath.Join(tv.dir, DirectoryFile), func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bAnchors); err != nil {
			return err
		}
		return tx.Bucket(bMeta).Put(kFormat, u32(1))
	})
	tv.reopen(t)
	if _, err := tv.v.Unlock(tv.admin.identity, tv.admin.signer); !errors.Is(err, ErrAnchor) {
		t.Fatalf("Unlock without an anchor = %v", err)
	}
	if _, err := tv.v.Unlock(tv.recovery, nil); !errors.Is(err, ErrAnchor) {
		t.Fatalf("recovery Unlock without an anchor = %v", err)
	}
	// Without its signing key an admin cannot check the anchor at all.
	if _, err := tv.v.Unlock(tv.admin.identity, nil); err == nil {
		t.Fatal("an admin unlocked without a signer")
	}
}

// The intruder also appends an anchor statement for the forged key,
// signed by an admin key of their own that they list: it is not signed
// by an admin of the statement before, and is refused.
func TestForgedAnchorStatementRefused(t *testing.T) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	h := newTestHolder(t, "Hugo", RoleHolder)
	hid, err := s.Enrol(h.info)
	mustNoErr(t, err)
	mustNoErr(t, s.Lock())
	intruder := newTestHolder(t, "Intruder", RoleAdmin)
	forgeDirectoryKey(t, tv, hid, intruder.identity.Recipient())

	tv.v.Close()
	edit(t, filepath.Join(tv.dir, DirectoryFile), func(tx *bolt.Tx) error {
		v := &Vault{}
		m := tx.Bucket(bMeta)
		copy(v.id[:], m.Get(kVaultID))
		recs, err := readAnchors(tx, v.id)
		if err != nil {
			return err
		}
		last := recs[len(recs)-1].Statement
		st := last
		st.Epoch, st.Previous = last.Epoch+1, last.hash(v.id)
		copy(st.DirKeyID[:], m.Get(kDirID))
		st.DirRecipient = string(m.Get(kDirRecipient))
		der, _ := x509.MarshalPKIXPublicKey(intruder.info.SigningKey)
		st.Admins = append(slices.Clone(st.Admins), anchorAdmin{ID: ID{0xff}, Key: der})
		r := &anchorRecord{Statement: st}
		if err := signAnchor(r, v.id, ID{0xff}, intruder.signer); err != nil {
			return err
		}
		// A forged signature claiming to be the real admin's, too.
		r.Signatures = append(r.Signatures, anchorSig{Holder: recs[0].Signatures[0].Holder, Signature: recs[0].Signatures[0].Signature})
		return putAnchor(tx, r)
	})
	tv.reopen(t)
	if _, err := tv.v.Unlock(tv.admin.identity, tv.admin.signer); !errors.Is(err, ErrAnchor) {
		t.Fatalf("Unlock with a forged anchor statement = %v", err)
	}
}

// The anchor follows the vault's life: admins enrolled by an admin and
// by the recovery key, a deactivated admin, compartments created and
// rotated. Every remaining admin and the recovery key still unlock, each
// following the chain from the last statement it signed.
func TestAnchorChainAcrossChanges(t *testing.T) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	cid, err := s.CreateCompartment("A")
	mustNoErr(t, err)
	b := newTestHolder(t, "Berit", RoleAdmin)
	_, err = s.Enrol(b.info)
	mustNoErr(t, err)
	c := newTestHolder(t, "Carl", RoleAdmin)
	cinfo := c.info
	cid2, err := s.CreateCompartment("B")
	mustNoErr(t, err)
	hid, err := s.Enrol(cinfo)
	mustNoErr(t, err)
	mustNoErr(t, s.Grant(cid, hid))
	// An admin without its card's signer cannot be enrolled.
	d := newTestHolder(t, "Dora", RoleAdmin)
	d.info.Signer = nil
	if _, err := s.Enrol(d.info); err == nil {
		t.Fatal("an admin was enrolled without its card's signer")
	}
	mustNoErr(t, s.Lock())

	// Berit makes a compartment; Alva deactivates Carl (a compartment is
	// rotated on the way).
	sb := tv.unlock(t, b)
	_, err = sb.CreateCompartment("C")
	mustNoErr(t, err)
	mustNoErr(t, sb.Lock())
	sa := tv.unlock(t, tv.admin)
	mustNoErr(t, sa.Deactivate(staffOf(t, sa, hid), nil))
	mustNoErr(t, sa.Lock())

	// The recovery key enrols another admin.
	r, err := tv.v.Unlock(tv.recovery, nil)
	mustNoErr(t, err)
	e := newTestHolder(t, "Erik", RoleAdmin)
	_, err = r.Enrol(e.info)
	mustNoErr(t, err)
	mustNoErr(t, r.Lock())

	for _, h := range []*testHolder{tv.admin, b, e} {
		s := tv.unlock(t, h)
		cs, err := s.Compartments()
		mustNoErr(t, err)
		for _, ci := range cs {
			if ci.Problem != "" {
				t.Errorf("%s: compartment %s: %s", h.info.Name, ci.ID, ci.Problem)
			}
		}
		mustNoErr(t, s.Lock())
	}
	if _, err := tv.v.Unlock(c.identity, c.signer); !errors.Is(err, ErrDeactivated) {
		t.Fatalf("deactivated admin Unlock = %v", err)
	}
	_ = cid2
}

// staffOf finds the staff record a key holder belongs to.
func staffOf(t *testing.T, s *Session, hid HolderID) StaffID {
	t.Helper()
	hs, err := s.Holders()
	mustNoErr(t, err)
	for _, h := range hs {
		if h.ID == hid {
			return h.StaffID
		}
	}
	t.Fatalf("no staff record for %s", hid)
	return ID{}
}

// A compartment file whose key was replaced by one the intruder made
// (wrapped to the same key holders) is reported, not opened, by an admin:
// the anchor names each compartment's recipient.
func TestForgedCompartmentKeyReported(t *testing.T) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	cid, err := s.CreateCompartment("A")
	mustNoErr(t, err)
	mustNoErr(t, s.Lock())
	tv.v.Close()
	edit(t, compartmentPath(tv.dir, cid), func(tx *bolt.Tx) error {
		// A key with the compartment's (public) id and a secret of the
		// intruder's.
		k, err := compartmentKeyWithID(cid)
		if err != nil {
			return err
		}
		kr, _ := k.Keyring()
		wrapped, err := compartmentkey.Wrap(k, tv.admin.info.Recipient, tv.recovery.Recipient())
		if err != nil {
			return err
		}
		m := tx.Bucket(bMeta)
		m.Put(kCompKey, wrapped)
		m.Put(kCompRecipient, []byte(k.Recipient().String()))
		m.Put(kCompName, sealName(kr, cid, "A"))
		m.Delete(kAuditHead)
		tx.DeleteBucket(bAudit)
		return putGrants(tx, kr, nil)
	})
	tv.reopen(t)
	s = tv.unlock(t, tv.admin)
	cs, err := s.Compartments()
	mustNoErr(t, err)
	if len(cs) != 1 || cs[0].Unlocked || !strings.Contains(cs[0].Problem, "anchor") {
		t.Fatalf("a forged compartment key was accepted: %+v", cs)
	}
}

// compartmentKeyWithID makes a new compartment key with a given id, as an
// intruder can: the id is public and the wrapped format is documented.
func compartmentKeyWithID(cid CompartmentID) (*compartmentkey.Key, error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	text := fmt.Sprintf("# valv compartment key v1\n# compartment: %x\n# seal-secret: %x\n%s\n", cid[:], secret, id)
	var out bytes.Buffer
	w, err := age.Encrypt(&out, id.Recipient())
	if err != nil {
		return nil, err
	}
	io.WriteString(w, text)
	w.Close()
	return compartmentkey.UnwrapFor(cid, out.Bytes(), id)
}

// A format-1 directory (no anchor) is migrated to format 2 when opened;
// it then unlocks only after AnchorLegacy, which both an admin's card and
// the recovery key sign, and which runs only once.
func TestMigrateFormat1Anchor(t *testing.T) {
	tv := newTestVault(t)
	s := tv.unlock(t, tv.admin)
	cid, err := s.CreateCompartment("A")
	mustNoErr(t, err)
	mustNoErr(t, s.Lock())
	tv.v.Close()
	path := filepath.Join(tv.dir, DirectoryFile)
	edit(t, path, func(tx *bolt.Tx) error { // what format 1 wrote
		if err := tx.DeleteBucket(bAnchors); err != nil {
			return err
		}
		return tx.Bucket(bMeta).Put(kFormat, u32(1))
	})
	tv.reopen(t)
	var format []byte
	tv.v.db.View(func(tx *bolt.Tx) error { format = get(tx.Bucket(bMeta), kFormat); return nil })
	if string(format) != string(u32(DirectoryFormat)) {
		t.Fatalf("format after migration = %x", format)
	}
	if _, err := tv.v.Unlock(tv.admin.identity, tv.admin.signer); !errors.Is(err, ErrAnchor) {
		t.Fatalf("Unlock of an unanchored directory = %v", err)
	}
	other, _ := age.GenerateX25519Identity()
	if err := tv.v.AnchorLegacy(tv.admin.identity, tv.admin.signer, other); err == nil {
		t.Fatal("AnchorLegacy with a foreign recovery key succeeded")
	}
	mustNoErr(t, tv.v.AnchorLegacy(tv.admin.identity, tv.admin.signer, tv.recovery))
	if err := tv.v.AnchorLegacy(tv.admin.identity, tv.admin.signer, tv.recovery); err == nil {
		t.Fatal("AnchorLegacy ran twice")
	}
	s = tv.unlock(t, tv.admin)
	cs, err := s.Compartments()
	mustNoErr(t, err)
	if len(cs) != 1 || cs[0].ID != cid || !cs[0].Unlocked {
		t.Fatalf("after AnchorLegacy: %+v", cs)
	}
	mustNoErr(t, s.Lock())
	r, err := tv.v.Unlock(tv.recovery, nil)
	mustNoErr(t, err)
	mustNoErr(t, r.Lock())
}
