package ui

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"github.com/valv-vault/valv/store/service"
)

// fakeOps is the fake service's backups, intake queue and retention.
type fakeOps struct {
	media   []Medium
	backups map[string][]BackupFile // by folder
	// gate, if set, holds a backup, verify, restore or drill after its
	// first progress report until it is closed (or ctx is cancelled).
	gate       chan struct{}
	backupErr  error
	verifyErr  error
	restoreErr error
	report     BackupReport
	drill      DrillReport
	restored   []string // folders restored into
	restoreOpt []RestoreOptions
	cancelled  atomic.Int32 // backups stopped by their context

	intake    []IntakeItem
	filed     map[IntakeID]Code
	discarded []IntakeID
	importRes IntakeImport
	imported  []string

	due    []RetentionDue
	erased []Code
}

func idOf(b byte) service.IntakeID {
	var id service.IntakeID
	for i := range id {
		id[i] = b
	}
	return id
}

// opsStore returns the operations' state, made on first use; f.mu is
// held.
func (f *fakeService) opsStore() *fakeOps {
	if f.ops != nil {
		return f.ops
	}
	day := func(d, h int) time.Time { return time.Date(2026, 1, d, h, 0, 0, 0, time.UTC) }
	stick := "/media/anna/VALV BACKUP"
	o := &fakeOps{
		media: []Medium{
			{MountPoint: stick, Device: "sdb1", Disk: "sdb", Label: "VALV BACKUP", FSType: "vfat", Size: 32 << 30, Free: 20 << 30, USB: true},
			{MountPoint: "/media/anna/SD", Device: "mmcblk0p1", Disk: "mmcblk0", Label: "SD", FSType: "exfat", Size: 8 << 30, Free: -1, USB: true, ReadOnly: true},
		},
		backups: map[string][]BackupFile{stick: {
			{Path: filepath.Join(stick, "a-20260115T090000Z.valvbak"), Time: day(15, 9), Size: 3 << 20, ThisVault: true},
			{Path: filepath.Join(stick, "a-20260114T090000Z.valvbak"), Time: day(14, 9), Size: 3 << 20, ThisVault: true, State: service.VerifiedAgain, Checked: day(14, 10)},
			{Path: filepath.Join(stick, "b-20251201T090000Z.valvbak"), Time: time.Date(2025, 12, 1, 9, 0, 0, 0, time.UTC), Size: 1 << 20},
		}},
		report: BackupReport{Backup: "5e1f", Created: day(15, 9), By: "3fa2c1d0", App: "0.1.0", Bytes: 3 << 20, Signed: true, SignerEnrolled: true,
			Files: []service.BackupReportFile{{Name: "directory.valv", AuditEntries: 40},
				{Name: "aaaa.valv", Compartment: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", AuditEntries: 100},
				{Name: "bbbb.valv", Compartment: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", AuditEntries: 90}}},
		filed: map[IntakeID]Code{},
		intake: []IntakeItem{
			{ID: idOf(1), Compartment: idOf(0xaa), Received: day(15, 8), Length: 2100, Name: "inskannad-fullmakt.pdf", MediaType: "application/pdf", Size: 1900, Sealed: day(15, 7)},
			{ID: idOf(2), Compartment: idOf(0xbb), Received: day(15, 9), Length: 700, Name: "kontoutdrag-mars.txt", MediaType: "text/plain", Size: 512, Sealed: day(15, 8)},
			{ID: idOf(3), Compartment: idOf(0xaa), Received: day(15, 10), Length: 300, Damaged: "store: the intake file is damaged: intake item 03030303 does not decrypt: it was altered or cut"},
		},
		due: []RetentionDue{
			{Code: fakeCode(1), Compartment: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", RetainUntil: "2024-03-10"},
			{Code: fakeCode(3), Compartment: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", RetainUntil: "2024-04-11"},
		},
	}
	r := o.report
	o.drill = DrillReport{Backup: &r, AuditLogs: 3, Compartments: []service.DrillCompartment{
		{ID: idOf(0xaa), Restored: 3, Live: 3, Sampled: 3, Equal: 3, Documents: 1, DocumentsOK: 1},
		{ID: idOf(0xbb), Restored: 2, Live: 2, Sampled: 2, Equal: 2},
	}}
	f.ops = o
	return o
}

// opsState returns the operations' state, checking the session.
func (f *fakeService) opsState(what string) (*fakeOps, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(what); err != nil {
		return nil, err
	}
	return f.opsStore(), nil
}

// run reports progress in phases of 4 steps of 1 MiB, waiting at the
// gate after the first report.
func (o *fakeOps) run(ctx context.Context, progress func(BackupProgress), phases ...string) error {
	first := true
	for _, ph := range phases {
		for i := range 5 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if progress != nil {
				progress(BackupProgress{Phase: ph, Done: int64(i) << 20, Total: 4 << 20})
			}
			if first && o.gate != nil {
				first = false
				select {
				case <-o.gate:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}
	}
	return nil
}

func (f *fakeService) Media() ([]Medium, error) {
	o, err := f.opsState("media")
	if err != nil {
		return nil, err
	}
	return o.media, nil
}

func (f *fakeService) Backup(ctx context.Context, dir string, progress func(BackupProgress)) (BackupResult, error) {
	o, err := f.opsState("backup")
	if err != nil {
		return BackupResult{}, err
	}
	if err := o.run(ctx, progress, "backup", "verify"); err != nil {
		o.cancelled.Add(1)
		return BackupResult{}, err
	}
	if o.backupErr != nil {
		return BackupResult{}, o.backupErr
	}
	t := time.Date(2026, 1, 16, 9, 0, 0, 0, time.UTC)
	path := filepath.Join(dir, "a-20260116T090000Z.valvbak")
	f.mu.Lock()
	o.backups[dir] = append([]BackupFile{{Path: path, Time: t, Size: 3 << 20, ThisVault: true, State: service.VerifiedAgain, Checked: t}}, o.backups[dir]...)
	f.mu.Unlock()
	return BackupResult{Path: path, Backup: "77aa", Created: t, Bytes: 3 << 20, Files: 3, Verified: true}, nil
}

func (f *fakeService) Backups(dir string) ([]BackupFile, error) {
	o, err := f.opsState("backups")
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(o.backups[dir]), nil
}

func (f *fakeService) Verify(ctx context.Context, path string, progress func(BackupProgress)) (BackupReport, error) {
	o, err := f.opsState("verify")
	if err != nil {
		return BackupReport{}, err
	}
	if err := o.run(ctx, progress, "verify"); err != nil {
		return BackupReport{}, err
	}
	if o.verifyErr != nil {
		return BackupReport{}, o.verifyErr
	}
	r := o.report
	r.Path = path
	return r, nil
}

func (f *fakeService) Restore(ctx context.Context, path, into string, opts RestoreOptions, progress func(BackupProgress)) (BackupReport, error) {
	o, err := f.opsState("restore")
	if err != nil {
		return BackupReport{}, err
	}
	if err := o.run(ctx, progress, "restore"); err != nil {
		return BackupReport{}, err
	}
	if o.restoreErr != nil {
		return BackupReport{}, o.restoreErr
	}
	if !o.report.Signed && !opts.AllowUnsigned {
		return BackupReport{}, errors.New("backup: the backup is unsigned")
	}
	f.mu.Lock()
	o.restored = append(o.restored, into)
	o.restoreOpt = append(o.restoreOpt, opts)
	f.mu.Unlock()
	r := o.report
	r.Path = path
	return r, nil
}

func (f *fakeService) Drill(ctx context.Context, path string, progress func(BackupProgress)) (DrillReport, error) {
	o, err := f.opsState("drill")
	if err != nil {
		return DrillReport{}, err
	}
	if err := o.run(ctx, progress, "restore"); err != nil {
		return DrillReport{Failures: []string{err.Error()}}, nil
	}
	return o.drill, nil
}

func (f *fakeService) Rotate(dir string, p RotationPolicy, dryRun bool) (Rotation, error) {
	o, err := f.opsState("rotate")
	if err != nil {
		return Rotation{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var r Rotation
	var kept []BackupFile
	n := 0
	for _, b := range o.backups[dir] {
		rf := service.RotatedFile{Path: b.Path}
		rf.Name.Time = b.Time
		switch {
		case !b.ThisVault:
			kept = append(kept, b)
			continue
		case n < p.Keep:
			rf.Reason = "one of the last"
			r.Keep = append(r.Keep, rf)
			kept = append(kept, b)
		default:
			r.Delete = append(r.Delete, rf)
		}
		n++
	}
	if !dryRun {
		o.backups[dir] = kept
	}
	return r, nil
}

func (f *fakeService) IntakeQueue() ([]IntakeItem, error) {
	o, err := f.opsState("intake-list")
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(o.intake), nil
}

func (f *fakeService) takeIntake(o *fakeOps, id IntakeID) bool {
	i := slices.IndexFunc(o.intake, func(it IntakeItem) bool { return it.ID == id })
	if i < 0 {
		return false
	}
	o.intake = slices.Delete(o.intake, i, i+1)
	return true
}

func (f *fakeService) FileIntake(ctx context.Context, item IntakeItem, code Code, progress func(done, total int64)) (DocumentID, error) {
	o, err := f.opsState("intake-file")
	if err != nil {
		return DocumentID{}, err
	}
	f.mu.Lock()
	_, cid, ok := f.find(code)
	f.mu.Unlock()
	switch {
	case !ok:
		return DocumentID{}, errors.New("store: no customer with that code in the compartments this key opens")
	case cid != item.Compartment.String():
		return DocumentID{}, errors.New("store: file it to a customer of the same compartment")
	case item.Damaged != "":
		return DocumentID{}, service.ErrIntakeDamaged
	}
	if progress != nil {
		progress(item.Size, item.Size)
	}
	if err := ctx.Err(); err != nil {
		return DocumentID{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.takeIntake(o, item.ID) {
		return DocumentID{}, errors.New("store: no intake item with that id")
	}
	o.filed[item.ID] = code
	f.docs[code] = append(f.docs[code], Document{Customer: code, Name: item.Name, MediaType: item.MediaType, Size: item.Size})
	return DocumentID{9}, nil
}

func (f *fakeService) DiscardIntake(id IntakeID) error {
	o, err := f.opsState("intake-discard")
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.takeIntake(o, id) {
		return errors.New("store: no intake item with that id")
	}
	o.discarded = append(o.discarded, id)
	return nil
}

func (f *fakeService) ImportIntake(ctx context.Context, dir string, progress func(done, total int64)) (IntakeImport, error) {
	f.mu.Lock()
	o := f.opsStore()
	o.imported = append(o.imported, dir)
	res := o.importRes
	if res.Imported > 0 {
		o.intake = append(o.intake, IntakeItem{ID: idOf(7), Compartment: idOf(0xaa), Received: time.Date(2026, 1, 16, 8, 0, 0, 0, time.UTC), Name: "brev.txt", Size: 22})
	}
	f.mu.Unlock()
	if progress != nil {
		progress(10, 10)
	}
	return res, ctx.Err()
}

func (f *fakeService) PastRetention() ([]RetentionDue, error) {
	o, err := f.opsState("retention-list")
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(o.due), nil
}

func (f *fakeService) Erase(codes []Code, progress func(done, total int)) ([]Code, error) {
	o, err := f.opsState("erase")
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range codes {
		if _, _, ok := f.find(c); !ok {
			return nil, errors.New("store: no customer with that code; nothing was erased")
		}
	}
	for i := range 4 {
		if progress != nil {
			progress(i*100, 300)
		}
	}
	for _, c := range codes {
		_, cid, _ := f.find(c)
		f.customers[cid] = slices.DeleteFunc(f.customers[cid], func(x Customer) bool { return x.Code == c })
		o.due = slices.DeleteFunc(o.due, func(d RetentionDue) bool { return d.Code == c })
		o.erased = append(o.erased, c)
	}
	return slices.Clone(codes), nil
}
