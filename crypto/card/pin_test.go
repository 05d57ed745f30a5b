package card

import (
	"errors"
	"testing"
)

func TestCheckNewPINAndPUK(t *testing.T) {
	for _, tc := range []struct {
		pin, puk string
		want     error
	}{
		{"123456", testPUK, ErrDefaultPIN},
		{testPIN, "12345678", ErrDefaultPUK},
		{testPIN, testPIN, ErrPUKIsPIN},
		{testPIN, testPUK, nil},
	} {
		err := checkOptions(EnrolOptions{PIN: defaultPIN, PUK: defaultPUK, NewPIN: tc.pin, NewPUK: tc.puk})
		if !errors.Is(err, tc.want) {
			t.Errorf("PIN %q PUK %q: %v, want %v", tc.pin, tc.puk, err, tc.want)
		}
		noSecret(t, err, tc.pin, tc.puk)
	}
	for _, bad := range []string{"12345", "123456789", "2468 13\x00", "2468135ä", ""} {
		err := checkNewPIN(bad, "")
		if err == nil {
			t.Errorf("new PIN %q accepted", bad)
		}
		if bad != "" {
			noSecret(t, err, bad)
		}
	}
}
