//go:build linux && cgo

// Package pcsc is a minimal binding to pcsc-lite (libpcsclite) for the two
// things piv-go cannot do: send an APDU that piv-go has no function for
// (PUT DATA of the ykman admin data object), and watch a reader for card
// removal while piv-go holds the card.
//
// It covers only what package card needs: a context, an exclusive T=1
// connection inside a transaction, short APDUs, status changes and
// cancelling a wait. Like piv-go it links libpcsclite, so the process
// talks to the pcscd named by PCSCLITE_CSOCK_NAME (or the system one).
package pcsc

// #cgo pkg-config: libpcsclite
// #include <stdlib.h>
// #include <PCSC/winscard.h>
// #include <PCSC/wintypes.h>
import "C"

import (
	"errors"
	"fmt"
	"time"
	"unsafe"
)

// Error is a PC/SC return code.
type Error uint32

// Return codes package card tells apart.
const (
	ErrCancelled         Error = 0x80100002
	ErrUnknownReader     Error = 0x80100009
	ErrTimeout           Error = 0x8010000A
	ErrSharingViolation  Error = 0x8010000B
	ErrNoSmartcard       Error = 0x8010000C
	ErrReaderUnavailable Error = 0x80100017
	ErrNoService         Error = 0x8010001D
	ErrNoReaders         Error = 0x8010002E
	ErrResetCard         Error = 0x80100068
	ErrRemovedCard       Error = 0x80100069
)

var messages = map[Error]string{
	ErrCancelled:         "the wait was cancelled",
	ErrUnknownReader:     "the reader is not known to the smart card service",
	ErrTimeout:           "timed out",
	ErrSharingViolation:  "another program is using the card",
	ErrNoSmartcard:       "there is no card in the reader",
	ErrReaderUnavailable: "the reader is unavailable",
	ErrNoService:         "the smart card service (pcscd) is not running",
	ErrNoReaders:         "no smart card reader is connected",
	ErrResetCard:         "the card was reset",
	ErrRemovedCard:       "the card was removed",
}

func (e Error) Error() string {
	if m, ok := messages[e]; ok {
		return "pcsc: " + m
	}
	return fmt.Sprintf("pcsc: error 0x%08x", uint32(e))
}

func check(rc C.LONG) error {
	if rc == C.SCARD_S_SUCCESS {
		return nil
	}
	return Error(uint32(rc))
}

// Context is a connection to the smart card service.
type Context struct {
	h C.SCARDCONTEXT
}

// Establish connects to the smart card service.
func Establish() (*Context, error) {
	var h C.SCARDCONTEXT
	if err := check(C.SCardEstablishContext(C.SCARD_SCOPE_SYSTEM, nil, nil, &h)); err != nil {
		return nil, err
	}
	return &Context{h: h}, nil
}

// Release closes the context. Cards connected through it are disconnected.
func (c *Context) Release() error {
	return check(C.SCardReleaseContext(c.h))
}

// Cancel makes a WaitChange that is blocked on c return ErrCancelled. It
// is the one call that may be made from another goroutine while c is in
// use.
func (c *Context) Cancel() error {
	return check(C.SCardCancel(c.h))
}

// State is a reader's state as SCardGetStatusChange reports it.
type State uint32

// Present reports a card in the reader, and the reader known and available.
func (s State) Present() bool {
	return s&C.SCARD_STATE_PRESENT != 0 &&
		s&(C.SCARD_STATE_EMPTY|C.SCARD_STATE_UNKNOWN|C.SCARD_STATE_UNAVAILABLE) == 0
}

// Events counts the insertions and removals pcsc-lite has seen in the
// reader (the upper 16 bits of the event state, a pcsc-lite extension): a
// card taken out and put back between two looks changes it.
func (s State) Events() uint16 { return uint16(s >> 16) }

// WaitChange waits up to timeout until the reader's state differs from
// known (0 for "unknown": answers at once) and returns the new state. It
// returns ErrTimeout if nothing changed and ErrCancelled after Cancel.
func (c *Context) WaitChange(reader string, known State, timeout time.Duration) (State, error) {
	name := C.CString(reader)
	defer C.free(unsafe.Pointer(name))
	var rs C.SCARD_READERSTATE
	rs.szReader = name
	rs.dwCurrentState = C.DWORD(known)
	ms := timeout.Milliseconds()
	if err := check(C.SCardGetStatusChange(c.h, C.DWORD(ms), &rs, 1)); err != nil {
		return known, err
	}
	return State(rs.dwEventState &^ C.SCARD_STATE_CHANGED), nil
}

// Card is an exclusive connection to a card, inside a transaction.
type Card struct {
	h C.SCARDHANDLE
}

// Connect opens the card in reader exclusively with protocol T=1, as
// piv-go does, and begins a transaction.
func (c *Context) Connect(reader string) (*Card, error) {
	name := C.CString(reader)
	defer C.free(unsafe.Pointer(name))
	var h C.SCARDHANDLE
	var proto C.DWORD
	if err := check(C.SCardConnect(c.h, name, C.SCARD_SHARE_EXCLUSIVE, C.SCARD_PROTOCOL_T1, &h, &proto)); err != nil {
		return nil, err
	}
	if err := check(C.SCardBeginTransaction(h)); err != nil {
		C.SCardDisconnect(h, C.SCARD_LEAVE_CARD)
		return nil, err
	}
	return &Card{h: h}, nil
}

// Close ends the transaction and disconnects. With reset the reader
// resets the card, which makes a YubiKey forget a verified PIN and an
// authenticated management key; without, the card keeps them for the next
// program that connects.
func (k *Card) Close(reset bool) error {
	disp := C.DWORD(C.SCARD_LEAVE_CARD)
	if reset {
		disp = C.SCARD_RESET_CARD
	}
	C.SCardEndTransaction(k.h, C.SCARD_LEAVE_CARD)
	return check(C.SCardDisconnect(k.h, disp))
}

// Transmit sends one APDU and returns the response with its status word.
func (k *Card) Transmit(apdu []byte) ([]byte, error) {
	if len(apdu) == 0 {
		return nil, errors.New("pcsc: empty APDU")
	}
	var resp [C.MAX_BUFFER_SIZE_EXTENDED]byte
	n := C.DWORD(len(resp))
	rc := C.SCardTransmit(k.h, C.SCARD_PCI_T1,
		(*C.BYTE)(unsafe.Pointer(&apdu[0])), C.DWORD(len(apdu)), nil,
		(*C.BYTE)(unsafe.Pointer(&resp[0])), &n)
	if err := check(rc); err != nil {
		return nil, err
	}
	if n < 2 {
		return nil, fmt.Errorf("pcsc: response of %d bytes, too short for a status word", n)
	}
	return append([]byte(nil), resp[:n]...), nil
}
