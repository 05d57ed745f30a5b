package store

// Customer record rollback (docs/security-review-2026-11.md, M1).
//
// A record is sealed with its id and version in the associated data, so
// an older version copied back over the current one (from the history,
// or from an older copy of the file) opens. Two checks see it: a read
// refuses a current version that the record's own history has already
// passed (cheap: one cursor step), and VerifyAudit compares every record
// with the version the compartment's audit log recorded last for its
// code (add: 1, edit: the new version, delete and erase: gone). The log
// moves only forward: its chain, checkpoints and the directory's record
// of its head (checkpoint.go) keep it from being rolled back with the
// record.

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/crypto/seal"
)

// newestHistory returns the highest version in a record's history, or 0.
func newestHistory(tx *bolt.Tx, rid []byte) uint64 {
	c := tx.Bucket(bHistory).Cursor()
	k, _ := c.Seek(append(bytes.Clone(rid), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff))
	if k == nil {
		k, _ = c.Last()
	} else if !bytes.Equal(k, append(bytes.Clone(rid), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)) {
		k, _ = c.Prev()
	}
	if k == nil || len(k) != len(rid)+8 || !bytes.HasPrefix(k, rid) {
		return 0
	}
	return binary.BigEndian.Uint64(k[len(rid):])
}

// checkNotBehindHistory refuses a current version at or below one in the
// record's history: an older version was put back over the current one.
func checkNotBehindHistory(tx *bolt.Tx, rid []byte, ver uint64) error {
	if h := newestHistory(tx, rid); h >= ver {
		return fmt.Errorf("store: the customer's current record is version %d, older than its history (version %d): an older copy was put back over it; run valv audit verify and restore the compartment from a backup", ver, h)
	}
	return nil
}

// loggedVersion is what a compartment's log last recorded of a code.
type loggedVersion struct {
	version uint64 // 1 after add, the new version after edit
	seq     uint64 // the entry
	deleted bool   // delete or erase
}

// verifyRecordVersions compares each customer record of a compartment
// with its log (which must have verified): a record older than the
// version the log last recorded for its code, a record of a code the log
// deleted, or a code the log has and the file lacks, is the first error
// (the lowest entry concerned).
func verifyRecordVersions(tx *bolt.Tx, kr *seal.Keyring, log string) *AuditError {
	logged := make(map[string]loggedVersion)
	var dropped uint64 // the last rotate-dropped entry: records before it may be gone
	err := readEntries(tx, kr, func(e Entry) error {
		switch e.Action {
		case ActionAdd:
			logged[e.Object] = loggedVersion{version: 1, seq: e.Seq}
		case ActionEdit:
			if e.Count > 0 {
				logged[e.Object] = loggedVersion{version: uint64(e.Count), seq: e.Seq}
			}
		case ActionDelete, ActionErase:
			logged[e.Object] = loggedVersion{seq: e.Seq, deleted: true}
		case ActionRotateDropped:
			dropped = e.Seq
		}
		return nil
	})
	if err != nil {
		return &AuditError{Log: log, Reason: err.Error()}
	}
	var first *AuditError
	fail := func(seq uint64, format string, args ...any) {
		if first == nil || seq < first.Seq {
			first = &AuditError{Log: log, Seq: seq, Reason: fmt.Sprintf(format, args...)}
		}
	}
	seen := make(map[string]bool, len(logged))
	idx := tx.Bucket(bIndex)
	err = tx.Bucket(bCustomers).ForEach(func(rid, v []byte) error {
		p, err := kr.Open(nil, seal.Index, rid, 0, idx.Get(rid))
		if err != nil || len(v) < 8 {
			fail(0, "a customer record or its index entry was altered or removed outside Valv")
			return nil
		}
		code, ver := string(p), binary.BigEndian.Uint64(v)
		seen[code] = true
		l, ok := logged[code]
		switch {
		case !ok:
		case l.deleted:
			fail(l.seq, "customer %s was deleted (entry %d), yet its record (version %d) is in the file: it was put back", code, l.seq, ver)
		case ver < l.version:
			fail(l.seq, "customer %s: its record is version %d, entry %d recorded version %d: an older version was put back", code, ver, l.seq, l.version)
		case ver > l.version:
			fail(l.seq, "customer %s: its record is version %d, newer than version %d of entry %d: it was changed outside Valv", code, ver, l.version, l.seq)
		}
		return nil
	})
	if err != nil {
		return &AuditError{Log: log, Reason: err.Error()}
	}
	for code, l := range logged {
		if !l.deleted && !seen[code] && l.seq > dropped {
			fail(l.seq, "customer %s (entry %d) has no record in the file: it was removed outside Valv", code, l.seq)
		}
	}
	return first
}
