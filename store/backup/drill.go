package backup

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"reflect"
	"slices"

	"filippo.io/age"

	"github.com/valv-vault/valv/store"
	"github.com/valv-vault/valv/store/customer"
)

// DrillSample is how many customers of each compartment a drill compares
// record by record (and their documents).
const DrillSample = 16

// A DrillReport says what a restore drill found.
type DrillReport struct {
	Backup       *Report
	Compartments []DrillCompartment
	AuditLogs    int      // logs verified in the restored vault
	Failures     []string // what is wrong: the drill failed if any
	Notes        []string // differences explained by changes since the backup
}

// A DrillCompartment compares one compartment.
type DrillCompartment struct {
	ID                     store.CompartmentID
	Restored, Live         int // customers
	Sampled, Equal         int // records compared, and equal to the live vault's
	Documents, DocumentsOK int // documents of the sample read back whole from the restored vault
}

// OK reports whether the drill passed.
func (r *DrillReport) OK() bool { return len(r.Failures) == 0 }

// Drill restores a backup into a temporary folder next to the live vault
// (on the same disk, not in /tmp; what a killed drill left there is
// removed first, see CleanStaleDrills), opens it with identity, verifies every
// audit log in it, compares the number of customers of each compartment
// and a sample of records and documents with the live vault (live, an
// admin's session, whose views of the sample are logged as usual),
// removes the copy, and logs the drill in the live vault (Count 0 passed,
// 1 failed). A difference that a later change in the live vault explains
// (a newer version, a customer added or deleted since) is a note, not a
// failure.
func Drill(live *store.Session, path string, identity age.Identity, opts ReadOptions) (*DrillReport, error) {
	hs, err := live.Holders()
	if err != nil {
		return nil, err
	}
	opts.Identities = []age.Identity{identity}
	opts.Vault, opts.Trusted = live.Vault().ID(), hs
	CleanStaleDrills(live.Vault().Dir()) // what killed drills left
	parent := filepath.Dir(filepath.Clean(live.Vault().Dir()))
	tmp, err := os.MkdirTemp(parent, drillPrefix)
	if err != nil {
		return nil, fmt.Errorf("backup: drill: %w", err)
	}
	lock, err := lockDrill(tmp)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("backup: drill: %w", err)
	}
	defer func() {
		os.RemoveAll(tmp)
		lock.Close()
	}()
	rep := &DrillReport{}
	err = drill(rep, live, path, filepath.Join(tmp, "vault"), identity, opts)
	var backupID store.ID
	if rep.Backup != nil {
		backupID = rep.Backup.Manifest.Backup
	}
	if err != nil {
		rep.Failures = append(rep.Failures, err.Error())
	}
	failed := int64(0)
	if !rep.OK() {
		failed = 1
	}
	if lerr := live.LogBackup(store.ActionDrill, backupID, failed); lerr != nil {
		return rep, fmt.Errorf("backup: the drill ran but logging it failed: %w", lerr)
	}
	return rep, nil
}

func drill(rep *DrillReport, live *store.Session, path, into string, identity age.Identity, opts ReadOptions) error {
	b, err := Restore(path, into, RestoreOptions{ReadOptions: opts})
	if err != nil {
		return err
	}
	rep.Backup = b
	v, err := store.Open(into)
	if err != nil {
		return fmt.Errorf("the restored vault does not open: %w", err)
	}
	defer v.Close()
	// The live session's signer (its card's slot 9C key) is the one an
	// admin's unlock of the restored directory checks the anchor with.
	s, err := v.Unlock(identity, live.Signer())
	if err != nil {
		return fmt.Errorf("the restored vault does not unlock: %w", err)
	}
	defer s.Lock()
	reports, err := s.VerifyAudit()
	rep.AuditLogs = len(reports)
	if err != nil {
		return fmt.Errorf("the restored vault's audit log does not verify: %w", err)
	}
	cs, err := s.Compartments()
	if err != nil {
		return err
	}
	for _, c := range cs {
		if c.Problem != "" {
			rep.Failures = append(rep.Failures, fmt.Sprintf("compartment %s of the restored vault: %s", c.ID, c.Problem))
			continue
		}
		if !c.Unlocked {
			rep.Notes = append(rep.Notes, fmt.Sprintf("compartment %s: not granted to this key, not compared", c.ID))
			continue
		}
		dc, err := compareCompartment(rep, s, live, c.ID)
		if err != nil {
			return err
		}
		rep.Compartments = append(rep.Compartments, dc)
	}
	return nil
}

func compareCompartment(rep *DrillReport, restored, live *store.Session, cid store.CompartmentID) (DrillCompartment, error) {
	dc := DrillCompartment{ID: cid}
	codes, n, err := restored.ListCustomers(cid, 0, -1)
	if err != nil {
		return dc, fmt.Errorf("compartment %s of the restored vault: %w", cid, err)
	}
	dc.Restored = n
	_, ln, err := live.ListCustomers(cid, 0, 0)
	if errors.Is(err, store.ErrNotGranted) {
		rep.Notes = append(rep.Notes, fmt.Sprintf("compartment %s: not open in the live vault, not compared", cid))
		return dc, nil
	}
	if err != nil {
		return dc, err
	}
	dc.Live = ln
	if ln != n {
		rep.Notes = append(rep.Notes, fmt.Sprintf("compartment %s: %d customers in the backup, %d now (changes since the backup)", cid, n, ln))
	}
	for _, code := range sample(codes, DrillSample) {
		dc.Sampled++
		r, err := restored.ViewCustomer(code)
		if err != nil {
			rep.Failures = append(rep.Failures, fmt.Sprintf("customer %s of the restored vault: %v", code, err))
			continue
		}
		l, err := live.ViewCustomer(code)
		switch {
		case err != nil:
			rep.Notes = append(rep.Notes, fmt.Sprintf("customer %s: not in the live vault (deleted since the backup?)", code))
		case l.Version > r.Version:
			rep.Notes = append(rep.Notes, fmt.Sprintf("customer %s: version %d in the backup, %d now", code, r.Version, l.Version))
		case l.Version < r.Version || !l.Time.Equal(r.Time) || !reflect.DeepEqual(l.Customer, r.Customer):
			rep.Failures = append(rep.Failures, fmt.Sprintf("customer %s: the backup's version %d differs from the live vault's", code, r.Version))
		default:
			dc.Equal++
		}
		if err := compareDocuments(rep, &dc, restored, live, code); err != nil {
			return dc, err
		}
	}
	return dc, nil
}

func compareDocuments(rep *DrillReport, dc *DrillCompartment, restored, live *store.Session, code customer.Code) error {
	docs, err := restored.Documents(code)
	if err != nil {
		rep.Failures = append(rep.Failures, fmt.Sprintf("documents of %s in the restored vault: %v", code, err))
		return nil
	}
	liveDocs, _ := live.Documents(code)
	for _, d := range docs {
		dc.Documents++
		h := sha256.New()
		_, err := restored.ExportDocument(context.Background(), d.ID, hashWriter{h}, nil, store.DocumentOptions{})
		if d.Protected && errors.Is(err, store.ErrPassphraseNeeded) {
			// A protected document opens only with its own passphrase,
			// which the drill does not have: it counts as read if its
			// sealed metadata (size, SHA-256) agrees with the live
			// vault's, below.
			err = nil
		} else if err == nil && [sha256.Size]byte(h.Sum(nil)) != d.SHA256 {
			err = errors.New("its content differs from its recorded SHA-256")
		}
		if err != nil {
			rep.Failures = append(rep.Failures, fmt.Sprintf("document %s of %s in the restored vault: %v", d.ID, code, err))
			continue
		}
		i := slices.IndexFunc(liveDocs, func(l store.DocumentInfo) bool { return l.ID == d.ID })
		switch {
		case i < 0:
			rep.Notes = append(rep.Notes, fmt.Sprintf("document %s of %s: not in the live vault (deleted since the backup?)", d.ID, code))
		case liveDocs[i].SHA256 != d.SHA256 || liveDocs[i].Size != d.Size:
			rep.Failures = append(rep.Failures, fmt.Sprintf("document %s of %s: differs from the live vault's", d.ID, code))
		default:
			dc.DocumentsOK++
		}
	}
	return nil
}

// sample picks up to n codes spread evenly over the list.
func sample(codes []customer.Code, n int) []customer.Code {
	if len(codes) <= n {
		return codes
	}
	out := make([]customer.Code, 0, n)
	for i := range n {
		out = append(out, codes[i*len(codes)/n])
	}
	return out
}

type hashWriter struct{ h hash.Hash }

func (w hashWriter) Write(p []byte) (int, error) { return w.h.Write(p) }
