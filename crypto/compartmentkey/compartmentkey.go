// Package compartmentkey makes, wraps and unwraps compartment keys.
//
// Every compartment (one customer group, one bbolt file) has its own key,
// made of three parts:
//
//   - a random 16-byte compartment id, which is public and stored in the
//     clear;
//   - an age X25519 identity: files are age streams to its recipient, and
//     anything encrypted to the recipient can be imported while the
//     compartment is locked ("sealed intake");
//   - a random 32-byte secret from which crypto/seal derives the keys that
//     seal records, index and audit entries.
//
// The key is stored only wrapped: age-encrypted ([Wrap]) to the key holders
// who are granted the compartment (age-plugin-yubikey "piv-p256" recipients
// from crypto/pivage) and to the vault's recovery recipient. Granting
// re-wraps the same key to one more recipient ([Rewrap]); revoking makes a
// new key for the same compartment ([Rotate]), wraps it to the remaining
// holders, and re-encrypts the compartment's data (the store's job).
//
// The wrapped plaintext is an age identity file with the compartment id
// and seal secret in comment lines, so that with the recovery identity the
// stock age command line can unwrap it and then decrypt the compartment's
// files. The format is described in SPEC.md next to this file.
package compartmentkey

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"
	"github.com/valv-vault/valv/crypto/seal"
)

const (
	// IDSize is the size of a compartment id.
	IDSize = 16

	// SecretSize is the size of the seal secret.
	SecretSize = 32

	// maxWrappedSize bounds what Unwrap accepts: a header with a few dozen
	// recipient stanzas and a payload of some 200 bytes.
	maxWrappedSize = 256 << 10
	maxPayloadSize = 4 << 10

	headerLine = "# valv compartment key v1"
	idPrefix   = "# compartment: "
	sealPrefix = "# seal-secret: "
)

var (
	// ErrNotGranted is returned by Unwrap when none of the identities can
	// open the wrapped key.
	ErrNotGranted = errors.New("compartmentkey: none of the given keys can open this compartment key: it was not granted to them, or access was revoked")

	// ErrWrongCompartment is returned by UnwrapFor when the wrapped key
	// belongs to another compartment.
	ErrWrongCompartment = errors.New("compartmentkey: the wrapped key belongs to another compartment; the compartment file was edited or mixed up")
)

// A Key is an unwrapped compartment key.
type Key struct {
	id       [IDSize]byte
	identity *age.X25519Identity
	secret   [SecretSize]byte
}

// New makes the key of a new compartment, with a random id.
func New() (*Key, error) {
	var id [IDSize]byte
	for id == [IDSize]byte{} {
		rand.Read(id[:])
	}
	return newKey(id)
}

// Rotate makes a fresh key for the compartment of old: the same id, a new
// identity and a new seal secret. Nothing sealed or encrypted under old
// opens with it; the caller re-encrypts the compartment's data and wraps
// the new key to the remaining key holders.
func Rotate(old *Key) (*Key, error) {
	if old == nil {
		return nil, errors.New("compartmentkey: Rotate called with a nil key")
	}
	return newKey(old.id)
}

func newKey(id [IDSize]byte) (*Key, error) {
	identity, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, fmt.Errorf("compartmentkey: generating identity: %v", err)
	}
	k := &Key{id: id, identity: identity}
	rand.Read(k.secret[:])
	return k, nil
}

// ID returns the compartment id.
func (k *Key) ID() [IDSize]byte { return k.id }

// Recipient returns the compartment's public recipient: files are
// encrypted to it, and so is data for sealed intake.
func (k *Key) Recipient() *age.X25519Recipient { return k.identity.Recipient() }

// Identity returns the compartment's age identity, which decrypts files
// encrypted to [Key.Recipient].
func (k *Key) Identity() *age.X25519Identity { return k.identity }

// Keyring derives the compartment's sealing keys (crypto/seal).
func (k *Key) Keyring() (*seal.Keyring, error) {
	if k.secret == [SecretSize]byte{} {
		return nil, errors.New("compartmentkey: key was destroyed; unwrap it again")
	}
	return seal.NewKeyring(k.secret[:], k.id)
}

// String names the compartment by id. It never prints key material.
func (k *Key) String() string { return "compartment key " + hex.EncodeToString(k.id[:]) }

// Destroy wipes the seal secret. The age identity cannot be wiped (Go and
// the age package keep copies out of reach); drop all references to k.
func (k *Key) Destroy() {
	seal.Wipe(k.secret[:])
}

// Equal reports whether k and o are the same key: the same compartment,
// identity (compared by its public recipient) and seal secret (compared in
// constant time).
func (k *Key) Equal(o *Key) bool {
	return k.id == o.id &&
		k.Recipient().String() == o.Recipient().String() &&
		subtle.ConstantTimeCompare(k.secret[:], o.secret[:]) == 1
}

// marshal returns the wrapped plaintext (see SPEC.md).
func (k *Key) marshal() []byte {
	var b bytes.Buffer
	b.WriteString(headerLine + "\n")
	b.WriteString(idPrefix + hex.EncodeToString(k.id[:]) + "\n")
	b.WriteString(sealPrefix + hex.EncodeToString(k.secret[:]) + "\n")
	b.WriteString(k.identity.String() + "\n")
	return b.Bytes()
}

// parse reads the wrapped plaintext strictly. Errors never quote it.
func parse(p []byte) (*Key, error) {
	bad := func(what string) error {
		return fmt.Errorf("compartmentkey: unwrapped key is malformed (%s); the wrapped key was not made by this version of Valv", what)
	}
	if len(p) == 0 || p[len(p)-1] != '\n' {
		return nil, bad("missing final newline")
	}
	lines := strings.Split(string(p[:len(p)-1]), "\n")
	if len(lines) != 4 {
		return nil, bad(fmt.Sprintf("%d lines, want 4", len(lines)))
	}
	if lines[0] != headerLine {
		return nil, bad("unknown first line")
	}
	var k Key
	if err := decodeHexLine(k.id[:], lines[1], idPrefix); err != nil {
		return nil, bad("compartment id: " + err.Error())
	}
	if k.id == [IDSize]byte{} {
		return nil, bad("compartment id is zero")
	}
	if err := decodeHexLine(k.secret[:], lines[2], sealPrefix); err != nil {
		return nil, bad("seal secret: " + err.Error())
	}
	if !strings.HasPrefix(lines[3], "AGE-SECRET-KEY-1") {
		return nil, bad("no age secret key")
	}
	id, err := age.ParseX25519Identity(lines[3])
	if err != nil {
		k.Destroy()
		return nil, bad("invalid age secret key")
	}
	k.identity = id
	return &k, nil
}

func decodeHexLine(dst []byte, line, prefix string) error {
	s, ok := strings.CutPrefix(line, prefix)
	if !ok {
		return errors.New("wrong label")
	}
	if len(s) != hex.EncodedLen(len(dst)) || strings.ToLower(s) != s {
		return errors.New("not lower-case hex of the right length")
	}
	if _, err := hex.Decode(dst, []byte(s)); err != nil {
		return errors.New("not hex")
	}
	return nil
}

// Wrap age-encrypts k to the recipients: the key holders granted the
// compartment and the vault's recovery recipient. Those, and only those,
// can [Unwrap] it.
func Wrap(k *Key, recipients ...age.Recipient) ([]byte, error) {
	if k == nil || k.identity == nil {
		return nil, errors.New("compartmentkey: Wrap called with a nil key")
	}
	if k.secret == [SecretSize]byte{} {
		return nil, errors.New("compartmentkey: key was destroyed; unwrap it again")
	}
	if len(recipients) == 0 {
		return nil, errors.New("compartmentkey: no recipients; wrap to the granted key holders and the recovery key")
	}
	var out bytes.Buffer
	w, err := age.Encrypt(&out, recipients...)
	if err != nil {
		return nil, fmt.Errorf("compartmentkey: wrapping: %w", err)
	}
	p := k.marshal()
	defer clear(p)
	if _, err := w.Write(p); err != nil {
		return nil, fmt.Errorf("compartmentkey: wrapping: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("compartmentkey: wrapping: %w", err)
	}
	return out.Bytes(), nil
}

// Unwrap opens a wrapped key with any of the identities (a key holder's
// YubiKey through crypto/pivage, or the recovery identity). If none can,
// the error is [ErrNotGranted]. Prefer [UnwrapFor], which also checks the
// compartment id.
func Unwrap(wrapped []byte, identities ...age.Identity) (*Key, error) {
	if len(identities) == 0 {
		return nil, errors.New("compartmentkey: no identities to unwrap with")
	}
	if len(wrapped) > maxWrappedSize {
		return nil, fmt.Errorf("compartmentkey: wrapped key is %d bytes, more than the %d KiB limit; the compartment file is damaged", len(wrapped), maxWrappedSize>>10)
	}
	r, err := age.Decrypt(bytes.NewReader(wrapped), identities...)
	var noMatch *age.NoIdentityMatchError
	if errors.As(err, &noMatch) {
		return nil, ErrNotGranted
	}
	if err != nil {
		return nil, fmt.Errorf("compartmentkey: unwrapping: %w", err)
	}
	p, err := io.ReadAll(io.LimitReader(r, maxPayloadSize+1))
	defer clear(p)
	if err != nil {
		return nil, fmt.Errorf("compartmentkey: unwrapping: %v (the wrapped key is damaged)", err)
	}
	if len(p) > maxPayloadSize {
		return nil, errors.New("compartmentkey: unwrapped key is too large; the wrapped key was not made by Valv")
	}
	return parse(p)
}

// UnwrapFor is [Unwrap] for the compartment with the given id: a wrapped
// key of any other compartment gives [ErrWrongCompartment].
func UnwrapFor(id [IDSize]byte, wrapped []byte, identities ...age.Identity) (*Key, error) {
	k, err := Unwrap(wrapped, identities...)
	if err != nil {
		return nil, err
	}
	if k.id != id {
		k.Destroy()
		return nil, ErrWrongCompartment
	}
	return k, nil
}

// Rewrap unwraps a key with identity and wraps the same key to a new list
// of recipients: this is how a compartment is granted to one more key
// holder. The list replaces the old one, so it must again include the
// existing holders and the recovery recipient. To take a holder off, use
// [Rotate] instead: a rewrapped key is the same key, which the removed
// holder may have kept.
func Rewrap(wrapped []byte, identity age.Identity, recipients ...age.Recipient) ([]byte, error) {
	k, err := Unwrap(wrapped, identity)
	if err != nil {
		return nil, err
	}
	defer k.Destroy()
	return Wrap(k, recipients...)
}
