package service

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/valv-vault/valv/store"
)

// Types of the audit screen.
type (
	// AuditEntry is one entry of an audit log, with its log's name: a
	// time, a key holder, an action and an object (a customer code or an
	// id, never a name or number).
	AuditEntry = store.ExportedEntry
	// Action is what an audit entry records ("reveal", "grant", …).
	Action = store.Action
	// LogReport is the verification of one audit log.
	LogReport = store.LogReport
	// AuditError names the first bad entry of a log.
	AuditError = store.AuditError
)

// DirectoryLog is the name of the directory's audit log; the others are
// named by their compartment's id.
const DirectoryLog = store.DirectoryLog

// The formats of WriteAudit.
const (
	AuditCSV   = "csv"
	AuditJSONL = "jsonl"
)

// AuditEntries reads every audit log the session can open (the
// directory's for an admin, then each unlocked compartment's), in order.
// Reading them is itself logged, as an export.
func (s *Service) AuditEntries() ([]AuditEntry, error) {
	sess, err := s.session()
	if err != nil {
		return nil, err
	}
	var out []AuditEntry
	err = sess.ExportAudit(func(e store.ExportedEntry) error {
		out = append(out, e)
		return nil
	})
	return out, err
}

// VerifyAudit checks every audit log the session can open: each log's
// report, and the first bad entry as an *AuditError (errors.As) if one
// does not verify.
func (s *Service) VerifyAudit() ([]LogReport, error) {
	sess, err := s.session()
	if err != nil {
		return nil, err
	}
	reports, err := sess.VerifyAudit()
	var ae *store.AuditError
	if err != nil && !errors.As(err, &ae) && reports == nil {
		return nil, err
	}
	return reports, err
}

// WriteAudit writes entries as CSV (with a header line) or JSON Lines, the
// formats of valv audit export.
func WriteAudit(w io.Writer, format string, entries []AuditEntry) error {
	bw := bufio.NewWriter(w)
	switch format {
	case AuditJSONL:
		enc := json.NewEncoder(bw)
		for _, e := range entries {
			if err := enc.Encode(e); err != nil {
				return err
			}
		}
	case AuditCSV:
		cw := csv.NewWriter(bw)
		if err := cw.Write(store.CSVHeader); err != nil {
			return err
		}
		for _, e := range entries {
			if err := cw.Write(e.CSVRecord()); err != nil {
				return err
			}
		}
		if cw.Flush(); cw.Error() != nil {
			return cw.Error()
		}
	default:
		return fmt.Errorf("audit format %q: want %s or %s", format, AuditCSV, AuditJSONL)
	}
	return bw.Flush()
}
