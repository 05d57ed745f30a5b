// Package simulatortest tests card.StartSimulator, the in-process simulated
// card of demo mode, in a test process of its own: libpcsclite talks to one
// socket per process, and package card's own tests use a real pcscd
// (crypto/yubisim/pcsctest).
package simulatortest
