// Package seal encrypts the small values of a Valv compartment (records,
// index entries, audit entries, document metadata) under symmetric keys
// derived from the compartment's secret.
//
// Per-value age encryption costs an X25519 operation per write and per read,
// which is too slow for a hundred thousand records. Instead a [Keyring]
// derives one key per [Purpose] with HKDF-SHA256 and seals each value with
// XChaCha20-Poly1305 under a random 24-byte nonce. The associated data binds
// the format, the purpose, the compartment id, the record id and the record
// version, so a sealed value copied to another compartment, record, version
// or purpose does not open.
//
// The Keyring also derives an HMAC-SHA256 key that chains audit entries
// ([Keyring.ChainLink]) and one for lookup tags ([Keyring.LookupTag]), so
// neither can be recomputed without the compartment key.
//
// The format is specified in SPEC.md next to this file.
package seal

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"runtime"
	"slices"

	"golang.org/x/crypto/chacha20poly1305"
)

// A Purpose says what a sealed value is. Each purpose has its own key, and
// the purpose is also bound into the associated data.
type Purpose uint8

// The purposes. Their numbers are part of the format: never renumber them.
const (
	Record   Purpose = 1 // a customer record
	Index    Purpose = 2 // an index entry
	Audit    Purpose = 3 // an audit log entry
	Document Purpose = 4 // document metadata (file name, type, size)
)

var purposeLabels = [...]string{
	Record:   "valv record v1",
	Index:    "valv index v1",
	Audit:    "valv audit v1",
	Document: "valv document v1",
}

const (
	chainLabel  = "valv audit-chain v1"
	lookupLabel = "valv lookup v1"
)

func (p Purpose) valid() bool { return p >= Record && p <= Document }

// String returns the purpose's name.
func (p Purpose) String() string {
	switch p {
	case Record:
		return "record"
	case Index:
		return "index"
	case Audit:
		return "audit"
	case Document:
		return "document"
	}
	return fmt.Sprintf("Purpose(%d)", uint8(p))
}

const (
	// Format is the first byte of every sealed value.
	Format byte = 0x01

	// Overhead is the number of bytes a sealed value adds to its plaintext:
	// the format byte, the nonce and the Poly1305 tag.
	Overhead = 1 + chacha20poly1305.NonceSizeX + chacha20poly1305.Overhead

	// SecretSize is the minimum size of a compartment secret.
	SecretSize = 32

	// LinkSize is the size of an audit chain link.
	LinkSize = sha256.Size

	// LookupTagSize is the size of a lookup tag.
	LookupTagSize = sha256.Size

	headerSize = 1 + chacha20poly1305.NonceSizeX
	adFixed    = 1 + 1 + 16 + 8 // format, purpose, compartment id, version
)

var (
	// ErrOpen is returned (wrapped) by [Keyring.Open] when a sealed value
	// does not open. The reasons cannot be told apart, by design.
	ErrOpen = errors.New("seal: cannot open sealed value: it was altered or truncated, or it belongs to another compartment, record, version or purpose")

	// ErrUnknownFormat is returned (wrapped) by [Keyring.Open] for a
	// sealed value written by a newer format.
	ErrUnknownFormat = errors.New("seal: sealed value has an unknown format")
)

// A Keyring holds the keys derived from one compartment key. It is safe
// for concurrent use, except that Destroy must not race with other calls.
type Keyring struct {
	id        [16]byte
	aead      [len(purposeLabels)]cipher.AEAD
	chainKey  [32]byte
	lookupKey [32]byte
	destroyed bool
}

// NewKeyring derives the keys of the compartment with the given id from its
// secret (at least [SecretSize] bytes of key material, from
// crypto/compartmentkey). The secret is not retained; the caller may
// [Wipe] it.
func NewKeyring(compartmentSecret []byte, compartmentID [16]byte) (*Keyring, error) {
	if len(compartmentSecret) < SecretSize {
		return nil, fmt.Errorf("seal: compartment secret is %d bytes, need at least %d; pass the secret from the unwrapped compartment key", len(compartmentSecret), SecretSize)
	}
	if compartmentID == [16]byte{} {
		return nil, errors.New("seal: compartment id is all zeros; pass the compartment's random id")
	}
	keys, err := deriveKeys(compartmentSecret, compartmentID)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, key := range keys {
			Wipe(key)
		}
	}()
	k := &Keyring{id: compartmentID}
	for p := Record; p <= Document; p++ {
		if k.aead[p], err = chacha20poly1305.NewX(keys[purposeLabels[p]]); err != nil {
			return nil, fmt.Errorf("seal: %v", err)
		}
	}
	copy(k.chainKey[:], keys[chainLabel])
	copy(k.lookupKey[:], keys[lookupLabel])
	return k, nil
}

// deriveKeys returns the 32-byte key of every label:
//
//	PRK = HKDF-Extract(SHA-256, salt = compartment id, IKM = secret)
//	key = HKDF-Expand(SHA-256, PRK, info = label, L = 32)
func deriveKeys(secret []byte, id [16]byte) (map[string][]byte, error) {
	prk, err := hkdf.Extract(sha256.New, secret, id[:])
	if err != nil {
		return nil, fmt.Errorf("seal: deriving keys: %v", err)
	}
	defer Wipe(prk)
	keys := make(map[string][]byte)
	for _, label := range slices.Concat(purposeLabels[Record:], []string{chainLabel, lookupLabel}) {
		if keys[label], err = hkdf.Expand(sha256.New, prk, label, 32); err != nil {
			return nil, fmt.Errorf("seal: deriving keys: %v", err)
		}
	}
	return keys, nil
}

// CompartmentID returns the id the keyring was derived for.
func (k *Keyring) CompartmentID() [16]byte { return k.id }

// appendAD appends the associated data of a sealed value to b.
func (k *Keyring) appendAD(b []byte, p Purpose, recordID []byte, version uint64) []byte {
	b = append(b, Format, byte(p))
	b = append(b, k.id[:]...)
	b = binary.BigEndian.AppendUint64(b, version)
	return append(b, recordID...)
}

func (k *Keyring) check(p Purpose) {
	k.live()
	if !p.valid() {
		panic(fmt.Sprintf("seal: invalid purpose %d", uint8(p)))
	}
}

// Seal encrypts plaintext as the given version of the record (or index or
// audit entry, …) with the given id, appends the sealed value to dst and
// returns the updated slice. The sealed value is [Overhead] bytes longer
// than plaintext. dst must not overlap plaintext.
//
// Seal panics if p is not one of the defined purposes or the Keyring was
// destroyed: both are programming errors.
func (k *Keyring) Seal(dst []byte, p Purpose, recordID []byte, version uint64, plaintext []byte) []byte {
	k.check(p)
	var adBuf [adFixed + 32]byte
	ad := k.appendAD(adBuf[:0], p, recordID, version)

	out := slices.Grow(dst, Overhead+len(plaintext))
	out = append(out, Format)
	n := len(out)
	out = out[:n+chacha20poly1305.NonceSizeX]
	nonce := out[n:]
	rand.Read(nonce) // never fails, see crypto/rand.Read
	return k.aead[p].Seal(out, nonce, plaintext, ad)
}

// Open decrypts a sealed value made by [Keyring.Seal] with the same
// purpose, record id and version, appends the plaintext to dst and returns
// the updated slice. dst must not overlap sealed.
//
// Any failure wraps [ErrOpen] (or [ErrUnknownFormat]); the error never
// contains key material or plaintext.
func (k *Keyring) Open(dst []byte, p Purpose, recordID []byte, version uint64, sealed []byte) ([]byte, error) {
	if k.destroyed {
		return nil, errors.New("seal: Keyring used after Destroy; unlock the compartment again")
	}
	if !p.valid() {
		return nil, fmt.Errorf("seal: invalid purpose %d", uint8(p))
	}
	if len(sealed) < Overhead {
		return nil, fmt.Errorf("%w (%d bytes, shorter than the %d-byte minimum)", ErrOpen, len(sealed), Overhead)
	}
	if sealed[0] != Format {
		return nil, fmt.Errorf("%w 0x%02x; this version of Valv reads format 0x%02x: upgrade Valv", ErrUnknownFormat, sealed[0], Format)
	}
	var adBuf [adFixed + 32]byte
	ad := k.appendAD(adBuf[:0], p, recordID, version)
	out, err := k.aead[p].Open(dst, sealed[1:headerSize], sealed[headerSize:], ad)
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}

// ChainLink returns the audit chain link of an entry appended to dst:
//
//	HMAC-SHA256(chain key, prev ‖ uint64be(seq) ‖ entry)
//
// where prev is the previous link ([LinkSize] bytes; all zeros before the
// first entry), seq the entry's sequence number and entry its bytes (the
// sealed entry, so the chain can be checked without opening entries).
// ChainLink panics if prev is not LinkSize bytes.
func (k *Keyring) ChainLink(dst, prev []byte, seq uint64, entry []byte) []byte {
	return k.Chainer().Link(dst, prev, seq, entry)
}

// A Chainer computes [Keyring.ChainLink] for many entries in a row with
// one HMAC state, reset between links. That saves keying HMAC-SHA256 (two
// SHA-256 blocks, and its allocations) for every link, about a third of
// the work for an audit entry. A Chainer is not safe for concurrent use.
// [Keyring.Destroy] does not reach it: use one for a batch, then drop it.
type Chainer struct{ m hash.Hash }

// Chainer returns a Chainer with the chain key.
func (k *Keyring) Chainer() *Chainer {
	k.live()
	return &Chainer{hmac.New(sha256.New, k.chainKey[:])}
}

// Link is [Keyring.ChainLink].
func (c *Chainer) Link(dst, prev []byte, seq uint64, entry []byte) []byte {
	if len(prev) != LinkSize {
		panic(fmt.Sprintf("seal: previous chain link is %d bytes, want %d", len(prev), LinkSize))
	}
	c.m.Reset()
	c.m.Write(prev)
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], seq)
	c.m.Write(s[:])
	c.m.Write(entry)
	return c.m.Sum(dst)
}

// live panics if k was destroyed.
func (k *Keyring) live() {
	if k.destroyed {
		panic("seal: Keyring used after Destroy")
	}
}

// VerifyChainLink reports, in constant time, whether link is the chain
// link of entry after prev with sequence number seq.
func (k *Keyring) VerifyChainLink(link, prev []byte, seq uint64, entry []byte) bool {
	if len(prev) != LinkSize {
		return false
	}
	var buf [LinkSize]byte
	return hmac.Equal(link, k.ChainLink(buf[:0], prev, seq, entry))
}

// LookupTag appends to dst a keyed tag of term, for finding a value (by
// customer code, say) without storing the term in the clear:
//
//	HMAC-SHA256(lookup key, uint8(len(kind)) ‖ kind ‖ term)
//
// kind separates kinds of terms ("code", "personnummer"); it must be at
// most 255 bytes, or LookupTag panics. Equal terms of the same kind give
// equal tags, which is the point, and also what a reader of the database
// learns: how often a term occurs, never which term it is.
func (k *Keyring) LookupTag(dst []byte, kind string, term []byte) []byte {
	return k.Tagger().Tag(dst, kind, term)
}

// A Tagger computes [Keyring.LookupTag] for many terms in a row with one
// HMAC state, like [Chainer]. It is not safe for concurrent use, and
// [Keyring.Destroy] does not reach it.
type Tagger struct{ m hash.Hash }

// Tagger returns a Tagger with the lookup key.
func (k *Keyring) Tagger() *Tagger {
	k.live()
	return &Tagger{hmac.New(sha256.New, k.lookupKey[:])}
}

// Tag is [Keyring.LookupTag].
func (t *Tagger) Tag(dst []byte, kind string, term []byte) []byte {
	if len(kind) > 255 {
		panic("seal: lookup kind longer than 255 bytes")
	}
	t.m.Reset()
	t.m.Write([]byte{byte(len(kind))})
	t.m.Write([]byte(kind))
	t.m.Write(term)
	return t.m.Sum(dst)
}

// Destroy wipes the keys the Keyring holds and makes it unusable: Seal,
// ChainLink and LookupTag then panic and Open fails.
//
// This is best effort. Go gives no way to wipe the copies that the
// XChaCha20-Poly1305 and HMAC implementations keep or leave behind on the
// heap; Destroy drops its references to them so the garbage collector can
// reuse the memory.
func (k *Keyring) Destroy() {
	Wipe(k.chainKey[:])
	Wipe(k.lookupKey[:])
	for i := range k.aead {
		k.aead[i] = nil
	}
	k.destroyed = true
}

// Wipe overwrites b with zeros. Use it on key material once it is no
// longer needed. It cannot reach copies made elsewhere (by append, by a
// string conversion, by the garbage collector moving a stack); it only
// makes sure this copy does not linger.
func Wipe(b []byte) {
	clear(b)
	runtime.KeepAlive(b)
}
