package store

import (
	"errors"

	bolt "go.etcd.io/bbolt"
)

// Replacing a compartment file under other writers
// (docs/security-review-2026-11.md, L5).
//
// Revoke and erasure write a compartment's new file from a transaction on
// the old one and rename it into place. They hold a write transaction on
// the old file meanwhile, so that no other session of the process can
// commit there during the copy. A writer that was waiting for it would
// still get the old file's lock once it ends, and commit into a file that
// is gone: so the transaction ends by marking the old file's audit head
// as replaced, and every write there (each appends an audit entry, or
// signs a checkpoint, both of which read the head) fails with
// errFileReplaced instead of being lost.

// retiredHead is the audit head of a compartment file that was replaced.
var retiredHead = []byte("valv: this file was replaced")

// errFileReplaced is what a write to a replaced compartment file gets.
var errFileReplaced = errors.New("store: the compartment's file was replaced while this waited (a revocation or an erasure); unlock again and retry")

// retireOldFile ends tx, a write transaction on a compartment file that a
// rename has just replaced, marking the file's audit head as replaced.
func retireOldFile(tx *bolt.Tx) {
	if tx.Bucket(bMeta).Put(kAuditHead, retiredHead) != nil || tx.Commit() != nil {
		tx.Rollback()
	}
}
