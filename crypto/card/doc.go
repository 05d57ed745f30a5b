// Package card finds key holders' YubiKeys and talks to them through
// piv-go: enrolment, PIN unlock, and the card's keys as an age identity
// and an audit signer.
//
// Cards are told apart by serial number, never by reader name: a reader's
// name depends on the USB port and the driver, and a simulated card can be
// given any name. A card is reported as simulated when its attestation
// certificate was issued by Valv's yubisim rather than by Yubico.
//
// # Layout on the card
//
// Enrolment follows the common layout of ykman and age-plugin-yubikey, so
// that those tools understand the card:
//
//   - PIN and PUK changed from the factory values (which are refused);
//   - a random management key in the PIN-protected object 5FC109, flagged
//     in the admin data object 5FFF00 ("stored on the YubiKey, protected
//     by PIN" in ykman piv info);
//   - the key holder key: P-256, generated on the card, in a retired slot
//     (82–95), PIN policy once, with age-plugin-yubikey's certificate, so
//     that stock age with age-plugin-yubikey decrypts what is wrapped to
//     it (package pivage has the stanza);
//   - the audit signing key: P-256 in 9C, PIN policy once.
//
// # Hardware quirks, and what this package does about them
//
//   - piv-go opens a card exclusively and keeps one PC/SC transaction for
//     the life of a *piv.YubiKey. So a Session blocks every other program
//     (ykman, gpg-agent, a browser) from the card; close it when done.
//     List reports cards open in this process from their session.
//   - A YubiKey keeps a verified PIN and an authenticated management key
//     across PC/SC connections until it is reset or unplugged, and piv-go
//     disconnects without a reset. Session.Close therefore reconnects once
//     and disconnects with a reset.
//   - piv-go cannot send an APDU it has no function for, such as PUT DATA
//     of 5FFF00. Package pcsc (a small cgo binding to libpcsclite) does it
//     on a connection of its own while piv-go's is closed.
//   - Nothing sent through piv-go can tell that the card was pulled while
//     another operation waits for a touch, so removal is watched with
//     SCardGetStatusChange on a separate PC/SC context (Session.Removed).
//   - libpcsclite picks its pcscd socket (PCSCLITE_CSOCK_NAME) once per
//     process: demo mode's in-process simulator (StartSimulator) and a
//     real pcscd cannot be mixed in one process.
//   - A touch policy makes the card wait, up to 15 seconds, for a touch
//     before each decryption or signature (with "cached", one touch covers
//     15 seconds); the Session's other operations wait meanwhile.
//
// The pcsc binding exists for Linux only; elsewhere Open fails (it cannot
// watch for removal).
package card
