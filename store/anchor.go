package store

// The directory anchor (docs/security-review-2026-11.md, C1).
//
// The directory key is age-wrapped, and age has no sender
// authentication: anyone who can write directory.valv can wrap a key of
// their own to the real admins and the recovery recipient, and every
// keyed tag under it then checks. So the directory key is vouched for
// outside itself, by signatures that only the admins' cards (slot 9C) and
// the recovery key can make: a chain of signed statements ("epochs") in
// the anchors bucket. Each statement names the directory key (id,
// recipient and a keyed check value), the recovery recipient, the
// recovery key's signing key, every active admin's signing key and every
// compartment's public recipient, and the hash of the statement before
// it. A statement is signed by whoever made it, who must be an admin (or
// the recovery key) of the statement before; the admins and the recovery
// key add their own signature to the newest statement whenever they
// unlock (an endorsement).
//
// An admin unlock finds the newest statement that its own card signed
// (the public key comes from the card, never from the file), follows the
// chain from there, each step signed by an admin or the recovery key of
// the step before, and compares the newest statement with the file and
// the directory key it unwrapped. Only then are the keyed tags over the
// holders (checkDirectory) worth anything, and only then is anything
// wrapped to anyone. See SPEC.md, "Directory anchor", for what this does
// not stop.

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"filippo.io/age"
	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/crypto/compartmentkey"
	"github.com/valv-vault/valv/crypto/seal"
)

// bAnchors holds the directory anchor: u64(epoch) → anchorRecord (JSON).
var bAnchors = []byte("anchors")

// ErrAnchor is returned by Unlock when the directory (or a compartment)
// is not the one the unlocking key vouched for: its key was replaced, or
// its signed anchor was removed or altered. Nothing is wrapped to anyone.
var ErrAnchor = errors.New("store: the directory's signed anchor does not vouch for it; the directory was altered outside Valv (restore it from a backup)")

// errUnanchored is an ErrAnchor for a directory without any statement
// (one made before format 2, or one whose anchor was deleted).
var errUnanchored = fmt.Errorf("%w: it has no anchor (a vault made before format 2 is anchored once with AnchorLegacy)", ErrAnchor)

type anchorAdmin struct {
	ID  HolderID `json:"id"`
	Key []byte   `json:"key"` // PKIX DER of the slot 9C key
}

type anchorComp struct {
	ID        CompartmentID `json:"id"`
	Recipient string        `json:"recipient"`
	// Next is the recipient of a key being rotated in (Revoke): written
	// before the new file is renamed into place, so that a crash between
	// the rename and the statement that follows it leaves a file the
	// anchor still vouches for.
	Next string `json:"next,omitempty"`
}

// anchorStatement is what one epoch's signatures cover (message).
type anchorStatement struct {
	Epoch          uint64        `json:"epoch"`
	Previous       []byte        `json:"previous"` // SHA-256 of the previous epoch's message; empty for epoch 0
	DirKeyID       ID            `json:"directory_key_id"`
	DirRecipient   string        `json:"directory_recipient"`
	Check          []byte        `json:"check"` // anchorCheck under the directory key
	Recovery       string        `json:"recovery"`
	RecoverySigner []byte        `json:"recovery_signer"` // Ed25519 public key (recoverySigner)
	Admins         []anchorAdmin `json:"admins"`          // sorted by id
	Compartments   []anchorComp  `json:"compartments"`    // sorted by id
}

type anchorSig struct {
	Holder    HolderID `json:"holder"` // Recovery for the recovery key
	Signature []byte   `json:"signature"`
}

type anchorRecord struct {
	Statement  anchorStatement `json:"statement"`
	Signatures []anchorSig     `json:"signatures"`
}

// message returns the bytes every signature of the statement covers:
//
//	valv directory anchor v1
//	vault <vault id, hex>
//	epoch <decimal>
//	previous <hex, empty for epoch 0>
//	directory-key <id hex> <recipient>
//	check <hex>
//	recovery <recipient>
//	recovery-signer <hex>
//	admin <holder id hex> <PKIX DER hex>        (one line each, sorted)
//	compartment <id hex> <recipient> <next>     (one line each, sorted; next "-" if none)
func (st *anchorStatement) message(vault ID) []byte {
	b := fmt.Appendf(nil, "valv directory anchor v1\nvault %x\nepoch %d\nprevious %x\ndirectory-key %x %s\ncheck %x\nrecovery %s\nrecovery-signer %x\n",
		vault[:], st.Epoch, st.Previous, st.DirKeyID[:], st.DirRecipient, st.Check, st.Recovery, st.RecoverySigner)
	for _, a := range st.Admins {
		b = fmt.Appendf(b, "admin %x %x\n", a.ID[:], a.Key)
	}
	for _, c := range st.Compartments {
		next := c.Next
		if next == "" {
			next = "-"
		}
		b = fmt.Appendf(b, "compartment %x %s %s\n", c.ID[:], c.Recipient, next)
	}
	return b
}

func (st *anchorStatement) hash(vault ID) []byte {
	h := sha256.Sum256(st.message(vault))
	return h[:]
}

// wellFormed checks what message relies on: recipients that are age
// recipients (so no line breaks) and sorted, unique lists.
func (st *anchorStatement) wellFormed() error {
	rs := []string{st.DirRecipient, st.Recovery}
	for _, c := range st.Compartments {
		rs = append(rs, c.Recipient)
		if c.Next != "" {
			rs = append(rs, c.Next)
		}
	}
	for _, r := range rs {
		if _, err := age.ParseX25519Recipient(r); err != nil {
			return errors.New("a recipient is malformed")
		}
	}
	if !slices.IsSortedFunc(st.Admins, func(a, b anchorAdmin) int { return bytes.Compare(a.ID[:], b.ID[:]) }) ||
		!slices.IsSortedFunc(st.Compartments, func(a, b anchorComp) int { return bytes.Compare(a.ID[:], b.ID[:]) }) {
		return errors.New("a list is not sorted")
	}
	for i := 1; i < len(st.Admins); i++ {
		if st.Admins[i].ID == st.Admins[i-1].ID {
			return errors.New("an admin is listed twice")
		}
	}
	for i := 1; i < len(st.Compartments); i++ {
		if st.Compartments[i].ID == st.Compartments[i-1].ID {
			return errors.New("a compartment is listed twice")
		}
	}
	return nil
}

// signingKeyOf returns the key a statement lists for a signer: an
// admin's slot 9C key, or the recovery key's Ed25519 key; nil if the
// statement does not list it.
func (st *anchorStatement) signingKeyOf(id HolderID) crypto.PublicKey {
	if id == Recovery {
		if len(st.RecoverySigner) != ed25519.PublicKeySize {
			return nil
		}
		return ed25519.PublicKey(st.RecoverySigner)
	}
	for _, a := range st.Admins {
		if a.ID == id {
			pub, err := x509.ParsePKIXPublicKey(a.Key)
			if err != nil {
				return nil
			}
			return pub
		}
	}
	return nil
}

// lists reports whether the statement lists id with exactly pub.
func (st *anchorStatement) lists(id HolderID, pub crypto.PublicKey) bool {
	k, ok := st.signingKeyOf(id).(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(pub)
}

// signedBy reports whether the record holds a valid signature by id under pub.
func (r *anchorRecord) signedBy(vault ID, id HolderID, pub crypto.PublicKey) bool {
	msg := r.Statement.message(vault)
	for _, s := range r.Signatures {
		if s.Holder == id && verifySignature(pub, msg, s.Signature) {
			return true
		}
	}
	return false
}

// recoverySigner derives the recovery key's anchor signing key: an
// Ed25519 key from HKDF-SHA-256 of the recovery identity (its secret
// key string), salted with the vault id. Only the holder of the recovery
// secret can compute it; its public half is in every statement.
func recoverySigner(id *age.X25519Identity, vault ID) (ed25519.PrivateKey, error) {
	seed, err := hkdf.Key(sha256.New, []byte(id.String()), vault[:], "valv recovery anchor signing key v1", ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// anchorCheck is a value only the holder of the directory key can
// compute; the statement binds the key's seal secret with it (the id and
// recipient bind the rest).
func anchorCheck(kr *seal.Keyring, vault ID) []byte {
	return kr.LookupTag(nil, "anchor check", vault[:])
}

// readAnchors reads every epoch, checking numbering and the hash chain.
// No epoch is errUnanchored.
func readAnchors(tx *bolt.Tx, vault ID) ([]anchorRecord, error) {
	b := tx.Bucket(bAnchors)
	if b == nil {
		return nil, errUnanchored
	}
	var recs []anchorRecord
	err := b.ForEach(func(k, v []byte) error {
		var r anchorRecord
		n := uint64(len(recs))
		if len(k) != 8 || binary.BigEndian.Uint64(k) != n || json.Unmarshal(v, &r) != nil || r.Statement.Epoch != n {
			return fmt.Errorf("%w: epoch %d is missing or malformed", ErrAnchor, n)
		}
		if err := r.Statement.wellFormed(); err != nil {
			return fmt.Errorf("%w: epoch %d: %v", ErrAnchor, n, err)
		}
		var prev []byte
		if n > 0 {
			prev = recs[n-1].Statement.hash(vault)
		}
		if !bytes.Equal(prev, r.Statement.Previous) {
			return fmt.Errorf("%w: epoch %d does not follow epoch %d", ErrAnchor, n, int64(n)-1)
		}
		recs = append(recs, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, errUnanchored
	}
	return recs, nil
}

// verifyAnchors returns the newest statement if the verifier (an admin
// and the public key of its card, or Recovery and its derived key)
// vouches for it: the verifier signed some epoch m that lists it with
// that key, and every later epoch is signed by an admin or the recovery
// key that the epoch before lists. endorsed reports whether the verifier
// already signed the newest epoch.
func verifyAnchors(recs []anchorRecord, vault ID, verifier HolderID, pub crypto.PublicKey) (latest *anchorRecord, endorsed bool, err error) {
	m := -1
	for k := len(recs) - 1; k >= 0; k-- {
		if recs[k].Statement.lists(verifier, pub) && recs[k].signedBy(vault, verifier, pub) {
			m = k
			break
		}
	}
	if m < 0 {
		return nil, false, fmt.Errorf("%w: no epoch of it is signed by this key", ErrAnchor)
	}
	for k := m + 1; k < len(recs); k++ {
		prev := &recs[k-1].Statement
		ok := false
		for _, s := range recs[k].Signatures {
			if pk := prev.signingKeyOf(s.Holder); pk != nil && verifySignature(pk, recs[k].Statement.message(vault), s.Signature) {
				ok = true
				break
			}
		}
		if !ok {
			return nil, false, fmt.Errorf("%w: epoch %d is not signed by an admin of epoch %d", ErrAnchor, k, k-1)
		}
	}
	latest = &recs[len(recs)-1]
	if !latest.Statement.lists(verifier, pub) {
		return nil, false, fmt.Errorf("%w: this key is no longer an admin of it", ErrAnchor)
	}
	return latest, m == len(recs)-1, nil
}

// activeAdmins lists the active admins of the holders bucket as a
// statement does.
func activeAdmins(tx *bolt.Tx) ([]anchorAdmin, error) {
	var out []anchorAdmin
	err := tx.Bucket(bHolders).ForEach(func(k, v []byte) error {
		var r holderRecord
		if len(k) != len(HolderID{}) || json.Unmarshal(v, &r) != nil {
			return errors.New("store: a key holder record is malformed; the directory is damaged")
		}
		if r.Role == RoleAdmin && !r.Inactive {
			var id HolderID
			copy(id[:], k)
			out = append(out, anchorAdmin{ID: id, Key: r.SigningKey})
		}
		return nil
	})
	return out, err // bbolt iterates in key order: sorted
}

// matchesFile compares a statement with the directory file and the
// directory key that was unwrapped from it.
func (st *anchorStatement) matchesFile(tx *bolt.Tx, v *Vault, key *compartmentkey.Key, kr *seal.Keyring) error {
	switch {
	case st.DirKeyID != v.dirID || st.DirKeyID != ID(key.ID()):
		return fmt.Errorf("%w: the directory key is not the one it names", ErrAnchor)
	case st.DirRecipient != key.Recipient().String() || st.DirRecipient != v.dirRecipient.String():
		return fmt.Errorf("%w: the directory key is not the one it names", ErrAnchor)
	case !hmac.Equal(st.Check, anchorCheck(kr, v.id)):
		return fmt.Errorf("%w: the directory key is not the one it names", ErrAnchor)
	case st.Recovery != v.recovery.String():
		return fmt.Errorf("%w: the recovery recipient is not the one it names", ErrAnchor)
	}
	admins, err := activeAdmins(tx)
	if err != nil {
		return err
	}
	if !slices.EqualFunc(admins, st.Admins, func(a, b anchorAdmin) bool { return a.ID == b.ID && bytes.Equal(a.Key, b.Key) }) {
		return fmt.Errorf("%w: the admins in the directory are not the ones it names", ErrAnchor)
	}
	return nil
}

func putAnchor(tx *bolt.Tx, r *anchorRecord) error {
	p, err := json.Marshal(r)
	if err != nil {
		return err
	}
	b, err := tx.CreateBucketIfNotExists(bAnchors)
	if err != nil {
		return err
	}
	return b.Put(u64(r.Statement.Epoch), p)
}

// newStatement describes the directory as it is in tx, after prev (nil
// for epoch 0), with the given compartments.
func newStatement(tx *bolt.Tx, v *Vault, prev *anchorStatement, key *compartmentkey.Key, kr *seal.Keyring, recoveryPub []byte, comps map[CompartmentID]anchorComp) (*anchorStatement, error) {
	admins, err := activeAdmins(tx)
	if err != nil {
		return nil, err
	}
	st := &anchorStatement{DirKeyID: ID(key.ID()), DirRecipient: key.Recipient().String(), Check: anchorCheck(kr, v.id),
		Recovery: v.recovery.String(), RecoverySigner: recoveryPub, Admins: admins}
	if prev != nil {
		st.Epoch, st.Previous = prev.Epoch+1, prev.hash(v.id)
	}
	for _, c := range comps {
		st.Compartments = append(st.Compartments, c)
	}
	slices.SortFunc(st.Compartments, func(a, b anchorComp) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	return st, nil
}

// signAnchor signs a statement as id with signer.
func signAnchor(r *anchorRecord, vault ID, id HolderID, signer crypto.Signer) error {
	sig, err := sign(signer, r.Statement.message(vault))
	if err != nil {
		return fmt.Errorf("store: signing the directory anchor: %w", err)
	}
	r.Signatures = append(r.Signatures, anchorSig{Holder: id, Signature: sig})
	return nil
}

// verifyDirectoryAnchor checks, at an admin or recovery unlock, that the
// directory key the session unwrapped is the one its own key vouched
// for, and endorses the newest statement if the session has not signed
// it yet. It remembers the anchored compartment recipients.
func (s *Session) verifyDirectoryAnchor() error {
	return s.v.db.Update(func(tx *bolt.Tx) error {
		recs, err := readAnchors(tx, s.v.id)
		if err != nil {
			return err
		}
		latest, endorsed, err := verifyAnchors(recs, s.v.id, s.actor, s.anchorSigner.Public())
		if err != nil {
			return err
		}
		if err := latest.Statement.matchesFile(tx, s.v, s.dirKey, s.dirKR); err != nil {
			return err
		}
		s.anchor = latest.Statement
		s.anchorComps = make(map[CompartmentID]anchorComp, len(latest.Statement.Compartments))
		for _, c := range latest.Statement.Compartments {
			s.anchorComps[c.ID] = c
		}
		if endorsed {
			return nil
		}
		if err := signAnchor(latest, s.v.id, s.actor, s.anchorSigner); err != nil {
			return err
		}
		return putAnchor(tx, latest)
	})
}

// advanceAnchor appends a statement describing the directory as it is
// in tx, with the newest statement's compartments changed by change (if
// not nil), signed by the session (an admin or the recovery key) and by
// each of cosigners (a newly enrolled admin's card). The newest statement
// must be the one the session verified, or follow it by steps signed by
// admins (another session of this process advanced it). Call
// commitAnchor with the result once tx has committed.
func (s *Session) advanceAnchor(tx *bolt.Tx, change func(map[CompartmentID]anchorComp), cosigners map[HolderID]crypto.Signer) (*anchorStatement, error) {
	if s.anchorSigner == nil || s.anchorComps == nil {
		return nil, ErrNotAdmin
	}
	recs, err := readAnchors(tx, s.v.id)
	if err != nil {
		return nil, err
	}
	known := s.anchor.hash(s.v.id)
	i := slices.IndexFunc(recs, func(r anchorRecord) bool { return bytes.Equal(r.Statement.hash(s.v.id), known) })
	if i < 0 {
		return nil, fmt.Errorf("%w: the statement this session checked is gone", ErrAnchor)
	}
	// The session made or endorsed recs[i]: the steps after it must be
	// signed by admins, and this key must still be one.
	if _, _, err := verifyAnchors(recs[i:], s.v.id, s.actor, s.anchorSigner.Public()); err != nil {
		return nil, err
	}
	prev := recs[len(recs)-1].Statement
	comps := make(map[CompartmentID]anchorComp, len(prev.Compartments)+1)
	for _, c := range prev.Compartments {
		comps[c.ID] = c
	}
	if change != nil {
		change(comps)
	}
	st, err := newStatement(tx, s.v, &prev, s.dirKey, s.dirKR, prev.RecoverySigner, comps)
	if err != nil {
		return nil, err
	}
	r := &anchorRecord{Statement: *st}
	if err := signAnchor(r, s.v.id, s.actor, s.anchorSigner); err != nil {
		return nil, err
	}
	for id, sg := range cosigners {
		if err := signAnchor(r, s.v.id, id, sg); err != nil {
			return nil, err
		}
	}
	if err := putAnchor(tx, r); err != nil {
		return nil, err
	}
	return st, nil
}

// commitAnchor records a statement written by advanceAnchor once its
// transaction committed.
func (s *Session) commitAnchor(st *anchorStatement) {
	if st == nil {
		return
	}
	s.anchor = *st
	s.anchorComps = make(map[CompartmentID]anchorComp, len(st.Compartments))
	for _, c := range st.Compartments {
		s.anchorComps[c.ID] = c
	}
}

// setComp returns a change for advanceAnchor that sets c.
func setComp(c anchorComp) func(map[CompartmentID]anchorComp) {
	return func(m map[CompartmentID]anchorComp) { m[c.ID] = c }
}

// checkAnchoredRecipient says whether a compartment file's recipient (of
// the key unwrapped from it) is one the anchor vouches for. Sessions
// that do not verify the anchor (key holders who are not admins) check
// nothing here.
func (s *Session) checkAnchoredRecipient(cid CompartmentID, recipient string) error {
	if s.anchorComps == nil {
		return nil
	}
	c, ok := s.anchorComps[cid]
	if !ok || (recipient != c.Recipient && (c.Next == "" || recipient != c.Next)) {
		return fmt.Errorf("%w: compartment %s has a key the directory's anchor does not name (its file was replaced)", ErrAnchor, cid)
	}
	return nil
}

// anchorNewVault writes epoch 0 of a new vault, signed by the first
// admin's card and the recovery key.
func anchorNewVault(tx *bolt.Tx, v *Vault, key *compartmentkey.Key, kr *seal.Keyring, recovery *age.X25519Identity, admin HolderID, signer crypto.Signer) error {
	rs, err := recoverySigner(recovery, v.id)
	if err != nil {
		return err
	}
	st, err := newStatement(tx, v, nil, key, kr, rs.Public().(ed25519.PublicKey), nil)
	if err != nil {
		return err
	}
	r := &anchorRecord{Statement: *st}
	if err := signAnchor(r, v.id, admin, signer); err != nil {
		return err
	}
	if err := signAnchor(r, v.id, Recovery, rs); err != nil {
		return err
	}
	return putAnchor(tx, r)
}

// migrateDirectoryAnchors upgrades a format-1 directory: it gets an empty
// anchors bucket. Nothing vouches for it yet: every admin or recovery
// unlock fails with ErrAnchor until AnchorLegacy has been run once.
func migrateDirectoryAnchors(tx *bolt.Tx) error {
	_, err := tx.CreateBucketIfNotExists(bAnchors)
	return err
}

// ActionAnchor records AnchorLegacy in the directory log.
const ActionAnchor Action = "directory-anchor"

// AnchorLegacy writes the first anchor statement of a directory that has
// none (a vault made before format 2), signed by an admin's card and by
// the recovery key: both then vouch for the directory key and the admins
// as they are now. It is trust on first use, so run it once, right after
// upgrading, on a directory known to be untouched (compare with a
// backup). It refuses a directory that already has an anchor: a deleted
// anchor is tampering, not an old vault.
func (v *Vault) AnchorLegacy(admin age.Identity, signer crypto.Signer, recovery *age.X25519Identity) error {
	if recovery == nil || recovery.Recipient().String() != v.recovery.String() {
		return errors.New("store: AnchorLegacy needs the vault's recovery key")
	}
	if signer == nil {
		return errors.New("store: AnchorLegacy needs the admin card's signing key (slot 9C)")
	}
	if err := v.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bAnchors); b != nil && b.Stats().KeyN > 0 {
			return errors.New("store: the directory already has an anchor; AnchorLegacy is only for a vault made before format 2")
		}
		return nil
	}); err != nil {
		return err
	}
	s, err := v.unlock(admin, signer, true)
	if err != nil {
		return err
	}
	defer s.Lock()
	if s.dirKR == nil || s.actor == Recovery {
		return ErrNotAdmin
	}
	rs, err := recoverySigner(recovery, v.id)
	if err != nil {
		return err
	}
	// The compartments' recipients as their files give them (checked
	// against the key for those this admin holds).
	ids, err := v.CompartmentIDs()
	if err != nil {
		return err
	}
	comps := make(map[CompartmentID]anchorComp)
	for _, cid := range ids {
		r, err := v.fileRecipient(cid)
		if err != nil {
			return err
		}
		comps[cid] = anchorComp{ID: cid, Recipient: r}
	}
	return v.db.Update(func(tx *bolt.Tx) error {
		st, err := newStatement(tx, v, nil, s.dirKey, s.dirKR, rs.Public().(ed25519.PublicKey), comps)
		if err != nil {
			return err
		}
		r := &anchorRecord{Statement: *st}
		if err := signAnchor(r, v.id, s.actor, signer); err != nil {
			return err
		}
		if err := signAnchor(r, v.id, Recovery, rs); err != nil {
			return err
		}
		if err := putAnchor(tx, r); err != nil {
			return err
		}
		return s.logDir(tx, Entry{Time: v.now(), Holder: s.actor, Action: ActionAnchor, Object: v.id.String()})
	})
}

// CompartmentRecipient returns the public age recipient of a compartment
// as the directory anchor names it (admins and the recovery key, whose
// unlock checked the anchor): anything encrypted to it (sealed intake,
// backups) only the compartment's key opens. The file's own copy of the
// recipient is never trusted for this (docs/security-review-2026-11.md,
// M2). Other sessions get ErrNotAdmin.
func (s *Session) CompartmentRecipient(cid CompartmentID) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkAdmin(); err != nil {
		return "", err
	}
	if s.anchorComps == nil {
		return "", ErrNotAdmin
	}
	c, ok := s.anchorComps[cid]
	if !ok {
		return "", fmt.Errorf("store: no compartment %s in this vault's anchor", cid)
	}
	return c.Recipient, nil
}
