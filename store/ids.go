package store

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
)

// An ID is a random 16-byte identifier: of a vault, a compartment or a key
// holder. IDs are stored in the clear; they carry no meaning.
type ID [16]byte

// A HolderID names a key holder. The zero HolderID stands for the
// recovery key in the audit log.
type HolderID = ID

// A CompartmentID names a compartment; its file is "<id>.valv".
type CompartmentID = ID

// Recovery is the HolderID that the audit log records for actions done
// with the recovery key.
var Recovery HolderID

func newID() ID {
	var id ID
	for id == (ID{}) {
		rand.Read(id[:])
	}
	return id
}

// String returns the id as 32 lower-case hex digits, or "recovery" for
// the zero id.
func (id ID) String() string {
	if id == (ID{}) {
		return "recovery"
	}
	return hex.EncodeToString(id[:])
}

// Short returns the first 8 hex digits, for display.
func (id ID) Short() string {
	if id == (ID{}) {
		return "recovery"
	}
	return hex.EncodeToString(id[:4])
}

// ParseID reads an id written as 32 hex digits.
func ParseID(s string) (ID, error) {
	var id ID
	s = strings.TrimSpace(s)
	if s == "recovery" {
		return id, nil
	}
	if len(s) != 32 {
		return id, fmt.Errorf("an id has 32 hex digits, %q has %d characters", s, len(s))
	}
	if _, err := hex.Decode(id[:], []byte(strings.ToLower(s))); err != nil {
		return id, fmt.Errorf("%q is not a hex id", s)
	}
	return id, nil
}

// MarshalText implements encoding.TextMarshaler.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (id *ID) UnmarshalText(b []byte) error {
	p, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = p
	return nil
}
