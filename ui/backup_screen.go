package ui

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/valv-vault/valv/store/service"
)

// backupScreen is where an admin backs the vault up: the removable media
// mounted now (label, size, free space) or any folder, Back up now with a
// progress bar and Cancel, a plain verdict (written and read back whole,
// or the error), the history of Valv's backup files on that medium with
// Verify, Drill and Restore for each, and rotation with a preview of what
// it would delete. Restore opens the restore wizard.
type backupScreen struct {
	w       *Window
	content fyne.CanvasObject

	mediaPick  *widget.RadioGroup
	mediaNone  *widget.Label
	mediaPaths map[string]string // radio option → mount point
	destLabel  *widget.Label
	backupB    *widget.Button
	restoreB   *widget.Button
	task       *taskBar
	verdict    verdictLabel
	report     *widget.Label
	history    *fyne.Container
	keep       *widget.Entry
	monthly    *widget.Entry
	previewB   *widget.Button
	rotation   *fyne.Container
	applyB     *widget.Button

	dest   string
	files  []BackupFile
	plan   *Rotation
	comps  map[string]string // compartment id → name
	closed bool
}

// showBackups opens the backup screen.
func (w *Window) showBackups() { w.showOps(newBackupScreen(w)) }

func newBackupScreen(w *Window) *backupScreen {
	s := &backupScreen{w: w, mediaPaths: map[string]string{}, comps: map[string]string{}}
	s.mediaPick = widget.NewRadioGroup(nil, func(option string) {
		w.activity()
		if p, ok := s.mediaPaths[option]; ok {
			s.choose(p)
		}
	})
	s.mediaNone = wrapped(T("backup.nomedia"))
	s.mediaNone.Hide()
	chooseB := widget.NewButtonWithIcon(T("backup.choosefolder"), theme.FolderOpenIcon(), func() {
		w.activity()
		chooseFolder(w, func(p string) {
			s.mediaPick.SetSelected("")
			s.choose(p)
		})
	})
	refreshB := widget.NewButtonWithIcon(T("backup.refresh"), theme.ViewRefreshIcon(), func() {
		w.activity()
		s.loadMedia()
	})
	s.destLabel = wrapped(T("backup.nodest"))
	s.backupB = widget.NewButtonWithIcon(T("backup.now"), theme.UploadIcon(), s.backup)
	s.backupB.Importance = widget.HighImportance
	s.backupB.Disable()
	s.task = newTaskBar()
	s.verdict = newVerdict()
	s.report = wrapped("")
	s.report.Hide()
	s.history = container.NewVBox()
	s.keep = widget.NewEntry()
	s.keep.SetText(strconv.Itoa(service.DefaultRotation.Keep))
	s.monthly = widget.NewEntry()
	s.monthly.SetText(strconv.Itoa(service.DefaultRotation.Monthly))
	s.previewB = widget.NewButtonWithIcon(T("rotate.preview"), theme.SearchIcon(), func() { s.rotate(true) })
	s.previewB.Disable()
	s.rotation = container.NewVBox()
	s.applyB = widget.NewButtonWithIcon("", theme.DeleteIcon(), func() { s.rotate(false) })
	s.applyB.Importance = widget.DangerImportance
	s.applyB.Hide()

	s.restoreB = widget.NewButtonWithIcon(T("backup.restore"), theme.HistoryIcon(), func() {
		w.activity()
		s.openRestore("")
	})
	small := func(e *widget.Entry) fyne.CanvasObject {
		return container.NewGridWrap(fyne.NewSize(60, e.MinSize().Height), e)
	}
	policy := container.NewHBox(widget.NewLabel(T("rotate.keep")), small(s.keep), widget.NewLabel(T("rotate.monthly")), small(s.monthly), widget.NewLabel(T("rotate.months")), s.previewB)
	body := container.NewVBox(
		heading(T("backup.where")), s.mediaPick, s.mediaNone, container.NewHBox(chooseB, refreshB), s.destLabel,
		container.NewHBox(s.backupB), s.task.box, s.verdict.Label, s.report,
		widget.NewSeparator(), heading(T("backup.history")), s.history,
		widget.NewSeparator(), heading(T("rotate.title")), wrapped(T("rotate.explain")), policy, s.rotation, container.NewHBox(s.applyB),
	)
	s.content = container.NewBorder(opsHeader(w, T("backup.title"), nil, s.restoreB), nil, nil, nil, container.NewVScroll(body))
	s.loadMedia()
	s.loadCompartments()
	s.showHistory()
	return s
}

func (s *backupScreen) view() fyne.CanvasObject { return s.content }

func (s *backupScreen) close() {
	s.closed = true
	if s.task.run != nil {
		s.task.run.cancel()
	}
	s.history.RemoveAll()
	s.rotation.RemoveAll()
	s.report.SetText("")
}

// relayout lays the screen out again after parts showed or hid.
func (s *backupScreen) relayout() { s.content.Refresh() }

// loadMedia lists the removable media mounted now.
func (s *backupScreen) loadMedia() {
	svc := s.w.svc
	background(func() {
		ms, err := svc.Media()
		fyne.Do(func() {
			if s.closed {
				return
			}
			if err != nil {
				s.verdict.bad(explain(err))
				return
			}
			s.showMedia(ms)
		})
	})
}

func (s *backupScreen) showMedia(ms []Medium) {
	s.mediaPaths = map[string]string{}
	var options []string
	selected := ""
	for _, m := range ms {
		free := T("backup.freeunknown")
		if m.Free >= 0 {
			free = opsSize(m.Free)
		}
		o := T("backup.medium", map[string]any{"Label": m.Label, "Size": opsSize(m.Size), "Free": free, "Path": m.MountPoint})
		if m.ReadOnly {
			o += " · " + T("backup.readonly")
		}
		options = append(options, o)
		s.mediaPaths[o] = m.MountPoint
		if m.MountPoint == s.dest {
			selected = o
		}
	}
	s.mediaPick.Options = options
	s.mediaPick.Selected = selected
	s.mediaPick.Refresh()
	if len(ms) == 0 {
		s.mediaNone.Show()
	} else {
		s.mediaNone.Hide()
	}
	s.relayout()
}

// loadCompartments reads the compartments' names, for drill reports.
func (s *backupScreen) loadCompartments() {
	svc := s.w.svc
	background(func() {
		comps, err := svc.Compartments()
		fyne.Do(func() {
			if err == nil {
				for _, c := range comps {
					s.comps[c.ID] = c.Name
				}
			}
		})
	})
}

// choose makes dir the place backups go to, and lists its backups.
func (s *backupScreen) choose(dir string) {
	if dir == "" {
		return
	}
	s.dest = dir
	s.mediaPick.Selected = ""
	for o, p := range s.mediaPaths {
		if p == dir {
			s.mediaPick.Selected = o
		}
	}
	s.mediaPick.Refresh()
	s.destLabel.SetText(T("backup.dest", map[string]any{"Path": dir}))
	s.plan = nil
	s.rotation.RemoveAll()
	s.applyB.Hide()
	if !s.task.busy() {
		s.backupB.Enable()
		s.previewB.Enable()
	}
	s.loadHistory()
}

// loadHistory lists Valv's backup files at the destination.
func (s *backupScreen) loadHistory() {
	svc, dir := s.w.svc, s.dest
	background(func() {
		files, err := svc.Backups(dir)
		fyne.Do(func() {
			if s.closed || dir != s.dest {
				return
			}
			if err != nil {
				s.verdict.bad(explain(err))
				files = nil
			}
			s.files = files
			s.showHistory()
		})
	})
}

func (s *backupScreen) showHistory() {
	s.history.RemoveAll()
	switch {
	case s.dest == "":
		s.history.Add(widget.NewLabel(T("backup.choosefirst")))
	case len(s.files) == 0:
		s.history.Add(widget.NewLabel(T("backup.nobackups")))
	}
	busy := s.task.busy()
	for _, f := range s.files {
		row := T("backup.row", map[string]any{"Time": f.Time.Local().Format("2006-01-02 15:04"), "Size": opsSize(f.Size)})
		var state *widget.Label
		switch {
		case !f.ThisVault:
			state = widget.NewLabel(T("backup.othervault"))
			state.Importance = widget.LowImportance
		case f.State == service.VerifyFailed:
			state = widget.NewLabel(T("backup.state.failed"))
			state.Importance = widget.DangerImportance
		case f.State == service.VerifiedAgain:
			state = widget.NewLabel(T("backup.state.again", map[string]any{"Time": f.Checked.Local().Format("2006-01-02 15:04")}))
			state.Importance = widget.SuccessImportance
		default:
			state = widget.NewLabel(T("backup.state.written"))
		}
		verify := widget.NewButtonWithIcon(T("backup.verify"), theme.ConfirmIcon(), func() { s.verify(f) })
		drill := widget.NewButtonWithIcon(T("backup.drill"), theme.MediaReplayIcon(), func() { s.drill(f) })
		restore := widget.NewButtonWithIcon(T("backup.restorethis"), theme.HistoryIcon(), func() {
			s.w.activity()
			s.openRestore(f.Path)
		})
		if busy || !f.ThisVault {
			verify.Disable()
			drill.Disable()
			restore.Disable()
		}
		label := widget.NewLabelWithStyle(row, fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
		s.history.Add(container.NewBorder(nil, nil, container.NewHBox(widget.NewIcon(theme.FileIcon()), label, state), container.NewHBox(verify, drill, restore)))
	}
	s.history.Refresh()
	s.relayout()
}

// setBusy enables or disables what starts an operation.
func (s *backupScreen) setBusy(busy bool) {
	for _, b := range []*widget.Button{s.backupB, s.previewB} {
		if busy || s.dest == "" {
			b.Disable()
		} else {
			b.Enable()
		}
	}
	s.showHistory()
}

// begin starts an operation on the task bar.
func (s *backupScreen) begin(what string) (*task, context.Context) {
	s.w.activity()
	s.verdict.clear()
	s.report.Hide()
	t, ctx := s.task.start(what, true)
	s.setBusy(true)
	return t, ctx
}

// finish ends the operation on the UI goroutine; false if the screen
// was closed meanwhile.
func (s *backupScreen) finish() bool {
	if s.closed {
		return false
	}
	s.task.end()
	s.setBusy(false)
	return true
}

// backup writes a backup to the destination.
func (s *backupScreen) backup() {
	if s.dest == "" || s.task.busy() {
		return
	}
	t, ctx := s.begin(T("backup.phase.backup"))
	svc, dir, progress := s.w.svc, s.dest, s.task.backupProgress(t)
	go func() {
		res, err := svc.Backup(ctx, dir, progress)
		toUI(func() {
			if !s.finish() {
				return
			}
			switch {
			case errors.Is(err, context.Canceled):
				s.verdict.bad(T("backup.cancelled"))
			case err != nil:
				s.verdict.bad(T("backup.failed", map[string]any{"Err": explain(err)}))
			case !res.Verified:
				s.verdict.bad(T("backup.failed", map[string]any{"Err": T("backup.notverified")}))
			default:
				s.verdict.ok(T("backup.done", map[string]any{"Name": filepath.Base(res.Path), "Size": opsSize(res.Bytes), "Files": res.Files}))
			}
			s.relayout()
			s.loadHistory()
			s.loadMedia()
		})
	}()
}

// verify reads a backup whole and shows what it found.
func (s *backupScreen) verify(f BackupFile) {
	if s.task.busy() {
		return
	}
	t, ctx := s.begin(T("backup.phase.verify"))
	svc, progress := s.w.svc, s.task.backupProgress(t)
	go func() {
		rep, err := svc.Verify(ctx, f.Path, progress)
		toUI(func() {
			if !s.finish() {
				return
			}
			switch {
			case errors.Is(err, context.Canceled):
				s.verdict.bad(T("backup.verifycancelled"))
			case err != nil:
				s.verdict.bad(T("backup.verifyfailed", map[string]any{"Name": filepath.Base(f.Path), "Err": explain(err)}))
			default:
				s.verdict.ok(T("backup.verifyok", map[string]any{"Name": filepath.Base(f.Path)}))
				s.showReport(reportText(rep))
			}
			s.relayout()
			s.loadHistory()
		})
	}()
}

// drill runs a restore drill of a backup and shows its report.
func (s *backupScreen) drill(f BackupFile) {
	if s.task.busy() {
		return
	}
	t, ctx := s.begin(T("drill.running"))
	svc := s.w.svc
	report := s.task.report(t, func(string) string { return T("drill.running") })
	progress := func(p BackupProgress) { report(p.Phase, p.Done, p.Total) }
	go func() {
		rep, err := svc.Drill(ctx, f.Path, progress)
		toUI(func() {
			if !s.finish() {
				return
			}
			switch {
			case err != nil && rep.Backup == nil && len(rep.Failures) == 0:
				s.verdict.bad(T("drill.error", map[string]any{"Err": explain(err)}))
			case err == nil && rep.OK():
				s.verdict.ok(T("drill.passed"))
				s.showReport(s.drillText(rep))
			default:
				s.verdict.bad(T("drill.failed", arg(len(rep.Failures))))
				s.showReport(s.drillText(rep))
			}
			s.relayout()
		})
	}()
}

func (s *backupScreen) showReport(text string) {
	s.report.SetText(text)
	s.report.Show()
	s.relayout()
}

// reportText describes a verified backup.
func reportText(r BackupReport) string {
	sig := T("backup.sig.none")
	switch {
	case r.Signed && r.SignerEnrolled:
		sig = T("backup.sig.enrolled", map[string]any{"By": r.By})
	case r.Signed:
		sig = T("backup.sig.inside", map[string]any{"By": r.By})
	}
	var entries uint64
	for _, f := range r.Files {
		entries += f.AuditEntries
	}
	return T("backup.report", map[string]any{
		"Created": r.Created.Local().Format("2006-01-02 15:04"), "Files": len(r.Files), "Size": opsSize(r.Bytes), "Entries": entries, "App": r.App,
	}) + "\n" + sig
}

// drillText is a drill's report in words.
func (s *backupScreen) drillText(r DrillReport) string {
	var b strings.Builder
	if r.Backup != nil {
		b.WriteString(reportText(*r.Backup) + "\n")
	}
	b.WriteString(T("drill.audit", arg(r.AuditLogs)) + "\n")
	for _, c := range r.Compartments {
		name := s.comps[c.ID.String()]
		if name == "" {
			name = c.ID.String()[:8]
		}
		b.WriteString(T("drill.compartment", map[string]any{"Name": name, "Restored": c.Restored, "Live": c.Live,
			"Equal": c.Equal, "Sampled": c.Sampled, "DocsOK": c.DocumentsOK, "Docs": c.Documents}) + "\n")
	}
	for _, n := range r.Notes {
		b.WriteString(T("drill.note", map[string]any{"Text": n}) + "\n")
	}
	for _, f := range r.Failures {
		b.WriteString(T("drill.problem", map[string]any{"Text": f}) + "\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// policy reads the rotation policy typed.
func (s *backupScreen) policy() (RotationPolicy, error) {
	keep, err1 := strconv.Atoi(strings.TrimSpace(s.keep.Text))
	monthly, err2 := strconv.Atoi(strings.TrimSpace(s.monthly.Text))
	if err1 != nil || err2 != nil || keep < 1 || monthly < 0 {
		return RotationPolicy{}, errors.New(T("rotate.badpolicy"))
	}
	return RotationPolicy{Keep: keep, Monthly: monthly}, nil
}

// rotate previews the rotation (dryRun), or deletes what the preview
// listed (the button shows how many).
func (s *backupScreen) rotate(dryRun bool) {
	s.w.activity()
	if s.dest == "" || s.task.busy() {
		return
	}
	p, err := s.policy()
	if err != nil {
		s.verdict.bad(err.Error())
		s.relayout()
		return
	}
	if !dryRun && (s.plan == nil || len(s.plan.Delete) == 0) {
		return
	}
	svc, dir := s.w.svc, s.dest
	background(func() {
		r, err := svc.Rotate(dir, p, dryRun)
		fyne.Do(func() {
			if s.closed {
				return
			}
			s.verdict.clear()
			if err != nil {
				s.verdict.bad(explain(err))
				s.relayout()
				return
			}
			if dryRun {
				s.showPlan(&r)
				return
			}
			s.plan = nil
			s.rotation.RemoveAll()
			s.applyB.Hide()
			s.verdict.ok(T("rotate.done", arg(len(r.Delete))))
			s.loadHistory()
		})
	})
}

func (s *backupScreen) showPlan(r *Rotation) {
	s.plan = r
	s.rotation.RemoveAll()
	for _, f := range r.Keep {
		reason := T("rotate.reason.last", arg(s.keep.Text))
		if strings.HasPrefix(f.Reason, "newest of ") {
			reason = T("rotate.reason.month", map[string]any{"Month": f.Name.Time.Format("2006-01")})
		}
		l := widget.NewLabel(T("rotate.keeps", map[string]any{"Time": f.Name.Time.Local().Format("2006-01-02 15:04"), "Reason": reason}))
		s.rotation.Add(l)
	}
	for _, f := range r.Delete {
		l := widget.NewLabel(T("rotate.deletes", map[string]any{"Time": f.Name.Time.Local().Format("2006-01-02 15:04")}))
		l.Importance = widget.DangerImportance
		s.rotation.Add(l)
	}
	if len(r.Delete) == 0 {
		s.rotation.Add(widget.NewLabel(T("rotate.nothing")))
		s.applyB.Hide()
	} else {
		s.applyB.SetText(T("rotate.apply", arg(len(r.Delete))))
		s.applyB.Show()
	}
	s.relayout()
}

// openRestore opens the restore wizard (on path, if given); its Back
// comes back here.
func (s *backupScreen) openRestore(path string) {
	dest := s.dest
	w := s.w
	w.showOps(newRestoreWizard(w, path, func() {
		w.showBackups()
		if b, ok := w.ops.(*backupScreen); ok && dest != "" {
			b.choose(dest)
		}
	}))
}
