package store

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"slices"
	"sync"

	"filippo.io/age"
	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/crypto/compartmentkey"
	"github.com/valv-vault/valv/crypto/pivage"
	"github.com/valv-vault/valv/crypto/seal"
)

var (
	// ErrUnknownIdentity is returned by Unlock for an identity that is
	// neither an enrolled key holder nor the vault's recovery key.
	ErrUnknownIdentity = errors.New("store: this key is not enrolled in this vault")

	// ErrNotAdmin is returned for an admin action by a session without
	// the directory key.
	ErrNotAdmin = errors.New("store: only an admin key holder (or the recovery key) can do this")

	// ErrNotGranted is returned for a compartment the session cannot open.
	ErrNotGranted = errors.New("store: this key holder is not granted that compartment")

	// ErrLockedSession is returned by a session after Lock.
	ErrLockedSession = errors.New("store: the session is locked; unlock again")
)

// A Session is an unlocked vault: the keys that one identity opens. It is
// safe for concurrent use. Lock it when done: that signs audit checkpoints
// and drops the keys.
type Session struct {
	v      *Vault
	actor  HolderID
	role   Role
	signer crypto.Signer

	mu       sync.Mutex
	locked   bool
	dirKey   *compartmentkey.Key // nil unless admin or recovery
	dirKR    *seal.Keyring
	comps    map[CompartmentID]*openComp
	problems map[CompartmentID]string // files that could not be read
	touched  map[CompartmentID]bool   // logs appended to; DirectoryLog is the zero id
	// Compartments not opened because their file is behind what the
	// directory's checkpoint recorded (rollback.go), for VerifyAudit.
	rolledBack map[CompartmentID]*AuditError

	// The directory anchor (anchor.go), for admin and recovery sessions:
	// the key that signs statements (the card's slot 9C key, or the
	// recovery key's derived key), the newest statement, and the
	// compartment recipients it vouches for (nil: not verified).
	anchorSigner crypto.Signer
	anchor       anchorStatement
	anchorComps  map[CompartmentID]anchorComp
}

// openComp is an unlocked compartment.
type openComp struct {
	id   CompartmentID
	key  *compartmentkey.Key
	kr   *seal.Keyring
	name string

	index  *codeIndex   // loaded on first use
	search *searchIndex // loaded on first search (search.go)
}

// An identity that says which key holder it is: *pivage.Identity (a card
// slot or a software P-256 key).
type recipientIdentity interface {
	Recipient() *pivage.Recipient
}

// Unlock opens what identity can open: the directory key if it belongs to
// an admin (or is the recovery key), and every compartment granted to it.
// Each compartment's key is unwrapped once; with a YubiKey identity only
// the stanzas tagged for its key reach the card.
//
// The identity must be an enrolled key holder's (*pivage.Identity or
// another type with a Recipient() *pivage.Recipient method), or the
// recovery key (*age.X25519Identity). signer is the key holder's slot 9C
// key: it signs audit checkpoints when the session is locked, and must
// match the signing key enrolled for the holder. It may be nil for a key
// holder who is not an admin (no checkpoints); an admin's unlock needs it
// to check the directory's signed anchor (anchor.go) and fails with
// ErrAnchor if the directory key is not the one that card vouched for.
// It is ignored for the recovery key, which checks the anchor with a key
// derived from its own secret.
//
// The unlock is logged in every compartment opened, and in the directory
// log (directly for an admin, as a pending entry otherwise).
//
// A compartment file that is missing or damaged does not stop the unlock:
// Session.Compartments reports it (CompartmentInfo.Problem). An error of
// the card (removed, PIN blocked) does.
func (v *Vault) Unlock(identity age.Identity, signer crypto.Signer) (*Session, error) {
	return v.unlock(identity, signer, false)
}

// unlock is Unlock; with legacy, a directory without an anchor is
// accepted (AnchorLegacy) and the anchor is not checked.
func (v *Vault) unlock(identity age.Identity, signer crypto.Signer, legacy bool) (*Session, error) {
	if identity == nil {
		return nil, errors.New("store: Unlock needs an identity")
	}
	s := &Session{v: v, comps: make(map[CompartmentID]*openComp), problems: make(map[CompartmentID]string), touched: make(map[CompartmentID]bool), rolledBack: make(map[CompartmentID]*AuditError)}
	switch id := identity.(type) {
	case *age.X25519Identity:
		if id.Recipient().String() != v.recovery.String() {
			return nil, ErrUnknownIdentity
		}
		s.actor, s.role = Recovery, RoleAdmin
		rs, err := recoverySigner(id, v.id)
		if err != nil {
			return nil, err
		}
		s.anchorSigner = rs
	case recipientIdentity:
		hs, err := v.Holders()
		if err != nil {
			return nil, err
		}
		want := id.Recipient().String()
		i := slices.IndexFunc(hs, func(h Holder) bool { return h.Recipient == want })
		if i < 0 {
			return nil, ErrUnknownIdentity
		}
		h := hs[i]
		if h.Inactive {
			return nil, ErrDeactivated
		}
		s.actor, s.role = h.ID, h.Role
		if signer != nil {
			if eq, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(h.SigningKey) {
				return nil, errors.New("store: the signing key is not the one enrolled for this key holder")
			}
			s.signer, s.anchorSigner = signer, signer
		}
	default:
		return nil, fmt.Errorf("store: cannot tell which key holder a %T is; use a card identity or the recovery key", identity)
	}

	var wrapped []byte
	v.db.View(func(tx *bolt.Tx) error {
		wrapped = get(tx.Bucket(bMeta), kDirKey)
		return nil
	})
	k, err := compartmentkey.UnwrapFor(v.dirID, wrapped, identity)
	switch {
	case err == nil:
		s.dirKey = k
		if v.dirRecipient == nil || v.dirRecipient.String() != k.Recipient().String() {
			// Pending entries are encrypted to this recipient: a swapped
			// one would send them to whoever swapped it.
			k.Destroy()
			return nil, errors.New("store: the directory's public recipient is not its key's; the directory was altered")
		}
		if s.dirKR, err = k.Keyring(); err != nil {
			return nil, err
		}
	case errors.Is(err, compartmentkey.ErrNotGranted):
		if s.actor == Recovery {
			return nil, errors.New("store: the recovery key does not open the directory key; the directory was altered")
		}
	default:
		return nil, fmt.Errorf("store: unlocking the directory: %w", err)
	}
	if s.dirKR != nil {
		// The directory key must be the one this card (or the recovery
		// key) vouched for before its keyed tags mean anything.
		var err error
		switch {
		case s.anchorSigner == nil:
			err = errors.New("store: an admin unlock needs the card's signing key (slot 9C) to check the directory")
		case legacy:
		default:
			err = s.verifyDirectoryAnchor()
		}
		if err == nil {
			err = s.checkDirectory()
		}
		if err != nil {
			s.wipe()
			return nil, err
		}
	}

	ids, err := v.CompartmentIDs()
	if err != nil {
		s.wipe()
		return nil, err
	}
	// What the directory's newest checkpoint recorded of each
	// compartment's log (rollback.go): a file behind it is not opened.
	var dirCP *Checkpoint
	if s.dirKR != nil && !legacy {
		if dirCP, err = s.recordedHeads(); err != nil {
			s.wipe()
			return nil, err
		}
	}
	for _, cid := range ids {
		if ae := s.checkCompartmentHead(cid, dirCP); ae != nil {
			s.problems[cid] = fmt.Sprintf("store: compartment %s: %s", cid, ae.Reason)
			s.rolledBack[cid] = ae
			continue
		}
		err := s.openCompartment(cid, identity)
		var fp *fileProblem
		switch {
		case err == nil, errors.Is(err, ErrNotGranted):
		case errors.As(err, &fp):
			// A missing or damaged file does not keep the others shut.
			s.problems[cid] = fp.err.Error()
		default: // the card: removed, PIN blocked, …
			s.wipe()
			return nil, err
		}
	}
	if !legacy {
		// The directory must not be behind what the compartments'
		// checkpoints recorded of it (rollback.go).
		if err := s.checkDirectoryHead(); err != nil {
			s.wipe()
			return nil, err
		}
	}
	if err := s.logUnlock(); err != nil {
		s.wipe()
		return nil, err
	}
	return s, nil
}

// checkDirectory verifies the keyed tags over the public directory
// records (key holders and the recovery recipient), so that nothing is
// wrapped to a recipient an intruder put in.
func (s *Session) checkDirectory() error {
	return s.v.db.View(func(tx *bolt.Tx) error {
		if !checkMAC(tx, s.dirKR, "recovery", nil, []byte(s.v.recovery.String())) {
			return errors.New("store: the recovery recipient in the directory was altered outside Valv")
		}
		return tx.Bucket(bHolders).ForEach(func(k, val []byte) error {
			if !checkMAC(tx, s.dirKR, "holder", k, val) {
				var id ID
				copy(id[:], k)
				return fmt.Errorf("store: key holder %s was altered or added outside Valv", id)
			}
			return nil
		})
	})
}

// A fileProblem is a compartment file that is missing or damaged, as
// opposed to an error of the card.
type fileProblem struct{ err error }

func (p *fileProblem) Error() string { return p.err.Error() }
func (p *fileProblem) Unwrap() error { return p.err }

// probeIdentity opens nothing: decrypting with it tells a well-formed
// wrapped key (NoIdentityMatchError) from a damaged one without touching
// a card.
type probeIdentity struct{}

func (probeIdentity) Unwrap([]*age.Stanza) ([]byte, error) { return nil, age.ErrIncorrectIdentity }

// openCompartment unwraps a compartment's key with identity. A missing or
// damaged file is a *fileProblem.
func (s *Session) openCompartment(cid CompartmentID, identity age.Identity) error {
	db, err := s.v.compartmentDB(cid)
	if err != nil {
		return &fileProblem{err}
	}
	var wrapped, sealedName, id, recipient []byte
	db.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(bMeta)
		wrapped, sealedName, id, recipient = get(m, kCompKey), get(m, kCompName), get(m, kCompID), get(m, kCompRecipient)
		return nil
	})
	if !bytes.Equal(id, cid[:]) {
		return &fileProblem{fmt.Errorf("store: the file of compartment %s belongs to another compartment", cid)}
	}
	var noMatch *age.NoIdentityMatchError
	if _, err := age.Decrypt(bytes.NewReader(wrapped), probeIdentity{}); !errors.As(err, &noMatch) {
		return &fileProblem{fmt.Errorf("store: the wrapped key of compartment %s is damaged", cid)}
	}
	k, err := compartmentkey.UnwrapFor(cid, wrapped, identity)
	switch {
	case errors.Is(err, compartmentkey.ErrNotGranted):
		return ErrNotGranted
	case errors.Is(err, compartmentkey.ErrWrongCompartment):
		return &fileProblem{fmt.Errorf("store: compartment %s: %w", cid, err)}
	case err != nil:
		return fmt.Errorf("store: compartment %s: %w", cid, err)
	}
	// The public recipient is what sealed intake encrypts to: one that is
	// not the key's would send incoming data to whoever swapped it.
	if string(recipient) != k.Recipient().String() {
		k.Destroy()
		return &fileProblem{fmt.Errorf("store: the public recipient in the file of compartment %s is not its key's; the file was altered", cid)}
	}
	if err := s.checkAnchoredRecipient(cid, string(recipient)); err != nil {
		k.Destroy()
		return &fileProblem{err}
	}
	kr, err := k.Keyring()
	if err != nil {
		return err
	}
	name, err := openName(kr, cid, sealedName)
	if err != nil {
		k.Destroy()
		kr.Destroy()
		return &fileProblem{err}
	}
	s.comps[cid] = &openComp{id: cid, key: k, kr: kr, name: name}
	return nil
}

func (s *Session) logUnlock() error {
	now := s.v.now()
	e := Entry{Time: now, Holder: s.actor, Action: ActionUnlock}
	for cid, c := range s.comps {
		db, err := s.v.compartmentDB(cid)
		if err != nil {
			return err
		}
		err = db.Update(func(tx *bolt.Tx) error {
			// Sealed intake imported while the compartment was locked
			// (intake.go) is logged first.
			imported, err := drainIntakePending(tx, c.key.Identity(), now)
			if err != nil {
				return err
			}
			return appendEntries(tx, c.kr, append(imported, e)...)
		})
		if err != nil {
			return err
		}
		s.touched[cid] = true
	}
	return s.v.db.Update(func(tx *bolt.Tx) error {
		if s.dirKR == nil {
			return addPending(tx, s.v, e, 0, s.signer) // signed by the card if given (pending.go)
		}
		pending, err := drainPending(tx, s.dirKey.Identity(), s.dirKR, s.v.id, now)
		if err != nil {
			return err
		}
		s.touched[ID{}] = true
		return appendEntries(tx, s.dirKR, append(pending, e)...)
	})
}

// Actor returns the key holder of the session (Recovery for the recovery
// key).
func (s *Session) Actor() HolderID { return s.actor }

// IsAdmin reports whether the session holds the directory key.
func (s *Session) IsAdmin() bool { return s.dirKR != nil }

// Vault returns the session's vault.
func (s *Session) Vault() *Vault { return s.v }

func (s *Session) check() error {
	if s.locked {
		return ErrLockedSession
	}
	return nil
}

func (s *Session) checkAdmin() error {
	if err := s.check(); err != nil {
		return err
	}
	if s.dirKR == nil {
		return ErrNotAdmin
	}
	return nil
}

// comp returns an unlocked compartment.
func (s *Session) comp(cid CompartmentID) (*openComp, *bolt.DB, error) {
	if err := s.check(); err != nil {
		return nil, nil, err
	}
	c := s.comps[cid]
	if c == nil {
		return nil, nil, ErrNotGranted
	}
	db, err := s.v.compartmentDB(cid)
	return c, db, err
}

// logDir appends entries to the directory log (the session is an admin).
func (s *Session) logDir(tx *bolt.Tx, entries ...Entry) error {
	s.touched[ID{}] = true
	return appendEntries(tx, s.dirKR, entries...)
}

// Checkpoint signs the head of every audit log this session has written
// to, with the session's signer. Lock does this too. Without a signer it
// does nothing.
func (s *Session) Checkpoint() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		return err
	}
	return s.checkpoint()
}

func (s *Session) checkpoint() error {
	if s.signer == nil {
		return nil
	}
	now := s.v.now()
	var errs []error
	for cid := range s.touched {
		if cid == (ID{}) {
			if s.dirKR != nil {
				errs = append(errs, s.v.db.Update(func(tx *bolt.Tx) error {
					return writeCheckpoint(tx, s.dirKR, s.v.id, DirectoryLog, s.actor, s.signer, now, s.directoryHeads(tx))
				}))
			}
			continue
		}
		c, db, err := s.comp(cid)
		if err != nil {
			continue
		}
		errs = append(errs, db.Update(func(tx *bolt.Tx) error {
			return writeCheckpoint(tx, c.kr, s.v.id, cid.String(), s.actor, s.signer, now, s.compartmentHeads())
		}))
	}
	clear(s.touched)
	return errors.Join(errs...)
}

// Lock signs checkpoints of the logs written in this session (if there is
// a signer) and wipes the session's keys. The session is unusable after.
func (s *Session) Lock() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.locked {
		return nil
	}
	err := s.checkpoint()
	s.wipe()
	return err
}

func (s *Session) wipe() {
	s.locked = true
	if s.dirKey != nil {
		s.dirKey.Destroy()
		s.dirKR.Destroy()
		s.dirKey, s.dirKR = nil, nil
	}
	for id, c := range s.comps {
		c.wipeSearch()
		c.key.Destroy()
		c.kr.Destroy()
		delete(s.comps, id)
	}
}

// Holders lists the key holders, with names if the session holds the
// directory key.
func (s *Session) Holders() ([]Holder, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		return nil, err
	}
	hs, err := s.v.Holders()
	if err != nil || s.dirKR == nil {
		return hs, err
	}
	err = s.v.db.View(func(tx *bolt.Tx) error {
		for i := range hs {
			if hs[i].Name, err = openName(s.dirKR, hs[i].ID, tx.Bucket(bNames).Get(hs[i].ID[:])); err != nil {
				return err
			}
		}
		b := tx.Bucket(bStaff)
		if b == nil {
			return nil
		}
		var staff []StaffID
		b.ForEach(func(k, _ []byte) error {
			var sid StaffID
			if copy(sid[:], k) == len(sid) {
				staff = append(staff, sid)
			}
			return nil
		})
		for _, sid := range staff {
			r, err := getStaff(tx, s.dirKR, sid)
			if err != nil {
				return err
			}
			for i := range hs {
				if slices.Contains(r.Holders, hs[i].ID) {
					hs[i].StaffID = sid
				}
			}
		}
		return nil
	})
	return hs, err
}

// Enrol adds a key holder (admins only). An admin also gets the directory
// key: it is re-wrapped to every admin and the recovery recipient.
//
// The key holder belongs to a person of the staff register
// (h.StaffID, or a new record h.Staff), who must have a passed screening
// and an NDA on file; otherwise Enrol fails with an error wrapping
// ErrNotScreened or ErrNoNDA that says what to record first.
func (s *Session) Enrol(h HolderInfo) (HolderID, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkAdmin(); err != nil {
		return ID{}, err
	}
	if h.Role == "" {
		h.Role = RoleHolder
	}
	now := s.v.now()
	var staff *staffRecord
	var ndaDoc []byte
	var err error
	switch {
	case h.Staff != nil && h.StaffID != (ID{}):
		return ID{}, errors.New("store: give the key holder's staff id or a new staff record, not both")
	case h.Staff != nil:
		if staff, ndaDoc, err = newStaff(h.Staff, now, []string{"the person", "first", "first"}); err != nil {
			return ID{}, err
		}
	case h.StaffID == (ID{}):
		return ID{}, errors.New("store: a key holder must belong to a person of the staff register (add them with `valv staff add`)")
	default:
		if err := s.v.db.View(func(tx *bolt.Tx) (err error) {
			staff, err = getStaff(tx, s.dirKR, h.StaffID)
			return err
		}); err != nil {
			return ID{}, err
		}
	}
	if h.Name == "" {
		h.Name = staff.Name
	}
	if err := h.check(); err != nil {
		return ID{}, err
	}
	if err := h.checkSigner(); err != nil {
		return ID{}, err
	}
	rec, err := h.record()
	if err != nil {
		return ID{}, err
	}
	hs, err := s.v.Holders()
	if err != nil {
		return ID{}, err
	}
	for _, o := range hs {
		if o.Recipient == rec.Recipient || (o.Serial == h.Serial && o.Slot == h.Slot) {
			return ID{}, fmt.Errorf("store: card %d slot %#x is already enrolled (key holder %s)", h.Serial, h.Slot, o.ID)
		}
	}
	id := newID()
	var anchored *anchorStatement
	err = s.v.db.Update(func(tx *bolt.Tx) error {
		a, err := newAppender(tx, s.dirKR)
		if err != nil {
			return err
		}
		staffID := h.StaffID
		if h.Staff != nil {
			staffID = newID()
			if err := addStaff(tx, s.dirKR, a, staffID, h.Staff, staff, ndaDoc, s.actor, now); err != nil {
				return err
			}
		} else if staff, err = getStaff(tx, s.dirKR, staffID); err != nil {
			return err
		}
		if err := linkHolder(tx, s.dirKR, staffID, staff, id); err != nil {
			return err
		}
		if err := putHolder(tx, s.dirKR, id, rec, h.Name); err != nil {
			return err
		}
		if h.Role == RoleAdmin {
			if err := s.rewrapDirectory(tx); err != nil {
				return err
			}
			// A new admin: a new anchor statement, which the new card
			// signs too, so that it has something of its own to check.
			if anchored, err = s.advanceAnchor(tx, nil, map[HolderID]crypto.Signer{id: h.Signer}); err != nil {
				return err
			}
		}
		if err := a.add(Entry{Time: now, Holder: s.actor, Action: ActionEnrol, Object: id.String()}); err != nil {
			return err
		}
		s.touched[ID{}] = true
		return a.flush()
	})
	if err != nil {
		return ID{}, err
	}
	if anchored != nil {
		s.commitAnchor(anchored)
	}
	return id, nil
}

// rewrapDirectory wraps the directory key to every admin and the
// recovery recipient.
func (s *Session) rewrapDirectory(tx *bolt.Tx) error {
	rs := []age.Recipient{s.v.recovery}
	err := tx.Bucket(bHolders).ForEach(func(k, val []byte) error {
		h, err := decodeHolder(k, val)
		if err != nil || h.Role != RoleAdmin || h.Inactive {
			return err
		}
		r, err := pivage.ParseRecipient(h.Recipient)
		if err != nil {
			return err
		}
		rs = append(rs, r)
		return nil
	})
	if err != nil {
		return err
	}
	wrapped, err := compartmentkey.Wrap(s.dirKey, rs...)
	if err != nil {
		return err
	}
	return tx.Bucket(bMeta).Put(kDirKey, wrapped)
}
