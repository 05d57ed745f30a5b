package store

import (
	"crypto"
	"errors"
	"fmt"
	"maps"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/crypto/seal"
)

// signingKey returns a key holder's enrolled signing key, or nil.
func (s *Session) signingKey(id HolderID) crypto.PublicKey {
	var pub crypto.PublicKey
	s.v.db.View(func(tx *bolt.Tx) error {
		if h, _, err := s.v.holder(tx, id); err == nil {
			pub = h.SigningKey
		}
		return nil
	})
	return pub
}

// VerifyAudit checks every audit log this session can open: the
// directory's (admins) and each unlocked compartment's. Each log's report
// says how many entries and valid checkpoints it has, or names its first
// bad entry. The error is the first log's AuditError, if any. The
// verification itself is logged in each log afterwards (so it does not
// change what was verified).
func (s *Session) VerifyAudit() ([]LogReport, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		return nil, err
	}
	var reports []LogReport
	if s.dirKR != nil {
		s.v.db.View(func(tx *bolt.Tx) error {
			if ae := checkPages(tx, DirectoryLog); ae != nil { // verify_pages.go
				reports = append(reports, LogReport{Log: DirectoryLog, Err: ae})
				return nil
			}
			reports = append(reports, verifyLogSafely(tx, DirectoryLog, s.dirKR, s.v.id, s.signingKey))
			return nil
		})
	}
	for _, cid := range s.sortedComps() {
		c, db, err := s.comp(cid)
		if err != nil {
			return nil, err
		}
		db.View(func(tx *bolt.Tx) error {
			if ae := checkPages(tx, cid.String()); ae != nil {
				reports = append(reports, LogReport{Log: cid.String(), Err: ae})
				return nil
			}
			r := verifyLogSafely(tx, cid.String(), c.kr, s.v.id, s.signingKey)
			if r.Err == nil {
				// Each record against the version its log recorded
				// (record_versions.go).
				r.Err = safely(cid.String(), func() *AuditError { return verifyRecordVersions(tx, c.kr, cid.String()) })
			}
			reports = append(reports, r)
			return nil
		})
	}
	// What each log's checkpoints recorded of the others (rollback.go),
	// and the compartments not opened because their file is missing,
	// damaged or behind.
	s.crossCheck(reports)
	problems := slices.Collect(maps.Keys(s.problems))
	slices.SortFunc(problems, func(a, b CompartmentID) int { return slices.Compare(a[:], b[:]) })
	for _, cid := range problems {
		ae := s.rolledBack[cid]
		if ae == nil {
			ae = &AuditError{Log: cid.String(), Reason: "not verified: " + s.problems[cid]}
		}
		reports = append(reports, LogReport{Log: cid.String(), Err: ae})
	}
	var first error
	for _, r := range reports {
		if r.Err != nil && first == nil {
			first = r.Err
		}
	}
	// Log the verification in each log that verified; a broken one is
	// left as it is.
	now := s.v.now()
	for _, r := range reports {
		failed := int64(0)
		if first != nil {
			failed = 1
		}
		e := Entry{Time: now, Holder: s.actor, Action: ActionAuditVerify, Count: failed}
		if r.Err != nil {
			continue
		}
		if err := s.logTo(r.Log, e); err != nil {
			return reports, errors.Join(first, err)
		}
	}
	return reports, first
}

// logTo appends an entry to the named log.
func (s *Session) logTo(log string, e Entry) error {
	if log == DirectoryLog {
		return s.v.db.Update(func(tx *bolt.Tx) error { return s.logDir(tx, e) })
	}
	cid, err := ParseID(log)
	if err != nil {
		return err
	}
	c, db, err := s.comp(cid)
	if err != nil {
		return err
	}
	s.touched[cid] = true
	return db.Update(func(tx *bolt.Tx) error { return appendEntries(tx, c.kr, e) })
}

func (s *Session) sortedComps() []CompartmentID {
	ids := make([]CompartmentID, 0, len(s.comps))
	for id := range s.comps {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b CompartmentID) int { return slices.Compare(a[:], b[:]) })
	return ids
}

// ExportAudit calls fn with every entry of every log this session can
// open, log by log (the directory first), in order. Entries hold codes and
// ids only. The export is logged afterwards.
func (s *Session) ExportAudit(fn func(ExportedEntry) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		return err
	}
	var logs []string
	if s.dirKR != nil {
		err := s.v.db.View(func(tx *bolt.Tx) error {
			return readEntries(tx, s.dirKR, func(e Entry) error { return fn(ExportedEntry{Log: DirectoryLog, Entry: e}) })
		})
		if err != nil {
			return err
		}
		logs = append(logs, DirectoryLog)
	}
	for _, cid := range s.sortedComps() {
		c, db, err := s.comp(cid)
		if err != nil {
			return err
		}
		err = db.View(func(tx *bolt.Tx) error {
			return readEntries(tx, c.kr, func(e Entry) error { return fn(ExportedEntry{Log: cid.String(), Entry: e}) })
		})
		if err != nil {
			return err
		}
		logs = append(logs, cid.String())
	}
	now := s.v.now()
	for _, l := range logs {
		if err := s.logTo(l, Entry{Time: now, Holder: s.actor, Action: ActionAuditExport}); err != nil {
			return err
		}
	}
	return nil
}

// verifyLogSafely is verifyLog that reports a damaged file instead of
// crashing: bbolt panics on some damaged pages (assertions, out-of-range
// page ids), and a verification exists precisely to look at files that may
// have been tampered with. A fault bbolt's mapping raises (SIGBUS) is not
// caught here; see docs/security-review-2026-11.md, M3.
func verifyLogSafely(tx *bolt.Tx, log string, kr *seal.Keyring, vault ID, signingKey func(HolderID) crypto.PublicKey) (r LogReport) {
	defer func() {
		if p := recover(); p != nil {
			r = LogReport{Log: log, Err: &AuditError{Log: log, Seq: r.Entries, Reason: fmt.Sprintf("the file is damaged: its database pages do not read (%v)", p)}}
		}
	}()
	return verifyLog(tx, log, kr, vault, signingKey)
}

// safely runs a check of a file that may be damaged, turning a panic of
// bbolt into a report.
func safely(log string, check func() *AuditError) (ae *AuditError) {
	defer func() {
		if p := recover(); p != nil {
			ae = &AuditError{Log: log, Reason: fmt.Sprintf("the file is damaged: its database pages do not read (%v)", p)}
		}
	}()
	return check()
}
