// Package yubisim is a software PIV smart-card applet that answers like a
// YubiKey 5 (firmware 5.7.1 by default), for tests and the demo mode.
//
// Its keys are ordinary software keys held in memory and, with
// Config.StatePath, in a plain file. It is NOT secure and proves nothing:
// no tamper resistance, no touch, keys readable by anyone who can read the
// process or the file, an attestation certificate that chains to no Yubico
// root. Its attestation certificate carries the Organization
// AttestationOrganization so that the application can tell a simulated card
// from a real one.
//
// A Card takes command APDUs through Transmit and answers response APDUs,
// the way a card in a reader does. A transport (vpcd under pcscd, or the
// in-process PC/SC server) puts it in front of piv-go, ykman or OpenSC.
//
// README.md in this directory lists the commands, the status words and
// where the simulator differs from a real YubiKey.
package yubisim
