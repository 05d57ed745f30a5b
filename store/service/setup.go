package service

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/valv-vault/valv/crypto/card"
	"github.com/valv-vault/valv/crypto/recovery"
	"github.com/valv-vault/valv/store"
)

// First run: a new vault, its recovery key and its first admin. The
// window (and valv init) go through these steps:
//
//  1. NewRecoveryKey makes the recovery key and returns its sheet; the key
//     stays in the service, pending.
//  2. SaveRecovery writes the key file and the printable sheet (PDF) to a
//     folder the user chose, e.g. a USB stick.
//  3. ConfirmRecovery checks that the user kept it: they type back two
//     groups of the secret key, read from their copy.
//  4. CreateVault enrols the first admin's card and creates the vault,
//     with the admin's passed screening and signed NDA in the staff
//     register, then unlocks it with that card.
//
// No vault exists before its recovery key was kept; a key that was kept
// but whose vault could not be made opens nothing, and stays pending for
// another try.

// The files SaveRecovery writes.
const (
	RecoveryKeyFile       = "valv-recovery-key.txt"
	RecoverySheetFile     = "valv-recovery-sheet.pdf"
	RecoveryProtectedFile = "valv-recovery-key.age"
)

// MinRecoveryPassphrase is the shortest passphrase for the protected copy.
const MinRecoveryPassphrase = 12

// A GroupRef names one group of four characters of the secret key as the
// recovery sheet numbers them: line Line (from 1), group Group of it
// (from 1).
type GroupRef struct{ Line, Group int }

// A RecoverySheet is the pending recovery key as the window shows it.
type RecoverySheet struct {
	Public string     // the public key, age1…
	Text   string     // the printable sheet (monospaced, with the secret key)
	Check  []GroupRef // the groups ConfirmRecovery asks for
}

// ErrRecoveryNotKept is returned by CreateVault until ConfirmRecovery
// succeeded.
var ErrRecoveryNotKept = errors.New("keep the recovery key first: save or print it, then type back the groups asked for")

// HasVault reports whether the vault folder holds a vault (always true in
// demo mode). Without one, the window runs the first-run steps.
func (s *Service) HasVault() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.v != nil {
		return true
	}
	_, err := os.Lstat(filepath.Join(s.vaultDir, store.DirectoryFile))
	return err == nil
}

// NewRecoveryKey makes the recovery key of the vault to create (or returns
// the pending one) and its sheet.
func (s *Service) NewRecoveryKey() (RecoverySheet, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.v != nil {
		return RecoverySheet{}, errors.New("this folder already holds a vault")
	}
	if s.pending == nil {
		k, err := recovery.Generate()
		if err != nil {
			return RecoverySheet{}, err
		}
		check, err := pickGroups(k, 2)
		if err != nil {
			return RecoverySheet{}, err
		}
		s.pending, s.check, s.kept = k, check, false
	}
	return RecoverySheet{Public: s.pending.Recipient().String(), Text: s.pending.Sheet(sheetName(s.vaultDir)), Check: s.check}, nil
}

// sheetName names the vault on its recovery sheet: its folder.
func sheetName(dir string) string { return "Valv vault in " + dir }

// SaveRecovery writes the pending recovery key to folder dir: the key
// file (what age -d -i reads), the sheet as a PDF to print, and, with a
// passphrase (at least MinRecoveryPassphrase characters), a
// passphrase-protected copy. Files are mode 0600 and never overwrite
// anything; it returns their paths.
func (s *Service) SaveRecovery(dir, passphrase string) ([]string, error) {
	s.mu.Lock()
	k := s.pending
	s.mu.Unlock()
	if k == nil {
		return nil, errors.New("there is no recovery key to save: start again")
	}
	if passphrase != "" && len(passphrase) < MinRecoveryPassphrase {
		return nil, fmt.Errorf("the passphrase of the protected copy must be at least %d characters; nothing was saved", MinRecoveryPassphrase)
	}
	names := []string{RecoveryKeyFile, RecoverySheetFile}
	if passphrase != "" {
		names = append(names, RecoveryProtectedFile)
	}
	var paths []string
	for _, n := range names {
		p := filepath.Join(dir, n)
		if _, err := os.Lstat(p); err == nil {
			return nil, fmt.Errorf("%s already exists; Valv does not overwrite a key file: choose another folder", p)
		}
		paths = append(paths, p)
	}
	written := 0
	ok := false
	defer func() {
		if !ok {
			for _, p := range paths[:written] {
				os.Remove(p)
			}
		}
	}()
	if err := k.WriteFile(paths[0]); err != nil {
		return nil, err
	}
	written++
	pdf, err := SheetPDF(k.Sheet(sheetName(s.vaultDir)))
	if err != nil {
		return nil, err
	}
	err = writeNew(paths[1], pdf)
	clear(pdf)
	if err != nil {
		return nil, err
	}
	written++
	if passphrase != "" {
		if err := k.WriteProtectedFile(paths[2], passphrase, 0); err != nil {
			return nil, err
		}
	}
	ok = true
	return paths, nil
}

// writeNew writes a new file of mode 0600 whole or not at all, refusing
// to replace one: the data goes to a temporary file, which is synced and
// then hard-linked under its name (a link fails if the name exists) and
// removed; the folder is synced. A crash leaves at most the temporary
// file, never a partial file under the name.
func writeNew(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".valv-tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Link(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// ConfirmRecovery checks the groups typed back (in the order of
// RecoverySheet.Check; spaces and letter case do not matter) against the
// pending key. The answers are compared in constant time and not kept.
func (s *Service) ConfirmRecovery(answers []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending == nil {
		return errors.New("there is no recovery key to confirm: start again")
	}
	if len(answers) != len(s.check) {
		return fmt.Errorf("type the %d groups asked for", len(s.check))
	}
	groups := secretGroups(s.pending)
	good := 1
	for i, ref := range s.check {
		want := groups[(ref.Line-1)*groupsPerLine+ref.Group-1]
		got := strings.ToUpper(strings.Join(strings.Fields(answers[i]), ""))
		good &= subtle.ConstantTimeCompare([]byte(want), []byte(got))
	}
	if good != 1 {
		return errors.New("the groups typed back do not match the recovery key: check your copy")
	}
	s.kept = true
	return nil
}

// The layout of the secret key on the sheet (crypto/recovery's Sheet).
const (
	secretPrefix  = "AGE-SECRET-KEY-1"
	groupSize     = 4
	groupsPerLine = 5
)

// secretGroups splits the secret key after its prefix into the groups of
// the sheet.
func secretGroups(k *recovery.Key) []string {
	rest := strings.TrimPrefix(k.Identity().String(), secretPrefix)
	var out []string
	for len(rest) > 0 {
		n := min(groupSize, len(rest))
		out = append(out, rest[:n])
		rest = rest[n:]
	}
	return out
}

// pickGroups chooses n different whole groups at random.
func pickGroups(k *recovery.Key, n int) ([]GroupRef, error) {
	var whole []int
	for i, g := range secretGroups(k) {
		if len(g) == groupSize {
			whole = append(whole, i)
		}
	}
	var out []GroupRef
	for len(out) < n && len(whole) > 0 {
		j, err := rand.Int(rand.Reader, big.NewInt(int64(len(whole))))
		if err != nil {
			return nil, err
		}
		i := whole[j.Int64()]
		whole = append(whole[:j.Int64()], whole[j.Int64()+1:]...)
		out = append(out, GroupRef{Line: i/groupsPerLine + 1, Group: i%groupsPerLine + 1})
	}
	return out, nil
}

// A FirstAdmin is what CreateVault needs of the first admin: their card,
// its current and new PIN and PUK, and their staff record (a passed
// screening and the signed NDA).
type FirstAdmin struct {
	Serial                   uint32
	PIN, PUK, NewPIN, NewPUK string
	AllowSimulated           bool // accept a simulated card (tests and trials)
	Name, Title              string
	ScreenedBy               string
	ScreenedOn, NDASigned    time.Time
	NDADocument              []byte
	Touch                    card.Touch // 0: TouchCached (TouchNever on a simulated card)
}

// CreateVault makes the vault with the pending recovery key (once kept)
// and the first admin, and unlocks it with the admin's card. PINs and
// PUKs go to the card and are not kept.
func (s *Service) CreateVault(a FirstAdmin) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.v != nil:
		return errors.New("this folder already holds a vault")
	case s.pending == nil || !s.kept:
		return ErrRecoveryNotKept
	}
	staff := &store.StaffInfo{
		Name: a.Name, Title: a.Title,
		Screening:   store.Screening{Status: store.ScreeningPassed, Date: a.ScreenedOn, By: a.ScreenedBy},
		NDASigned:   a.NDASigned,
		NDADocument: a.NDADocument,
	}
	if err := store.CheckFirstAdmin(staff); err != nil {
		return err
	}
	cs, err := card.Open(a.Serial)
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			cs.Close()
		}
	}()
	if err := RefuseSimulated(cs.Info(), a.AllowSimulated || s.sim != nil); err != nil {
		return err
	}
	opts := card.EnrolOptions{PIN: a.PIN, PUK: a.PUK, NewPIN: a.NewPIN, NewPUK: a.NewPUK, Name: a.Name, Touch: a.Touch}
	if opts.Touch == 0 {
		opts.Touch = defaultTouch(cs.Info())
	}
	_, v, err := InitVault(s.vaultDir, s.pending, cs, opts, staff)
	if err != nil {
		return err
	}
	s.v = v
	s.pending, s.check, s.kept = nil, nil, false
	id, err := cs.Identity()
	if err != nil {
		return err
	}
	signer, err := cs.Signer()
	if err != nil {
		return err
	}
	sess, err := v.Unlock(id, signer)
	if err != nil {
		return err
	}
	s.sess, s.cs, ok = sess, cs, true
	return nil
}

// defaultTouch is the touch policy of a new card's keys: a touch at most
// every 15 seconds on a real card; none on a simulated one (no button).
func defaultTouch(c card.Info) card.Touch {
	if c.Simulated {
		return card.TouchNever
	}
	return card.TouchCached
}

// InitVault enrols the card as the first admin and creates the vault in
// dir with the recovery key, the admin's staff record (a passed screening
// and the signed NDA, checked before the card is touched). It is the
// common part of valv init and the window's first run. The caller has
// kept the recovery key. An enrolment error (a wrong PIN or PUK) is the
// card's, unwrapped.
func InitVault(dir string, key *recovery.Key, cs *card.Session, opts card.EnrolOptions, staff *store.StaffInfo) (*card.Enrolment, *store.Vault, error) {
	if err := store.CheckFirstAdmin(staff); err != nil {
		return nil, nil, err
	}
	if _, err := os.Lstat(filepath.Join(dir, store.DirectoryFile)); err == nil {
		return nil, nil, fmt.Errorf("%s already holds a vault", dir)
	}
	if opts.Name == "" {
		opts.Name = staff.Name
	}
	e, err := cs.Enrol(opts)
	if err != nil {
		return nil, nil, err
	}
	signer, err := cs.Signer() // the new card signs the directory's anchor
	if err != nil {
		return nil, nil, err
	}
	v, err := store.Create(dir, key.Identity(), store.HolderInfo{
		Name: opts.Name, Serial: e.Serial, Slot: e.Slot, Recipient: e.Recipient,
		SigningKey: e.SigningKey, Role: store.RoleAdmin, Staff: staff, Signer: signer,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("the card is enrolled but the vault could not be made: %w", err)
	}
	return e, v, nil
}

// RefuseSimulated keeps software keys out of a real vault: a simulated
// card's private keys can be read from its state file.
func RefuseSimulated(c card.Info, allowed bool) error {
	if c.Simulated && !allowed {
		return fmt.Errorf("YubiKey %d is SIMULATED: its keys are software keys, readable from its state file; Valv enrols it only when simulated cards are allowed, for tests and trials", c.Serial)
	}
	return nil
}
