//go:build !(linux && cgo)

package pcsc

import (
	"errors"
	"time"
)

// Error is a PC/SC return code.
type Error uint32

func (e Error) Error() string { return "pcsc: not available on this system" }

// Return codes package card tells apart.
const (
	ErrCancelled   Error = 0x80100002
	ErrTimeout     Error = 0x8010000A
	ErrRemovedCard Error = 0x80100069
)

var errUnsupported = errors.New("pcsc: this build of Valv talks to pcsc-lite on Linux only")

// Context is a connection to the smart card service.
type Context struct{}

// Establish fails: only the Linux build links pcsc-lite.
func Establish() (*Context, error) { return nil, errUnsupported }

// Release does nothing.
func (c *Context) Release() error { return nil }

// Cancel does nothing.
func (c *Context) Cancel() error { return nil }

// State is a reader's state.
type State uint32

// Present reports a card in the reader.
func (s State) Present() bool { return false }

// Events counts insertions and removals.
func (s State) Events() uint16 { return 0 }

// WaitChange fails.
func (c *Context) WaitChange(string, State, time.Duration) (State, error) {
	return 0, errUnsupported
}

// Card is a connection to a card.
type Card struct{}

// Connect fails.
func (c *Context) Connect(string) (*Card, error) { return nil, errUnsupported }

// Close does nothing.
func (k *Card) Close(bool) error { return nil }

// Transmit fails.
func (k *Card) Transmit([]byte) ([]byte, error) { return nil, errUnsupported }
