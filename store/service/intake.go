package service

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/valv-vault/valv/store"
	"github.com/valv-vault/valv/store/intake"
)

// Sealed intake for the window: files sealed elsewhere to a
// compartment's public recipient (valv intake seal) are imported from a
// folder, e.g. a USB stick, locked or unlocked; the compartment's key
// holders see them in its queue, with the sealed file name (shown only
// there: the audit log records item ids), and file each under a customer
// of that compartment or discard it.

// Types of intake the window shows.
type (
	// IntakeItem is an item of an intake queue. Name is for the key
	// holder's eyes only; a Damaged item can only be discarded.
	IntakeItem = store.IntakeItem
	// IntakeID names an intake item.
	IntakeID = store.IntakeID
)

// IntakeExt ends the name of every sealed intake file.
const IntakeExt = intake.Ext

// IntakeImport says what importing a folder did.
type IntakeImport struct {
	Files    int      // sealed intake files found
	Imported int      // imported now
	Before   int      // imported before (skipped)
	Failed   []string // "<file name>: <why>", for the files not imported (left in place)
}

// IntakeQueue lists the intake items of the unlocked compartments,
// oldest first. Logged (intake-list) in each compartment with items.
func (s *Service) IntakeQueue() ([]IntakeItem, error) {
	sess, err := s.session()
	if err != nil {
		return nil, err
	}
	return sess.IntakeQueue()
}

// FileIntake makes an intake item a document of the customer code (of
// the item's compartment), streamed with progress(done, item.Size);
// cancelling ctx leaves the item in the queue. Logged (intake-file and
// doc-add).
func (s *Service) FileIntake(ctx context.Context, item IntakeItem, code Code, progress func(done, total int64)) (DocumentID, error) {
	sess, err := s.session()
	if err != nil {
		return DocumentID{}, err
	}
	var p func(int64)
	if progress != nil {
		p = func(done int64) { progress(done, item.Size) }
	}
	return sess.FileIntake(ctx, item.ID, code, p)
}

// DiscardIntake deletes an intake item, damaged or not. Logged
// (intake-discard).
func (s *Service) DiscardIntake(item IntakeID) error {
	sess, err := s.session()
	if err != nil {
		return err
	}
	return sess.DiscardIntake(item)
}

// ImportIntake imports every sealed intake file (*.valvin) of folder dir
// into the queue of the compartment it is sealed to, needing no key, and
// leaves the files in place. A file imported before is counted, not
// imported again; a damaged one or one for another vault is listed in
// Failed and the others go on. progress(done, total) counts the bytes of
// the files. Cancelling ctx stops it between and within files.
func (s *Service) ImportIntake(ctx context.Context, dir string, progress func(done, total int64)) (IntakeImport, error) {
	s.mu.Lock()
	v, err := s.vault()
	s.mu.Unlock()
	if err != nil {
		return IntakeImport{}, err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return IntakeImport{}, err
	}
	type file struct {
		name string
		size int64
	}
	var files []file
	var total int64
	for _, e := range ents {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), intake.Ext) || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		files = append(files, file{e.Name(), info.Size()})
		total += info.Size()
	}
	slices.SortFunc(files, func(a, b file) int { return strings.Compare(a.name, b.name) })
	res := IntakeImport{Files: len(files)}
	var base int64
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		var p func(int64)
		if progress != nil {
			p = func(done int64) { progress(base+min(done, f.size), total) }
		}
		err := importIntakeFile(ctx, v, filepath.Join(dir, f.name), p)
		var before *store.IntakeImportedError
		switch {
		case errors.As(err, &before):
			res.Before++
		case err != nil && ctx.Err() != nil:
			return res, ctx.Err()
		case err != nil:
			res.Failed = append(res.Failed, fmt.Sprintf("%s: %s", f.name, strings.TrimPrefix(err.Error(), "store: ")))
		default:
			res.Imported++
		}
		base += f.size
		if progress != nil {
			progress(base, total)
		}
	}
	return res, nil
}

func importIntakeFile(ctx context.Context, v *store.Vault, path string, progress func(int64)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = v.ImportIntake(ctx, f, progress)
	return err
}
