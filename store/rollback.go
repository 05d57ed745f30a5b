package store

// Detecting a file put back to an older genuine copy of itself
// (docs/security-review-2026-11.md, H1), with the heads that checkpoints
// record of the other files (checkpoint.go).

import (
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/crypto/seal"
)

// ErrRolledBack is returned by Unlock when the directory file is older
// than a compartment's checkpoint says it was: it was put back to an
// older copy (which could bring back a deactivated admin, or undo grants
// and revocations). Restore the vault from a backup.
var ErrRolledBack = errors.New("store: the directory was put back to an older copy of itself")

// directoryHeads returns, for a checkpoint of the directory's log, the
// heads of every compartment's log: each as its file has it now, or as
// the previous checkpoint recorded it if the file is behind that, could
// not be read, or was reported as a problem at unlock.
func (s *Session) directoryHeads(tx *bolt.Tx) func(prev *Checkpoint) []FileHead {
	return func(prev *Checkpoint) []FileHead {
		var out []FileHead
		ids, _ := compartmentIDs(tx)
		for _, cid := range ids {
			log := cid.String()
			p := prev.head(log)
			var merged *FileHead
			db, err := s.v.compartmentDB(cid)
			if err != nil || s.problems[cid] != "" {
				merged = p
			} else {
				db.View(func(ctx *bolt.Tx) error {
					cur, err := clearHead(ctx, log, kCompRecipient)
					merged = mergeHead(ctx, cur, err, p, false)
					return nil
				})
			}
			if merged != nil && merged.Entries > 0 {
				out = append(out, *merged)
			}
		}
		return out
	}
}

// compartmentHeads returns, for a checkpoint of a compartment's log, the
// head of the directory's log (or the previous record of it, if the
// directory is behind it).
func (s *Session) compartmentHeads() func(prev *Checkpoint) []FileHead {
	return func(prev *Checkpoint) []FileHead {
		var merged *FileHead
		s.v.db.View(func(tx *bolt.Tx) error {
			cur, err := clearHead(tx, DirectoryLog, kDirRecipient)
			merged = mergeHead(tx, cur, err, prev.head(DirectoryLog), true)
			return nil
		})
		if merged == nil || merged.Entries == 0 {
			return nil
		}
		return []FileHead{*merged}
	}
}

// compartmentIDs lists the compartments of the directory in tx.
func compartmentIDs(tx *bolt.Tx) ([]CompartmentID, error) {
	var ids []CompartmentID
	err := tx.Bucket(bComps).ForEach(func(k, _ []byte) error {
		var id CompartmentID
		if len(k) != len(id) {
			return errors.New("store: the compartment list is damaged")
		}
		copy(id[:], k)
		ids = append(ids, id)
		return nil
	})
	return ids, err
}

// verifiedNewest returns the newest checkpoint of a file's log, as the
// sealed head names it, if its signature verifies; nil if there is none
// (a log never checkpointed, or one made before format 3), and an error
// if the head names one that is gone or forged.
func (s *Session) verifiedNewest(tx *bolt.Tx, kr *seal.Keyring, log string) (*Checkpoint, error) {
	h, err := readHead(tx.Bucket(bMeta), kr)
	if err != nil {
		return nil, fmt.Errorf("audit log %s: %v", log, err)
	}
	if h.cp == nil {
		return nil, nil
	}
	c := newestCheckpoint(tx, kr, s.v.id, h)
	if c == nil || c.Log != log {
		return nil, fmt.Errorf("audit log %s: its newest checkpoint is missing or altered (it was deleted)", log)
	}
	pub := s.signingKey(c.Holder)
	if pub == nil || !verifySignature(pub, c.Message(s.v.id), c.Signature) {
		return nil, fmt.Errorf("audit log %s: its newest checkpoint's signature does not verify", log)
	}
	return c, nil
}

func describeCheckpoint(c *Checkpoint) string {
	return fmt.Sprintf("the checkpoint signed by %s at %s", c.Holder, c.Time.Format(time.RFC3339))
}

// recordedHeads returns the compartment heads the directory's newest
// checkpoint recorded (nil if none), for the admin or recovery unlock.
func (s *Session) recordedHeads() (*Checkpoint, error) {
	var c *Checkpoint
	err := s.v.db.View(func(tx *bolt.Tx) (err error) {
		c, err = s.verifiedNewest(tx, s.dirKR, DirectoryLog)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRolledBack, err)
	}
	return c, nil
}

// checkCompartmentHead compares a compartment's file with what the
// directory's newest checkpoint recorded of it, before it is opened: a
// file behind it was put back to an older copy. It returns what is wrong,
// naming the first entry missing, or nil.
func (s *Session) checkCompartmentHead(cid CompartmentID, dirCP *Checkpoint) *AuditError {
	rec := dirCP.head(cid.String())
	if rec == nil {
		return nil
	}
	db, err := s.v.compartmentDB(cid)
	if err != nil {
		return nil // openCompartment reports it
	}
	var ae *AuditError
	db.View(func(tx *bolt.Tx) error {
		cur, err := clearHead(tx, cid.String(), kCompRecipient)
		if err != nil {
			ae = &AuditError{Log: cid.String(), Reason: err.Error()}
		} else if p := behind(tx, cur, rec, false); p != "" {
			ae = &AuditError{Log: cid.String(), Seq: min(cur.Entries, rec.Entries),
				Reason: fmt.Sprintf("missing: %s by %s in the directory's log; the file was cut or put back to an older copy of itself (restore it from a backup)", p, describeCheckpoint(dirCP))}
		}
		return nil
	})
	return ae
}

// checkDirectoryHead compares the directory's log with what the newest
// checkpoint of each compartment the session opened recorded of it.
func (s *Session) checkDirectoryHead() error {
	for _, cid := range s.sortedComps() {
		c := s.comps[cid]
		db, err := s.v.compartmentDB(cid)
		if err != nil {
			return err
		}
		var cp *Checkpoint
		db.View(func(tx *bolt.Tx) error {
			cp, _ = s.verifiedNewest(tx, c.kr, cid.String()) // a bad one is VerifyAudit's to report
			return nil
		})
		rec := cp.head(DirectoryLog)
		if rec == nil {
			continue
		}
		var problem string
		s.v.db.View(func(tx *bolt.Tx) error {
			cur, err := clearHead(tx, DirectoryLog, kDirRecipient)
			if err != nil {
				problem = err.Error()
				return nil
			}
			problem = behind(tx, cur, rec, true)
			return nil
		})
		if problem != "" {
			return fmt.Errorf("%w: %s, by %s in compartment %s; restore the vault from a backup", ErrRolledBack, problem, describeCheckpoint(cp), cid)
		}
	}
	return nil
}

// crossCheck adds to VerifyAudit's reports what the logs' checkpoints
// recorded of each other: every valid checkpoint of the directory against
// each compartment's log, and every valid checkpoint of a compartment
// against the directory's log. The first shortfall of a log becomes its
// error (if it has none yet).
func (s *Session) crossCheck(reports []LogReport) {
	byLog := make(map[string]*LogReport, len(reports))
	for i := range reports {
		byLog[reports[i].Log] = &reports[i]
	}
	check := func(db *bolt.DB, log string, recipient []byte, sizeOnly bool, cps []Checkpoint) {
		r := byLog[log]
		if r == nil || r.Err != nil {
			return
		}
		db.View(func(tx *bolt.Tx) error {
			cur, err := clearHead(tx, log, recipient)
			if err != nil {
				return nil
			}
			for i := range cps {
				if p := behind(tx, cur, cps[i].head(log), sizeOnly); p != "" {
					r.Err = &AuditError{Log: log, Seq: cur.Entries, Reason: fmt.Sprintf("missing: %s by %s in log %s; the file was cut or put back to an older copy of itself", p, describeCheckpoint(&cps[i]), cps[i].Log)}
					return nil
				}
			}
			return nil
		})
	}
	if d := byLog[DirectoryLog]; d != nil {
		for _, cid := range s.sortedComps() {
			if db, err := s.v.compartmentDB(cid); err == nil {
				check(db, cid.String(), kCompRecipient, false, d.Checkpoints)
			}
		}
	}
	for _, cid := range s.sortedComps() {
		if r := byLog[cid.String()]; r != nil {
			check(s.v.db, DirectoryLog, kDirRecipient, true, r.Checkpoints)
		}
	}
}
