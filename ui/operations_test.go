package ui

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

const stick = "/media/anna/VALV BACKUP"

// opsWindow is an unlocked window on a fake service, with transfers
// reporting through a queue the test drains.
func opsWindow(t *testing.T, language string) (*Window, *fakeService, *uiQueue) {
	t.Helper()
	useLanguage(t, language)
	q := useUIQueue(t)
	svc := newFakeService()
	w, _ := newTestWindow(t, svc)
	unlock(t, w, svc)
	return w, svc, q
}

func (f *fakeService) opsNow() *fakeOps {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.opsStore()
}

// backupsOn opens the backup screen with the USB stick chosen.
func backupsOn(t *testing.T, w *Window) *backupScreen {
	t.Helper()
	test.Tap(findButton(t, w, "Backups"))
	s, ok := w.ops.(*backupScreen)
	if !ok {
		t.Fatalf("Backups shows %T", w.ops)
	}
	var option string
	for o, p := range s.mediaPaths {
		if p == stick {
			option = o
		}
	}
	if !strings.Contains(option, "VALV BACKUP — 32.0 GiB, 20.0 GiB free") {
		t.Fatalf("the stick is offered as %q", option)
	}
	s.mediaPick.SetSelected(option)
	if s.dest != stick {
		t.Fatalf("destination %q", s.dest)
	}
	return s
}

func TestBackupShowsProgressAndVerdict(t *testing.T) {
	w, svc, q := opsWindow(t, "en")
	s := backupsOn(t, w)
	shows(t, w, "Backups go to: "+stick)
	shows(t, w, "verified again 2026-01-14 10:00")
	shows(t, w, "another vault's backup")
	shows(t, w, "read-only")

	gate := make(chan struct{})
	svc.opsNow().gate = gate
	test.Tap(s.backupB)
	q.until(t, "the bar shows the backup", func() bool { return s.task.box.Visible() && s.task.label.Text == "Writing the backup…" })
	if !s.backupB.Disabled() || !s.task.cancelB.Visible() {
		t.Fatal("Back up now is not disabled, or Cancel not shown, while the backup runs")
	}
	close(gate)
	q.until(t, "the verdict", func() bool { return s.verdict.Visible() })
	all := shows(t, w, "Backup written and verified: a-20260116T090000Z.valvbak (3.0 MiB, 3 vault files)")
	if s.verdict.Importance != widget.SuccessImportance || s.task.box.Visible() || s.backupB.Disabled() {
		t.Errorf("after the backup: importance %v, bar visible %v, button disabled %v", s.verdict.Importance, s.task.box.Visible(), s.backupB.Disabled())
	}
	if s.task.bar.Value != 1 {
		t.Errorf("the bar ended at %v", s.task.bar.Value)
	}
	if strings.Count(all, "verified again") != 2 || len(s.files) != 4 {
		t.Errorf("the history does not show the new backup:\n%s", all)
	}
}

func TestFailedBackupShowsTheError(t *testing.T) {
	w, svc, q := opsWindow(t, "en")
	s := backupsOn(t, w)
	svc.opsNow().backupErr = errors.New("backup: writing the backup: the medium is full (no space left on device); free some space or choose another medium")
	test.Tap(s.backupB)
	q.until(t, "the verdict", func() bool { return s.verdict.Visible() })
	all := shows(t, w, "The backup failed and nothing was kept. ")
	shows(t, w, explain(svc.opsNow().backupErr)) // the reason, in words (a full disk)
	if strings.Contains(all, "Backup written and verified") || s.verdict.Importance != widget.DangerImportance {
		t.Fatalf("a failed backup reads as a success:\n%s", all)
	}
	if len(s.files) != 3 {
		t.Errorf("the history lists %d backups after a failure", len(s.files))
	}
}

func TestCancelBackup(t *testing.T) {
	w, svc, q := opsWindow(t, "en")
	s := backupsOn(t, w)
	svc.opsNow().gate = make(chan struct{})
	test.Tap(s.backupB)
	q.until(t, "the bar", func() bool { return s.task.busy() })
	test.Tap(s.task.cancelB)
	q.until(t, "the verdict", func() bool { return s.verdict.Visible() })
	shows(t, w, "The backup was cancelled; the partial file was removed.")
	if len(s.files) != 3 {
		t.Error("a cancelled backup is listed")
	}
}

// button finds the i-th button with text under o.
func button(t *testing.T, o fyne.CanvasObject, text string, i int) *widget.Button {
	t.Helper()
	var found []*widget.Button
	var walk func(fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		switch v := o.(type) {
		case *widget.Button:
			if v.Text == text {
				found = append(found, v)
			}
		case *fyne.Container:
			for _, c := range v.Objects {
				walk(c)
			}
		case fyne.Widget:
			for _, c := range test.WidgetRenderer(v).Objects() {
				walk(c)
			}
		}
	}
	walk(o)
	if i >= len(found) {
		t.Fatalf("%d buttons %q, want #%d", len(found), text, i)
	}
	return found[i]
}

func TestDrillShowsItsReport(t *testing.T) {
	w, _, q := opsWindow(t, "en")
	s := backupsOn(t, w)
	test.Tap(button(t, s.history, "Drill", 0))
	q.until(t, "the verdict", func() bool { return s.verdict.Visible() })
	shows(t, w, "The restore drill passed")
	shows(t, w, "Kunder Norr: 3 customers in the backup, 3 now; 3 of 3 sampled records equal; 1 of 1 documents equal")
	shows(t, w, "Audit logs verified in the restored copy: 3")
	shows(t, w, "Signed by admin 3fa2c1d0, a key holder of this vault.")
	if !button(t, s.history, "Drill", 2).Disabled() {
		t.Error("another vault's backup can be drilled")
	}
}

func TestRotationPreviewThenDelete(t *testing.T) {
	w, svc, _ := opsWindow(t, "en")
	s := backupsOn(t, w)
	s.keep.SetText("1")
	test.Tap(s.previewB)
	shows(t, w, "Keep 2026-01-15 09:00 — one of the newest 1")
	shows(t, w, "Delete 2026-01-14 09:00")
	if len(svc.opsNow().backups[stick]) != 3 {
		t.Fatal("the preview deleted a backup")
	}
	if s.applyB.Text != "Delete the 1 backups marked" || !s.applyB.Visible() {
		t.Fatalf("apply button %q", s.applyB.Text)
	}
	test.Tap(s.applyB)
	shows(t, w, "Old backups deleted: 1.")
	if n := len(svc.opsNow().backups[stick]); n != 2 || len(s.files) != 2 {
		t.Fatalf("%d backups left", n)
	}
	s.keep.SetText("0")
	test.Tap(s.previewB)
	shows(t, w, "Give whole numbers")
}

func TestRestoreWizard(t *testing.T) {
	w, svc, q := opsWindow(t, "en")
	backupsOn(t, w)
	test.Tap(w.ops.(*backupScreen).restoreB)
	z, ok := w.ops.(*restoreWizard)
	if !ok {
		t.Fatalf("Restore… shows %T", w.ops)
	}
	shows(t, w, "Step 1 of 5: choose the backup file")
	if !z.nextB.Disabled() {
		t.Fatal("Next before a file is chosen")
	}
	path := filepath.Join(stick, "a-20260115T090000Z.valvbak")
	z.setFile(path)
	test.Tap(z.nextB)
	shows(t, w, "Step 2 of 5: verify it")
	q.until(t, "the verification", func() bool { return z.report != nil })
	shows(t, w, "a-20260115T090000Z.valvbak verifies")
	shows(t, w, "Signed by admin 3fa2c1d0")
	if z.unsigned.Visible() {
		t.Error("a signed backup asks to accept it unsigned")
	}
	test.Tap(z.nextB)
	shows(t, w, "Step 3 of 5: choose a new folder")
	shows(t, w, "The vault in use is never replaced")
	if !z.nextB.Disabled() {
		t.Fatal("Restore before a folder is chosen")
	}
	parent := t.TempDir()
	z.setParent(parent)
	z.name.SetText("kopia")
	z.what.SetSelected("Only compartment Kunder Syd")
	shows(t, w, "Restores into: "+filepath.Join(parent, "kopia"))
	test.Tap(z.nextB)
	q.until(t, "the report", func() bool { return z.step == stepReport })
	shows(t, w, "Restored into "+filepath.Join(parent, "kopia"))
	o := svc.opsNow()
	if !slices.Equal(o.restored, []string{filepath.Join(parent, "kopia")}) || o.restoreOpt[0].Compartment != "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" || o.restoreOpt[0].AllowUnsigned {
		t.Fatalf("restored %q with %+v", o.restored, o.restoreOpt)
	}
	test.Tap(z.nextB) // Done
	if b, ok := w.ops.(*backupScreen); !ok || b.dest != stick {
		t.Fatalf("Done goes to %T", w.ops)
	}
}

func TestRestoreWizardUnsignedAndFailed(t *testing.T) {
	w, svc, q := opsWindow(t, "en")
	o := svc.opsNow()
	o.report.Signed = false
	w.showBackups()
	b := w.ops.(*backupScreen)
	b.openRestore(filepath.Join(stick, "a-20260115T090000Z.valvbak"))
	z := w.ops.(*restoreWizard)
	q.until(t, "the verification", func() bool { return z.report != nil })
	shows(t, w, "Not signed: made with the recovery key")
	if !z.unsigned.Visible() || !z.nextB.Disabled() {
		t.Fatal("an unsigned backup goes on without being accepted")
	}
	test.Tap(z.unsigned)
	if z.nextB.Disabled() {
		t.Fatal("accepting the unsigned backup does not allow Next")
	}
	test.Tap(z.nextB)
	z.setParent(t.TempDir())
	o.restoreErr = errors.New("backup: /x is not empty; a restore goes into a new folder and never over a vault")
	test.Tap(z.nextB)
	q.until(t, "the failure", func() bool { return z.verdict.Visible() && !z.task.busy() })
	shows(t, w, "The restore failed; what was written is removed. ")
	shows(t, w, "/x is not empty")
	if z.step != stepRestore || z.backB.Disabled() {
		t.Fatal("after a failed restore the wizard cannot go back")
	}
	test.Tap(z.backB)
	o.restoreErr = nil
	test.Tap(z.nextB)
	q.until(t, "the report", func() bool { return z.step == stepReport })
	if len(o.restoreOpt) != 1 || !o.restoreOpt[0].AllowUnsigned {
		t.Fatalf("restore options %+v", o.restoreOpt)
	}
}

func TestIntakeFileAndDiscard(t *testing.T) {
	w, svc, q := opsWindow(t, "en")
	test.Tap(findButton(t, w, "Intake"))
	s, ok := w.ops.(*intakeScreen)
	if !ok {
		t.Fatalf("Intake shows %T", w.ops)
	}
	shows(t, w, "inskannad-fullmakt.pdf · 1.9 KiB · Kunder Norr")
	shows(t, w, "DAMAGED, can only be discarded: intake item 03030303 does not decrypt")
	if !button(t, s.list, "File under customer…", 2).Disabled() {
		t.Error("a damaged item can be filed")
	}

	test.Tap(button(t, s.list, "File under customer…", 0))
	shows(t, w, "File inskannad-fullmakt.pdf under a customer of Kunder Norr")
	// A customer of the other compartment.
	test.Type(s.code, string(fakeCode(1)))
	shows(t, w, "That customer is in another compartment")
	if !s.fileB.Disabled() {
		t.Fatal("File is enabled for another compartment's customer")
	}
	// Part of a code lists the compartment's customers.
	s.code.SetText("")
	test.Type(s.code, "k7q3")
	if want := []string{string(fakeCode(0)), string(fakeCode(2)), string(fakeCode(4))}; !slices.Equal(s.picks.Options, want) {
		t.Fatalf("picks %q, want %q", s.picks.Options, want)
	}
	s.code.SetText("")
	test.Type(s.code, string(fakeCode(9)))
	shows(t, w, "No customer has this code.")
	s.code.SetText("k7q3-mx")
	s.picks.SetSelected(string(fakeCode(2)))
	shows(t, w, string(fakeCode(2))+" is a customer of this compartment.")
	test.Tap(s.fileB)
	q.until(t, "filed", func() bool { return s.verdict.Visible() })
	shows(t, w, "Filed inskannad-fullmakt.pdf under "+string(fakeCode(2))+" as a document.")
	o := svc.opsNow()
	if o.filed[idOf(1)] != fakeCode(2) || len(s.items) != 2 {
		t.Fatalf("filed %v; %d items left", o.filed, len(s.items))
	}

	// Discard asks first.
	test.Tap(button(t, s.list, "Discard…", 0))
	shows(t, w, "Discard kontoutdrag-mars.txt? It is deleted from the vault for good")
	test.Tap(findButton(t, w, "Keep it"))
	if len(o.discarded) != 0 || s.discardPanel.Visible() {
		t.Fatal("Keep it discarded the item")
	}
	test.Tap(button(t, s.list, "Discard…", 0))
	test.Tap(findButton(t, w, "Discard"))
	shows(t, w, "Discarded kontoutdrag-mars.txt.")
	if len(o.discarded) != 1 || o.discarded[0] != idOf(2) || len(s.items) != 1 {
		t.Fatalf("discarded %v, %d left", o.discarded, len(s.items))
	}

	// Import a folder.
	o.importRes = IntakeImport{Files: 2, Imported: 1, Failed: []string{"b.valvin: the intake file is damaged"}}
	s.importFolder("/media/anna/STICK")
	q.until(t, "imported", func() bool { return s.verdict.Visible() && !s.task.busy() })
	shows(t, w, "Files imported: 1; imported before and skipped: 0.")
	shows(t, w, "b.valvin: the intake file is damaged")
	shows(t, w, "brev.txt")
}

func TestEraseRefusedUntilCodeTypedBack(t *testing.T) {
	w, svc, q := opsWindow(t, "en")
	code := fakeCode(0)
	w.openDetail(code)
	test.Tap(findButton(t, w, "Erase…"))
	s, ok := w.ops.(*eraseScreen)
	if !ok {
		t.Fatalf("Erase… shows %T", w.ops)
	}
	shows(t, w, "Erase customer "+string(code)+" for good?")
	shows(t, w, "Backups made before now still hold the data until rotation deletes them.")
	shows(t, w, "To confirm, type the code "+string(code)+":")
	if !s.eraseB.Disabled() {
		t.Fatal("Erase is enabled before the code is typed")
	}
	test.Type(s.confirm, string(fakeCode(2)))
	test.Tap(s.eraseB)
	shows(t, w, "That does not match yet.")
	if len(svc.opsNow().erased) != 0 {
		t.Fatal("erased with another code typed")
	}
	// Cancel goes back to the detail.
	test.Tap(s.cancelB)
	if w.ops != nil || w.detail == nil {
		t.Fatal("Cancel does not go back to the detail")
	}
	test.Tap(findButton(t, w, "Erase…"))
	s = w.ops.(*eraseScreen)
	test.Type(s.confirm, strings.ToLower(strings.ReplaceAll(string(code), "-", "")))
	if s.eraseB.Disabled() {
		t.Fatal("the code typed back in lower case without dashes is refused")
	}
	test.Tap(s.eraseB)
	q.until(t, "erased", func() bool { return s.verdict.Visible() })
	shows(t, w, "Customers erased: 1. Older backups still hold them until rotation deletes them.")
	if s.task.bar.Value != 1 {
		t.Errorf("the compaction bar ended at %v", s.task.bar.Value)
	}
	if !slices.Equal(svc.opsNow().erased, []Code{code}) {
		t.Fatalf("erased %q", svc.opsNow().erased)
	}
	test.Tap(s.doneB)
	if w.ops != nil || w.detail != nil || w.customers == nil {
		t.Fatal("Done does not go to the customers list")
	}
	shows(t, w, "2 customers in this compartment.")
}

func TestRetentionEraseSelected(t *testing.T) {
	w, svc, q := opsWindow(t, "en")
	test.Tap(findButton(t, w, "Retention"))
	s, ok := w.ops.(*retentionScreen)
	if !ok {
		t.Fatalf("Retention shows %T", w.ops)
	}
	shows(t, w, "retain until 2024-03-10 · Kunder Syd")
	shows(t, w, "Past retention: 2; selected: 0.")
	if !s.eraseB.Disabled() {
		t.Fatal("Erase selected with nothing selected")
	}
	test.Tap(s.all)
	shows(t, w, "Past retention: 2; selected: 2.")
	test.Tap(s.eraseB)
	e := w.ops.(*eraseScreen)
	shows(t, w, "To confirm, type the number of customers (2):")
	test.Type(e.confirm, "3")
	if !e.eraseB.Disabled() {
		t.Fatal("the wrong number confirms")
	}
	e.confirm.SetText("2")
	test.Tap(e.eraseB)
	q.until(t, "erased", func() bool { return e.verdict.Visible() })
	if !slices.Equal(svc.opsNow().erased, []Code{fakeCode(1), fakeCode(3)}) {
		t.Fatalf("erased %q", svc.opsNow().erased)
	}
	test.Tap(e.doneB)
	shows(t, w, "No customer is past its retention date.")
}

// Locking closes an operations screen and cancels what it runs.
func TestLockClosesOperations(t *testing.T) {
	w, svc, q := opsWindow(t, "en")
	s := backupsOn(t, w)
	svc.opsNow().gate = make(chan struct{})
	test.Tap(s.backupB)
	q.until(t, "running", func() bool { return s.task.busy() })
	w.Lock()
	if w.ops != nil || !s.closed {
		t.Fatal("the backup screen survives the lock")
	}
	q.until(t, "the backup stops", func() bool { return svc.opsNow().cancelled.Load() == 1 })
	shows(t, w, "Unlock")
}
