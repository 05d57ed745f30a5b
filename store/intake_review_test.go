package store

import (
	"context"
	"errors"
	"slices"
	"testing"
)

// Attacks of the November 2026 second review (docs/security-review-2026-11-round2.md)
// on sealed intake.

// TestIntakeDamagedCopyDoesNotBlockOriginal (R2-M1): a copy of a sealed
// file whose content was altered after the sealed header (a flipped bit
// on the way, or on purpose by whoever carried it) cannot be told apart
// without a key and is imported. Its key holder finds it damaged and
// discards it; the sender's good copy must then still import, not be
// "already imported" forever. An exact replay is still skipped.
func TestIntakeDamagedCopyDoesNotBlockOriginal(t *testing.T) {
	docKnobs(t, 16<<10, 64<<10)
	f := newDocFixture(t)
	rcpt := recipientOf(t, f.tv.v, f.cid)
	good := intakeFile(t, "contract.pdf", randomBytes(7, 200<<10), rcpt)
	bad := slices.Clone(good)
	bad[len(bad)-40] ^= 1 // in the last age chunk, far after the sealed header

	rs, err := importIntake(f.tv.v, bad)
	mustNoErr(t, err)
	damagedItem := rs[0].Item
	if _, err := fileIntakeOf(f, damagedItem); !errors.Is(err, ErrIntakeDamaged) {
		t.Fatalf("filing the altered copy: %v", err)
	}
	mustNoErr(t, f.s.DiscardIntake(damagedItem))

	rs, err = importIntake(f.tv.v, good)
	if err != nil {
		t.Fatalf("the good copy, after an altered one was imported and discarded: %v", err)
	}
	if _, err := fileIntakeOf(f, rs[0].Item); err != nil {
		t.Fatalf("filing the good copy: %v", err)
	}
	// The exact file again is a replay.
	var imported *IntakeImportedError
	if _, err := importIntake(f.tv.v, good); !errors.As(err, &imported) || imported.Item != rs[0].Item {
		t.Errorf("replaying the good copy: %v", err)
	}
	if _, err := importIntake(f.tv.v, bad); !errors.As(err, &imported) || imported.Item != damagedItem {
		t.Errorf("replaying the altered copy: %v", err)
	}
}

func fileIntakeOf(f *docFixture, item IntakeID) (DocumentID, error) {
	return f.s.FileIntake(context.Background(), item, f.code, nil)
}
