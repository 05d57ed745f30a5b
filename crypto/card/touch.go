package card

import (
	"fmt"

	"github.com/go-piv/piv-go/v2/piv"
)

// Touch is the touch policy of the keys enrolment generates: whether the
// YubiKey waits for a touch of its contact before it uses the key.
type Touch int

const (
	// TouchCached, the default: a touch is needed, but one touch covers
	// every use of the key in the next 15 seconds. Unlocking decrypts
	// all of a holder's compartment keys in one go, so the holder
	// touches once per unlock, and malware that later finds the card
	// unlocked cannot use it unnoticed. (age-plugin-yubikey's default
	// is "always", a touch per decryption.)
	TouchCached Touch = iota
	// TouchNever: the PIN alone.
	TouchNever
	// TouchAlways: a touch for every decryption and signature.
	TouchAlways
)

func (t Touch) String() string {
	switch t {
	case TouchCached:
		return "cached"
	case TouchNever:
		return "never"
	case TouchAlways:
		return "always"
	}
	return fmt.Sprintf("Touch(%d)", int(t))
}

// code is the PIV touch policy byte, as in the policy extension.
func (t Touch) code() byte {
	switch t {
	case TouchNever:
		return 0x01
	case TouchAlways:
		return 0x02
	}
	return 0x03
}

func (t Touch) piv() piv.TouchPolicy {
	switch t {
	case TouchNever:
		return piv.TouchPolicyNever
	case TouchAlways:
		return piv.TouchPolicyAlways
	}
	return piv.TouchPolicyCached
}
