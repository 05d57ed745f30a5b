package service

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/valv-vault/valv/crypto/card"
	"github.com/valv-vault/valv/crypto/pivage"
	"github.com/valv-vault/valv/crypto/recovery"
	"github.com/valv-vault/valv/store"
)

// softVault makes a vault in a new folder whose first admin is a
// software key (no card), and returns the folder.
func softVault(t *testing.T) string {
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
	rec, err := recovery.Generate()
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	dir := filepath.Join(t.TempDir(), "vault")
	v, err := store.Create(dir, rec.Identity(), store.HolderInfo{
		Name: "Alva Admin", Serial: 4242, Slot: 0x82, Recipient: id.Recipient(), SigningKey: &sk.PublicKey,
		Role: store.RoleAdmin, Signer: sk,
		Staff: &store.StaffInfo{Name: "Alva Admin", Title: "Admin",
			Screening: store.Screening{Status: store.ScreeningPassed, Date: day, By: "Säk"},
			NDASigned: day, NDADocument: []byte("%PDF-1.4 NDA\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Classify puts the engine's errors, as the engine makes them, in the
// classes the window words; the text stays the engine's.
func TestClassify(t *testing.T) {
	tmp := t.TempDir()
	garbage := filepath.Join(tmp, "garbage")
	if err := os.MkdirAll(garbage, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(garbage, store.DirectoryFile), make([]byte, 8192), 0o600); err != nil {
		t.Fatal(err)
	}
	unlockIn := func(dir string) error {
		s, err := New(Options{VaultDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		return s.Unlock(1, "123456") // the vault is opened before the card
	}
	recoverIn := func(dir string, key []byte) error {
		s, err := New(Options{VaultDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		return s.UnlockRecovery(key)
	}
	other, err := recovery.Generate()
	if err != nil {
		t.Fatal(err)
	}
	vault := softVault(t)

	tests := []struct {
		name string
		err  error
		kind error
		file string
	}{
		{"no vault", unlockIn(filepath.Join(tmp, "none")), ErrNoVault, ""},
		{"damaged directory", unlockIn(garbage), ErrDamaged, store.DirectoryFile},
		{"not a recovery key", recoverIn(vault, []byte("hello")), ErrNotRecoveryKey, ""},
		{"another vault's recovery key", recoverIn(vault, other.IdentityFile()), ErrWrongRecoveryKey, ""},
		{"card not inserted", &card.NoCardError{Serial: 7}, ErrNoCard, ""},
		{"card not enrolled", fmt.Errorf("reading the card: %w", card.ErrNotEnrolled), ErrNotEnrolled, ""},
		{"key not enrolled", store.ErrUnknownIdentity, ErrNotEnrolled, ""},
		{"disk full", fmt.Errorf("store: adding: %w", &fs.PathError{Op: "write", Path: "/v/c1.valv", Err: syscall.ENOSPC}), ErrDiskFull, "c1.valv"},
		{"permission", &fs.PathError{Op: "open", Path: "/v/directory.valv", Err: syscall.EACCES}, ErrPermission, "directory.valv"},
		{"read-only disk", &fs.PathError{Op: "open", Path: "/media/usb/x", Err: syscall.EROFS}, ErrPermission, "x"},
		{"anchor", fmt.Errorf("%w: epoch 3 is missing", store.ErrAnchor), ErrDamaged, store.DirectoryFile},
		{"document damaged", fmt.Errorf("%w: chunk 3 is missing", store.ErrDocumentDamaged), ErrDamaged, ""},
		{"locked", func() error { s := &Service{}; _, err := s.EnrolCard(CardEnrolment{}); return err }(), ErrLocked, ""},
		{"taken code", fmt.Errorf("%w: K7Q3-MX9R-F", store.ErrCodeTaken), ErrCodeTaken, ""},
		{"vault in use", store.ErrLocked, ErrVaultLocked, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil {
				t.Fatal("the engine gave no error")
			}
			t.Log(tt.err)
			c := Classify(tt.err)
			if !errors.Is(c, tt.kind) {
				t.Fatalf("Classify(%v) = %#v, not %v", tt.err, c, tt.kind)
			}
			if c.Error() != tt.err.Error() {
				t.Errorf("text changed: %q, was %q", c, tt.err)
			}
			if !errors.Is(c, tt.err) && !errors.Is(tt.err, c) {
				t.Errorf("the engine's error is lost: %#v", c)
			}
			var e *Error
			if errors.As(c, &e) && e.File != tt.file {
				t.Errorf("file %q, want %q", e.File, tt.file)
			}
			if Classify(c) != c {
				t.Error("classifying twice changes it")
			}
		})
	}
	if Classify(nil) != nil {
		t.Error("Classify(nil) != nil")
	}
	plain := errors.New("something else")
	if Classify(plain) != plain {
		t.Error("an unknown error was wrapped")
	}
}
