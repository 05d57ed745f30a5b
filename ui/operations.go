package ui

import (
	"context"
	"fmt"
	"sync/atomic"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/valv-vault/valv/store/service"
)

// The operations screens: backups and restore (backup_screen.go,
// restore_wizard.go), the intake queue (intake_screen.go), and the
// customers past retention with erasure (retention_screen.go,
// erase_screen.go). Each is shown by a method of Window (showBackups,
// showIntake, showRetention, showErase) for the navigation to call.

// Types of the operations the screens show.
type (
	Medium         = service.Medium
	BackupProgress = service.BackupProgress
	BackupResult   = service.BackupResult
	BackupReport   = service.BackupReport
	BackupFile     = service.BackupFile
	DrillReport    = service.DrillReport
	RestoreOptions = service.RestoreOptions
	RotationPolicy = service.RotationPolicy
	Rotation       = service.Rotation
	IntakeItem     = service.IntakeItem
	IntakeID       = service.IntakeID
	IntakeImport   = service.IntakeImport
	RetentionDue   = service.RetentionDue
)

// OperationsService is what the operations screens need from the
// engine. Backups, restores, drills, filing intake and erasure are
// audited by the engine.
type OperationsService interface {
	Media() ([]Medium, error)
	Backup(ctx context.Context, dir string, progress func(BackupProgress)) (BackupResult, error)
	Backups(dir string) ([]BackupFile, error)
	Verify(ctx context.Context, path string, progress func(BackupProgress)) (BackupReport, error)
	Restore(ctx context.Context, path, into string, opts RestoreOptions, progress func(BackupProgress)) (BackupReport, error)
	Drill(ctx context.Context, path string, progress func(BackupProgress)) (DrillReport, error)
	Rotate(dir string, p RotationPolicy, dryRun bool) (Rotation, error)

	IntakeQueue() ([]IntakeItem, error)
	FileIntake(ctx context.Context, item IntakeItem, code Code, progress func(done, total int64)) (DocumentID, error)
	DiscardIntake(item IntakeID) error
	ImportIntake(ctx context.Context, dir string, progress func(done, total int64)) (IntakeImport, error)

	PastRetention() ([]RetentionDue, error)
	Erase(codes []Code, progress func(done, total int)) ([]Code, error)
}

// opsScreen is an operations screen shown in the window.
type opsScreen interface {
	view() fyne.CanvasObject
	// close cancels what runs and drops what the screen showed.
	close()
}

// showOps shows an operations screen in place of the customers list (or
// the detail, which stays open beneath an erase screen).
func (w *Window) showOps(s opsScreen) {
	w.closeOps()
	w.ops = s
	w.show(s.view())
}

// closeOps closes the operations screen, if one is open.
func (w *Window) closeOps() {
	if w.ops != nil {
		w.ops.close()
		w.ops = nil
	}
}

// backToCustomers leaves an operations screen for the customers list.
func (w *Window) backToCustomers() {
	w.activity()
	w.closeOps()
	if w.nav != nil {
		w.nav.highlight(navCustomers)
	}
	w.showCustomers()
}

// opsHeader is the top bar of an operations screen: Back (to the
// customers list if back is nil), the title, extra buttons, Lock.
func opsHeader(w *Window, title string, back func(), extra ...fyne.CanvasObject) fyne.CanvasObject {
	if back == nil {
		back = w.backToCustomers
	}
	backB := widget.NewButtonWithIcon(T("ops.back"), theme.NavigateBackIcon(), func() { w.activity(); back() })
	lock := widget.NewButtonWithIcon(T("window.lock"), theme.LogoutIcon(), w.Lock)
	t := widget.NewLabelWithStyle(title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	return container.NewBorder(nil, nil, container.NewHBox(backB, t), container.NewHBox(append(extra, lock)...), nil)
}

// heading is a bold label.
func heading(text string) *widget.Label {
	return widget.NewLabelWithStyle(text, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
}

// verdictLabel shows the outcome of an operation: success or the error.
type verdictLabel struct{ *widget.Label }

func newVerdict() verdictLabel {
	l := wrapped("")
	l.Hide()
	return verdictLabel{l}
}

func (v verdictLabel) ok(msg string)  { v.set(msg, widget.SuccessImportance) }
func (v verdictLabel) bad(msg string) { v.set(msg, widget.DangerImportance) }
func (v verdictLabel) info(msg string) {
	v.set(msg, widget.MediumImportance)
}
func (v verdictLabel) clear() { v.Hide() }

func (v verdictLabel) set(msg string, imp widget.Importance) {
	v.Importance = imp
	v.SetText(msg)
	v.Show()
}

// taskBar shows a running operation: what it does, a progress bar and
// Cancel. Progress arrives on the operation's goroutine and is shown
// through toUI, at most one update queued at a time.
type taskBar struct {
	box     *fyne.Container
	label   *widget.Label
	bar     *widget.ProgressBar
	cancelB *widget.Button

	run *task // nil when idle
}

// task is one running operation.
type task struct {
	cancel      context.CancelFunc
	phase       atomic.Value // string
	done, total atomic.Int64
	pending     atomic.Bool
}

func newTaskBar() *taskBar {
	b := &taskBar{label: widget.NewLabel(""), bar: widget.NewProgressBar()}
	b.cancelB = widget.NewButtonWithIcon(T("ops.cancel"), theme.CancelIcon(), b.cancel)
	b.box = container.NewBorder(nil, nil, b.label, b.cancelB, b.bar)
	b.box.Hide()
	return b
}

// busy reports whether an operation runs.
func (b *taskBar) busy() bool { return b.run != nil }

// start shows the bar for a new operation and returns its context.
// cancellable false hides Cancel (erasure cannot be stopped midway).
func (b *taskBar) start(what string, cancellable bool) (*task, context.Context) {
	ctx, cancel := context.WithCancel(context.Background())
	t := &task{cancel: cancel}
	t.phase.Store(what)
	b.run = t
	b.label.SetText(what)
	b.bar.Max = 1
	b.bar.SetValue(0)
	b.cancelB.Enable()
	b.cancelB.Hidden = !cancellable
	b.box.Show()
	b.box.Refresh()
	return t, ctx
}

// report returns the progress callback of t, for its goroutine; label
// says what the phase is called on screen.
func (b *taskBar) report(t *task, label func(phase string) string) func(phase string, done, total int64) {
	return func(phase string, done, total int64) {
		t.phase.Store(phase)
		t.done.Store(done)
		t.total.Store(total)
		if t.pending.Swap(true) {
			return
		}
		toUI(func() {
			t.pending.Store(false)
			if b.run != t {
				return
			}
			if total := t.total.Load(); total > 0 {
				b.bar.SetValue(min(1, float64(t.done.Load())/float64(total)))
			}
			if label != nil {
				b.label.SetText(label(t.phase.Load().(string)))
			}
		})
	}
}

// backupProgress adapts report to the engine's backup progress.
func (b *taskBar) backupProgress(t *task) func(BackupProgress) {
	f := b.report(t, phaseText)
	return func(p BackupProgress) { f(p.Phase, p.Done, p.Total) }
}

// phaseText says on screen what a backup phase does.
func phaseText(phase string) string {
	switch phase {
	case "backup":
		return T("backup.phase.backup")
	case "restore":
		return T("backup.phase.restore")
	}
	return T("backup.phase.verify")
}

// end hides the bar.
func (b *taskBar) end() {
	b.run = nil
	b.box.Hide()
}

// cancel stops the running operation.
func (b *taskBar) cancel() {
	if b.run != nil {
		b.run.cancel()
		b.cancelB.Disable()
		b.label.SetText(T("ops.cancelling"))
	}
}

// chooseFolder asks for a folder and calls f with its path.
func chooseFolder(w *Window, f func(path string)) {
	dialog.ShowFolderOpen(func(u fyne.ListableURI, err error) {
		w.activity()
		if err != nil || u == nil || u.Scheme() != "file" {
			return
		}
		f(u.Path())
	}, w)
}

// opsSize is a size for people, up to GiB (media and backups).
func opsSize(n int64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	}
	return humanSize(n)
}
