package card

import (
	"errors"
	"fmt"

	"github.com/go-piv/piv-go/v2/piv"
	"github.com/valv-vault/valv/crypto/pivage"
)

// SlotInUseError means enrolment would overwrite a key.
type SlotInUseError struct {
	Slot byte
}

func (e *SlotInUseError) Error() string {
	if e.Slot == 0x9c {
		return "slot 9c (signature) of this YubiKey already holds a key, and Valv keeps its audit signing key there: force the enrolment to overwrite it (that key is then lost for good), or enrol another card"
	}
	return fmt.Sprintf("slot %02x of this YubiKey already holds a key: choose another slot, or force the enrolment to overwrite it (that key is then lost for good)", e.Slot)
}

// ErrNoFreeSlot means all twenty retired slots hold keys.
var ErrNoFreeSlot = errors.New("all retired slots (82–95) of this YubiKey hold keys: free one with `ykman piv keys delete`, or name a slot and force the enrolment")

// chooseSlot returns the requested retired slot if it is free (or forced),
// else the first free one. s.mu must be held.
func (s *Session) chooseSlot(want byte, force bool) (piv.Slot, error) {
	if want != 0 {
		slot, _ := piv.RetiredKeyManagementSlot(uint32(want))
		if force {
			return slot, nil
		}
		used, err := s.slotUsed(slot)
		if err != nil {
			return piv.Slot{}, err
		}
		if used {
			return piv.Slot{}, &SlotInUseError{Slot: want}
		}
		return slot, nil
	}
	for k := pivage.FirstRetiredSlot; k <= pivage.LastRetiredSlot; k++ {
		slot, _ := piv.RetiredKeyManagementSlot(uint32(k))
		used, err := s.slotUsed(slot)
		if err != nil {
			return piv.Slot{}, err
		}
		if !used {
			return slot, nil
		}
	}
	return piv.Slot{}, ErrNoFreeSlot
}

// slotUsed reports a key (from the key metadata, firmware 5.3 and later)
// or anything in the certificate object of the slot. Before 5.3 a key
// without a certificate cannot be seen. s.mu must be held.
func (s *Session) slotUsed(slot piv.Slot) (bool, error) {
	if s.atLeast(5, 3) {
		_, err := s.yk.KeyInfo(slot)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, piv.ErrNotFound) {
			return false, s.cardErr(fmt.Errorf("reading the key metadata of slot %s: %w", slot, err))
		}
	}
	_, err := s.yk.Certificate(slot)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, piv.ErrNotFound):
		return false, nil
	case isRemoved(err):
		return false, s.cardErr(err)
	}
	return true, nil // an object that is not a certificate: occupied all the same
}
