// Package pivage implements the age recipient and identity of
// age-plugin-yubikey (v0.5.0): the "piv-p256" stanza, the "age1yubikey1…"
// recipient and the "AGE-PLUGIN-YUBIKEY-1…" identity string.
//
// A file wrapped with [Recipient] can be decrypted by the stock age (or rage)
// command line with age-plugin-yubikey installed, and [Identity] decrypts
// what age-plugin-yubikey wrote, with no plugin process involved.
//
// [Identity] does not talk to a card itself. It is built from a [KeyAgreer],
// which both a software key (*ecdh.PrivateKey, for tests and the demo mode)
// and a YubiKey slot opened with piv-go (*piv.ECDSAPrivateKey) satisfy, so
// the same code path runs with and without hardware.
//
// The format is specified in SPEC.md next to this file. In short: an
// ephemeral P-256 ECDH with the recipient key, HKDF-SHA256 keyed by the
// shared x coordinate and salted with both compressed points, and
// ChaCha20-Poly1305 with a zero nonce over the 16-byte file key. Each
// stanza carries the first four bytes of SHA-256 of the recipient's
// compressed point so that an identity only asks the card for an ECDH
// (and possibly a PIN or a touch) when the stanza is meant for it.
//
// age's own "p256tag" stanza (filippo.io/age/tag) is a different format and
// is not implemented here.
package pivage
