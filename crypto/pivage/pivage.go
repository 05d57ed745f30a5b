package pivage

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"filippo.io/age"
	"golang.org/x/crypto/chacha20poly1305"
)

const (
	// StanzaType is the type of the age recipient stanza.
	StanzaType = "piv-p256"

	// TagSize is the size of a recipient tag: the first bytes of SHA-256
	// over the recipient's compressed point.
	TagSize = 4

	// FirstRetiredSlot and LastRetiredSlot bound the PIV "retired key
	// management" slots, the only slots age-plugin-yubikey uses.
	FirstRetiredSlot = 0x82
	LastRetiredSlot  = 0x95

	recipientHRP = "age1yubikey"
	identityHRP  = "AGE-PLUGIN-YUBIKEY-"
	hkdfInfo     = "piv-p256"

	pointSize      = 33 // compressed SEC 1 P-256 point
	fileKeySize    = 16 // age file keys are always 16 bytes
	bodySize       = fileKeySize + chacha20poly1305.Overhead
	stubSize       = 4 + 1 + TagSize // serial, slot, tag
	sharedKeySize  = 32              // x coordinate of the ECDH result
	tagArgLen      = 6               // base64 of TagSize bytes, no padding
	pointArgLen    = 44              // base64 of pointSize bytes, no padding
	uncompressedSz = 65
)

// b64 is the encoding of age stanza arguments: standard alphabet, no
// padding, canonical trailing bits.
var b64 = base64.RawStdEncoding.Strict()

// A Recipient is an age-plugin-yubikey "piv-p256" recipient: a P-256 public
// key, usually of a key generated on a YubiKey in a retired PIV slot.
type Recipient struct {
	pub        *ecdh.PublicKey
	compressed [pointSize]byte
	tag        [TagSize]byte

	// newEphemeral, if set, replaces the random ephemeral key. Tests only.
	newEphemeral func() (*ecdh.PrivateKey, error)
}

var _ age.Recipient = (*Recipient)(nil)

// NewRecipient returns the recipient for a P-256 public key, given as an
// *ecdh.PublicKey or an *ecdsa.PublicKey (what piv-go and x509 return).
func NewRecipient(pub crypto.PublicKey) (*Recipient, error) {
	var k *ecdh.PublicKey
	switch p := pub.(type) {
	case *ecdh.PublicKey:
		k = p
	case *ecdsa.PublicKey:
		if p.Curve != elliptic.P256() {
			return nil, errors.New("pivage: public key is not on P-256; age-plugin-yubikey supports only P-256 slots")
		}
		var err error
		if k, err = p.ECDH(); err != nil {
			return nil, fmt.Errorf("pivage: invalid P-256 public key: %v", err)
		}
	default:
		return nil, fmt.Errorf("pivage: unsupported public key type %T; want a P-256 *ecdh.PublicKey or *ecdsa.PublicKey", pub)
	}
	if k == nil || k.Curve() != ecdh.P256() {
		return nil, errors.New("pivage: public key is not on P-256; age-plugin-yubikey supports only P-256 slots")
	}
	r := &Recipient{pub: k, compressed: compress(k)}
	sum := sha256.Sum256(r.compressed[:])
	copy(r.tag[:], sum[:TagSize])
	return r, nil
}

// ParseRecipient parses an "age1yubikey1…" recipient string.
func ParseRecipient(s string) (*Recipient, error) {
	hrp, data, err := bech32Decode(s)
	if err != nil {
		return nil, fmt.Errorf("pivage: malformed recipient %q: %v", s, err)
	}
	if strings.ToLower(hrp) != recipientHRP {
		return nil, fmt.Errorf("pivage: %q is not an age-plugin-yubikey recipient (they start with %q)", s, recipientHRP+"1")
	}
	pub, err := decompress(data)
	if err != nil {
		return nil, fmt.Errorf("pivage: malformed recipient %q: %v", s, err)
	}
	return NewRecipient(pub)
}

// String returns the "age1yubikey1…" encoding of r.
func (r *Recipient) String() string {
	s, _ := bech32Encode(recipientHRP, r.compressed[:])
	return s
}

// Tag returns the four-byte tag that stanzas for r carry, and that an
// "AGE-PLUGIN-YUBIKEY-1…" identity string records.
func (r *Recipient) Tag() [TagSize]byte { return r.tag }

// PublicKey returns the recipient's P-256 public key.
func (r *Recipient) PublicKey() *ecdh.PublicKey { return r.pub }

// Wrap implements [age.Recipient]. It returns one "piv-p256" stanza.
func (r *Recipient) Wrap(fileKey []byte) ([]*age.Stanza, error) {
	if len(fileKey) != fileKeySize {
		return nil, fmt.Errorf("pivage: file key is %d bytes; age file keys are %d bytes", len(fileKey), fileKeySize)
	}
	var esk *ecdh.PrivateKey
	var err error
	if r.newEphemeral != nil {
		esk, err = r.newEphemeral()
	} else {
		esk, err = ecdh.P256().GenerateKey(rand.Reader)
	}
	if err != nil {
		return nil, fmt.Errorf("pivage: generating ephemeral key: %v", err)
	}
	shared, err := esk.ECDH(r.pub)
	if err != nil {
		return nil, fmt.Errorf("pivage: ECDH with recipient failed: %v", err)
	}
	epk := compress(esk.PublicKey())
	body, err := sealFileKey(shared, epk[:], r.compressed[:], fileKey)
	clear(shared)
	if err != nil {
		return nil, err
	}
	return []*age.Stanza{{
		Type: StanzaType,
		Args: []string{b64.EncodeToString(r.tag[:]), b64.EncodeToString(epk[:])},
		Body: body,
	}}, nil
}

// A KeyAgreer is a P-256 private key that can perform ECDH. It may live on
// a card.
//
// *ecdh.PrivateKey (a software key) and *piv.ECDSAPrivateKey from
// github.com/go-piv/piv-go/v2 (a YubiKey slot, which asks for the PIN
// through its KeyAuth as needed) both implement it. Public must return a
// P-256 *ecdh.PublicKey or *ecdsa.PublicKey. ECDH is called with a valid
// P-256 point and must return the 32-byte x coordinate of the shared point.
type KeyAgreer interface {
	Public() crypto.PublicKey
	ECDH(peer *ecdh.PublicKey) ([]byte, error)
}

// An Identity decrypts "piv-p256" stanzas with a [KeyAgreer].
type Identity struct {
	key       KeyAgreer
	recipient *Recipient
}

var _ age.Identity = (*Identity)(nil)

// NewIdentity returns an identity for k. It does not call k.ECDH.
func NewIdentity(k KeyAgreer) (*Identity, error) {
	if k == nil {
		return nil, errors.New("pivage: NewIdentity called with a nil key")
	}
	r, err := NewRecipient(k.Public())
	if err != nil {
		return nil, err
	}
	return &Identity{key: k, recipient: r}, nil
}

// Recipient returns the recipient that i decrypts for.
func (i *Identity) Recipient() *Recipient { return i.recipient }

// Unwrap implements [age.Identity].
//
// Stanzas of other types are ignored. A "piv-p256" stanza that is
// structurally invalid (wrong number of arguments, bad base64, wrong
// lengths, a point not on the curve) is a fatal error for the whole file,
// as in age-plugin-yubikey. Only stanzas whose tag matches i's key reach
// the KeyAgreer, so a card is asked for an ECDH (and possibly a PIN or a
// touch) only for stanzas meant for it. If none matches, or none of the
// matching ones decrypts, Unwrap returns an error wrapping
// [age.ErrIncorrectIdentity]. An error from the KeyAgreer (card removed,
// PIN blocked) is returned as is, wrapped.
func (i *Identity) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	var mine []*stanza
	for n, s := range stanzas {
		if s == nil || s.Type != StanzaType {
			continue
		}
		st, err := parseStanza(s)
		if err != nil {
			return nil, fmt.Errorf("pivage: recipient stanza %d (piv-p256) is malformed: %v; the file is damaged or was not written by age-plugin-yubikey", n, err)
		}
		if subtle.ConstantTimeCompare(st.tag[:], i.recipient.tag[:]) == 1 {
			mine = append(mine, st)
		}
	}
	if len(mine) == 0 {
		return nil, age.ErrIncorrectIdentity
	}
	// A real file has one stanza per recipient; two with this key's tag
	// is already a 1-in-4-billion tag clash. More is a crafted file that
	// would keep the card busy (or waiting for a touch) for each one.
	if len(mine) > maxMatchingStanzas {
		return nil, fmt.Errorf("pivage: %d piv-p256 stanzas carry this key's tag; a file has at most %d: it was crafted or damaged", len(mine), maxMatchingStanzas)
	}
	for _, st := range mine {
		shared, err := i.key.ECDH(st.epk)
		if err != nil {
			return nil, fmt.Errorf("pivage: ECDH with the identity's key failed: %w", err)
		}
		if len(shared) != sharedKeySize {
			clear(shared)
			return nil, fmt.Errorf("pivage: ECDH returned %d bytes, want %d; the key is not a P-256 key", len(shared), sharedKeySize)
		}
		fileKey, err := openFileKey(shared, st.epkBytes[:], i.recipient.compressed[:], st.body)
		clear(shared)
		if err == nil {
			return fileKey, nil
		}
	}
	return nil, fmt.Errorf("%w: a piv-p256 stanza carries this key's tag but does not decrypt with it (the file is damaged, or another key shares the 4-byte tag)", age.ErrIncorrectIdentity)
}

// maxMatchingStanzas bounds the card operations one Unwrap may cause.
const maxMatchingStanzas = 2

type stanza struct {
	tag      [TagSize]byte
	epkBytes [pointSize]byte
	epk      *ecdh.PublicKey
	body     []byte
}

// parseStanza validates a "piv-p256" stanza. Its errors describe the
// structure only; stanza bytes are not secret, but they are not echoed
// either.
func parseStanza(s *age.Stanza) (*stanza, error) {
	if len(s.Args) != 2 {
		return nil, fmt.Errorf("%d arguments, want 2", len(s.Args))
	}
	var st stanza
	if err := decodeArg(st.tag[:], s.Args[0], tagArgLen); err != nil {
		return nil, fmt.Errorf("tag argument: %v", err)
	}
	if err := decodeArg(st.epkBytes[:], s.Args[1], pointArgLen); err != nil {
		return nil, fmt.Errorf("ephemeral key argument: %v", err)
	}
	epk, err := decompress(st.epkBytes[:])
	if err != nil {
		return nil, fmt.Errorf("ephemeral key argument: %v", err)
	}
	st.epk = epk
	if len(s.Body) != bodySize {
		return nil, fmt.Errorf("body is %d bytes, want %d", len(s.Body), bodySize)
	}
	st.body = s.Body
	return &st, nil
}

// decodeArg decodes exactly len(dst) bytes from an unpadded base64 argument
// of exactly wantLen characters.
func decodeArg(dst []byte, arg string, wantLen int) error {
	if len(arg) != wantLen {
		return fmt.Errorf("%d characters, want %d", len(arg), wantLen)
	}
	// The base64 decoder skips CR and LF; age arguments never contain them.
	if strings.ContainsAny(arg, "\r\n") {
		return errors.New("contains a line break")
	}
	n, err := b64.Decode(dst, []byte(arg))
	if err != nil {
		return errors.New("not canonical unpadded base64")
	}
	if n != len(dst) {
		return fmt.Errorf("decodes to %d bytes, want %d", n, len(dst))
	}
	return nil
}

func wrapKey(shared, epk, recipient []byte) ([]byte, error) {
	salt := make([]byte, 0, 2*pointSize)
	salt = append(salt, epk...)
	salt = append(salt, recipient...)
	return hkdf.Key(sha256.New, shared, salt, hkdfInfo, chacha20poly1305.KeySize)
}

var zeroNonce [chacha20poly1305.NonceSize]byte

func sealFileKey(shared, epk, recipient, fileKey []byte) ([]byte, error) {
	key, err := wrapKey(shared, epk, recipient)
	if err != nil {
		return nil, fmt.Errorf("pivage: deriving wrapping key: %v", err)
	}
	defer clear(key)
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		return nil, fmt.Errorf("pivage: %v", err)
	}
	return aead.Seal(nil, zeroNonce[:], fileKey, nil), nil
}

func openFileKey(shared, epk, recipient, body []byte) ([]byte, error) {
	key, err := wrapKey(shared, epk, recipient)
	if err != nil {
		return nil, fmt.Errorf("pivage: deriving wrapping key: %v", err)
	}
	defer clear(key)
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		return nil, fmt.Errorf("pivage: %v", err)
	}
	return aead.Open(nil, zeroNonce[:], body, nil)
}

// compress returns the compressed SEC 1 encoding of a P-256 public key.
func compress(pub *ecdh.PublicKey) [pointSize]byte {
	u := pub.Bytes() // 0x04 || X || Y
	var c [pointSize]byte
	c[0] = 0x02 | u[uncompressedSz-1]&1
	copy(c[1:], u[1:pointSize])
	return c
}

// decompress parses a compressed SEC 1 P-256 point, rejecting anything else
// (uncompressed and hybrid encodings, points not on the curve).
func decompress(c []byte) (*ecdh.PublicKey, error) {
	if len(c) != pointSize {
		return nil, fmt.Errorf("point is %d bytes, want %d (compressed P-256)", len(c), pointSize)
	}
	if c[0] != 0x02 && c[0] != 0x03 {
		return nil, errors.New("point is not in compressed form")
	}
	x, y := elliptic.UnmarshalCompressed(elliptic.P256(), c)
	if x == nil {
		return nil, errors.New("point is not on the P-256 curve")
	}
	u := make([]byte, uncompressedSz)
	u[0] = 0x04
	x.FillBytes(u[1:pointSize])
	y.FillBytes(u[pointSize:])
	pub, err := ecdh.P256().NewPublicKey(u)
	if err != nil {
		return nil, errors.New("point is not a valid P-256 public key")
	}
	return pub, nil
}

// EncodeIdentity returns the "AGE-PLUGIN-YUBIKEY-1…" identity string that
// age-plugin-yubikey prints for the key pub in the given slot (0x82–0x95)
// of the YubiKey with the given serial number.
//
// The string holds no secret: it names the card, the slot and the key's
// tag, and age passes it to age-plugin-yubikey, which finds the card.
func EncodeIdentity(serial uint32, slot byte, pub crypto.PublicKey) (string, error) {
	r, err := NewRecipient(pub)
	if err != nil {
		return "", err
	}
	return encodeStub(serial, slot, r.tag)
}

func encodeStub(serial uint32, slot byte, tag [TagSize]byte) (string, error) {
	if slot < FirstRetiredSlot || slot > LastRetiredSlot {
		return "", fmt.Errorf("pivage: slot 0x%02x is not a retired slot (0x%02x–0x%02x)", slot, FirstRetiredSlot, LastRetiredSlot)
	}
	b := make([]byte, 0, stubSize)
	b = binary.LittleEndian.AppendUint32(b, serial)
	b = append(b, slot)
	b = append(b, tag[:]...)
	return bech32Encode(identityHRP, b)
}

// ParseIdentity parses an "AGE-PLUGIN-YUBIKEY-1…" identity string into the
// YubiKey serial number, the slot and the tag of the key in that slot.
// Compare the tag with [Recipient.Tag] of the key found in the slot before
// using it: age-plugin-yubikey refuses a slot whose key does not match.
func ParseIdentity(s string) (serial uint32, slot byte, tag [TagSize]byte, err error) {
	hrp, data, err := bech32Decode(s)
	if err != nil {
		return 0, 0, tag, fmt.Errorf("pivage: malformed identity string: %v", err)
	}
	if strings.ToUpper(hrp) != identityHRP {
		return 0, 0, tag, fmt.Errorf("pivage: not an age-plugin-yubikey identity (they start with %q)", identityHRP+"1")
	}
	if len(data) != stubSize {
		return 0, 0, tag, fmt.Errorf("pivage: malformed identity string: %d data bytes, want %d", len(data), stubSize)
	}
	serial = binary.LittleEndian.Uint32(data[0:4])
	slot = data[4]
	if slot < FirstRetiredSlot || slot > LastRetiredSlot {
		return 0, 0, tag, fmt.Errorf("pivage: identity names slot 0x%02x, which is not a retired slot (0x%02x–0x%02x)", slot, FirstRetiredSlot, LastRetiredSlot)
	}
	copy(tag[:], data[5:])
	return serial, slot, tag, nil
}
