package store

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/store/customer"
	"github.com/valv-vault/valv/store/redact"
)

// ActionDocRedact records that a redacted archive copy was made. Object is
// the customer code, Count the values removed.
const ActionDocRedact Action = "doc-redact"

// RedactDocument makes a redacted archive copy of a document and files it
// under the same customer: the identifying numbers the detectors find (and
// the boxes in opts, for images and PDFs) are removed, not covered, and
// the copy is labelled with the customer code, never the name. Its file
// name is "<code>-<document id>-redacted" with the original's extension.
// The original is kept. The plaintext stays in memory (documents are
// limited to what package redact accepts, 256 MiB by default); nothing is
// written to a temporary file. opts.CustomerCode is set by this method.
func (s *Session) RedactDocument(ctx context.Context, id DocumentID, docOpts DocumentOptions, opts redact.Options) (DocumentID, redact.Report, error) {
	var plain bytes.Buffer
	info, err := s.ExportDocument(ctx, id, &plain, nil, docOpts)
	if err != nil {
		return ID{}, redact.Report{}, err
	}
	defer clear(plain.Bytes())
	kind := redact.Sniff(plain.Bytes(), info.Name)
	if kind == redact.Unknown {
		return ID{}, redact.Report{}, fmt.Errorf("store: document %s is not a kind Valv can redact (text, CSV, JSON, Markdown, PNG, JPEG or PDF)", id)
	}
	opts.CustomerCode = string(info.Customer)
	var out bytes.Buffer
	rep, err := redact.Redact(bytes.NewReader(plain.Bytes()), kind, &out, opts)
	if err != nil {
		return ID{}, rep, err
	}
	defer clear(out.Bytes())
	name := fmt.Sprintf("%s-%s-redacted%s", info.Customer, strings.ToLower(id.Short()), kind.Ext())
	copyID, err := s.AddDocument(ctx, info.Customer, name, info.MediaType, bytes.NewReader(out.Bytes()), nil, DocumentOptions{})
	if err != nil {
		return ID{}, rep, err
	}
	removed := len(rep.Findings) + rep.Boxes
	if err := s.logDocument(info.Customer, Entry{Action: ActionDocRedact, Count: int64(removed)}); err != nil {
		return copyID, rep, err
	}
	return copyID, rep, nil
}

// ScanDocument is the pre-archive check of a stored document: it reports
// which identifying numbers it contains, masked. Reading it is audited as
// an export.
func (s *Session) ScanDocument(ctx context.Context, id DocumentID, docOpts DocumentOptions) (redact.Report, error) {
	var plain bytes.Buffer
	info, err := s.ExportDocument(ctx, id, &plain, nil, docOpts)
	if err != nil {
		return redact.Report{}, err
	}
	defer clear(plain.Bytes())
	kind := redact.Sniff(plain.Bytes(), info.Name)
	if kind == redact.Unknown {
		return redact.Report{Notes: []string{"not a kind Valv can scan; check it by eye"}}, nil
	}
	return redact.Scan(bytes.NewReader(plain.Bytes()), kind)
}

// logDocument appends e (time, holder and object filled in) to the log of
// the customer's compartment.
func (s *Session) logDocument(code customer.Code, e Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		return err
	}
	c, _, err := s.locate(code)
	if err != nil {
		return err
	}
	db, err := s.v.compartmentDB(c.id)
	if err != nil {
		return err
	}
	e.Time, e.Holder, e.Object = s.v.now(), s.actor, string(code)
	s.touched[c.id] = true
	return db.Update(func(tx *bolt.Tx) error { return appendEntries(tx, c.kr, e) })
}
