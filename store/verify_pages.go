package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// checkPages runs bbolt's structural check of a file (Tx.Check: every
// page reachable once, page types and ids, the freelist, keys in order)
// and returns the first problem as an AuditError of log, or nil. A panic
// of bbolt on a damaged page is turned into one. VerifyAudit runs it on
// every file it verifies, before reading the log, because a damaged page
// in a bucket that verification does not read (documents, search) would
// otherwise go unnoticed until a read reaches it.
//
// It is not run when a file is opened: it reads every page, about 95 ms
// for a compartment of 100 000 customers (100 MiB) in the page cache
// (BenchmarkCheck100k), and far more for one with gigabytes of documents
// on a cold disk (docs/security-review-2026-11.md, M3).
func checkPages(tx *bolt.Tx, log string) (ae *AuditError) {
	defer func() {
		if p := recover(); p != nil {
			ae = &AuditError{Log: log, Reason: fmt.Sprintf("the file is damaged: its database pages do not read (%v); restore it from a backup", p)}
		}
	}()
	for err := range tx.Check() {
		return &AuditError{Log: log, Reason: fmt.Sprintf("the file is damaged: %v; restore it from a backup", err)}
	}
	return nil
}
