package ui

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// Steps of the restore wizard.
const (
	stepPick    = iota + 1 // choose the backup file
	stepVerify             // read it whole and check it
	stepFolder             // choose a new folder, and what to restore
	stepRestore            // restore, with progress
	stepReport             // what was restored where
	stepCount   = stepReport
)

// restoreWizard restores a backup into a new folder, step by step: pick
// the file, verify it (the report says who made it and whether the
// signature is an enrolled admin's; an unsigned backup must be accepted
// explicitly), choose a new folder and the whole vault or one
// compartment, restore with progress and Cancel, and the report. It never
// offers to restore over the vault in use.
type restoreWizard struct {
	w       *Window
	content fyne.CanvasObject
	onBack  func()

	step      int
	stepLabel *widget.Label
	body      *fyne.Container
	task      *taskBar
	verdict   verdictLabel
	backB     *widget.Button
	nextB     *widget.Button

	fileLabel   *widget.Label
	reportLabel *widget.Label
	unsigned    *widget.Check
	parentLabel *widget.Label
	name        *widget.Entry
	what        *widget.Select
	intoLabel   *widget.Label
	doneLabel   *widget.Label

	path   string
	report *BackupReport
	parent string
	comps  []Compartment
	closed bool
}

func newRestoreWizard(w *Window, path string, onBack func()) *restoreWizard {
	z := &restoreWizard{w: w, onBack: onBack}
	z.stepLabel = heading("")
	z.body = container.NewVBox()
	z.task = newTaskBar()
	z.verdict = newVerdict()
	z.backB = widget.NewButtonWithIcon(T("wizard.back"), theme.NavigateBackIcon(), z.back)
	z.nextB = widget.NewButtonWithIcon(T("wizard.next"), theme.NavigateNextIcon(), z.next)
	z.nextB.Importance = widget.HighImportance

	z.fileLabel = wrapped(T("restore.nofile"))
	z.reportLabel = wrapped("")
	z.unsigned = widget.NewCheck(T("restore.acceptunsigned"), func(bool) { z.w.activity(); z.update() })
	z.parentLabel = wrapped(T("restore.noparent"))
	z.name = widget.NewEntry()
	z.name.SetText("valv-restored-" + time.Now().Format("20060102-1504"))
	z.name.OnChanged = func(string) { z.update() }
	z.what = widget.NewSelect([]string{T("restore.whole")}, func(string) { z.update() })
	z.what.SetSelectedIndex(0)
	z.intoLabel = wrapped("")
	z.doneLabel = wrapped("")

	// Back in the header leaves the wizard for where it was opened.
	top := container.NewVBox(opsHeader(w, T("restore.title"), func() { z.onBack() }), z.stepLabel)
	bottom := container.NewVBox(z.task.box, z.verdict.Label, container.NewBorder(nil, nil, z.backB, z.nextB))
	z.content = container.NewBorder(top, bottom, nil, nil, container.NewVScroll(z.body))
	z.loadCompartments()
	if path != "" {
		z.path = path
		z.fileLabel.SetText(T("restore.file", map[string]any{"Name": filepath.Base(path), "Path": path}))
		z.show(stepVerify)
	} else {
		z.show(stepPick)
	}
	return z
}

func (z *restoreWizard) view() fyne.CanvasObject { return z.content }

func (z *restoreWizard) close() {
	z.closed = true
	if z.task.run != nil {
		z.task.run.cancel()
	}
	z.reportLabel.SetText("")
	z.report = nil
}

func (z *restoreWizard) loadCompartments() {
	svc := z.w.svc
	background(func() {
		comps, err := svc.Compartments()
		fyne.Do(func() {
			if err == nil && !z.closed {
				z.comps = comps
			}
		})
	})
}

// show makes step the current one.
func (z *restoreWizard) show(step int) {
	z.step = step
	z.verdict.clear()
	z.body.RemoveAll()
	titles := map[int]string{
		stepPick: T("restore.step.pick"), stepVerify: T("restore.step.verify"), stepFolder: T("restore.step.folder"),
		stepRestore: T("restore.step.restore"), stepReport: T("restore.step.report"),
	}
	z.stepLabel.SetText(T("restore.step", map[string]any{"N": step, "Of": stepCount, "Title": titles[step]}))
	z.nextB.SetText(T("wizard.next"))
	switch step {
	case stepPick:
		chooseB := widget.NewButtonWithIcon(T("restore.choosefile"), theme.FileIcon(), z.chooseFile)
		z.body.Add(wrapped(T("restore.pickhelp")))
		z.body.Add(container.NewHBox(chooseB))
		z.body.Add(z.fileLabel)
	case stepVerify:
		z.body.Add(z.fileLabel)
		z.body.Add(z.reportLabel)
		z.body.Add(z.unsigned)
		z.unsigned.Hide()
		z.reportLabel.SetText("")
		z.verify()
	case stepFolder:
		chooseB := widget.NewButtonWithIcon(T("restore.chooseparent"), theme.FolderOpenIcon(), func() {
			z.w.activity()
			chooseFolder(z.w, z.setParent)
		})
		z.setCompartments()
		z.body.Add(wrapped(T("restore.newfolderhelp")))
		z.body.Add(container.NewHBox(chooseB))
		z.body.Add(z.parentLabel)
		z.body.Add(widget.NewForm(widget.NewFormItem(T("restore.name"), z.name), widget.NewFormItem(T("restore.what"), z.what)))
		z.body.Add(z.intoLabel)
		z.nextB.SetText(T("restore.start"))
	case stepRestore:
		z.body.Add(wrapped(T("restore.running", map[string]any{"Path": z.into()})))
		z.restore()
	case stepReport:
		z.body.Add(z.doneLabel)
		z.body.Add(z.reportLabel)
		z.body.Add(wrapped(T("restore.after")))
		z.nextB.SetText(T("wizard.done"))
	}
	z.update()
	z.content.Refresh()
}

// update enables Back and Next for the state of the step.
func (z *restoreWizard) update() {
	back, next := z.step > stepPick && z.step != stepReport, false
	switch z.step {
	case stepPick:
		next = z.path != ""
	case stepVerify:
		next = z.report != nil && (z.report.Signed || z.unsigned.Checked)
	case stepFolder:
		into := z.into()
		next = into != ""
		if into != "" {
			z.intoLabel.SetText(T("restore.into", map[string]any{"Path": into}))
		} else {
			z.intoLabel.SetText(T("restore.noparent"))
		}
	case stepReport:
		next = true
	}
	if z.task.busy() {
		back, next = false, false
	}
	enable(z.backB, back)
	enable(z.nextB, next)
}

func enable(b *widget.Button, on bool) {
	if on {
		b.Enable()
	} else {
		b.Disable()
	}
}

func (z *restoreWizard) back() {
	z.w.activity()
	switch z.step {
	case stepVerify:
		z.show(stepPick)
	case stepFolder:
		z.show(stepVerify)
	case stepRestore:
		z.show(stepFolder)
	}
}

func (z *restoreWizard) next() {
	z.w.activity()
	switch z.step {
	case stepPick:
		z.report = nil
		z.unsigned.SetChecked(false)
		z.show(stepVerify)
	case stepVerify:
		z.show(stepFolder)
	case stepFolder:
		z.show(stepRestore)
	case stepReport:
		z.onBack()
	}
}

// chooseFile asks for the backup file.
func (z *restoreWizard) chooseFile() {
	z.w.activity()
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		z.w.activity()
		if err != nil || r == nil {
			return
		}
		r.Close()
		if r.URI().Scheme() == "file" {
			z.setFile(r.URI().Path())
		}
	}, z.w)
	d.Show()
}

// setFile chooses the backup file.
func (z *restoreWizard) setFile(path string) {
	z.path = path
	z.report = nil
	z.fileLabel.SetText(T("restore.file", map[string]any{"Name": filepath.Base(path), "Path": path}))
	z.update()
}

// setParent chooses the folder the new folder is made in.
func (z *restoreWizard) setParent(dir string) {
	z.parent = dir
	z.parentLabel.SetText(T("restore.parent", map[string]any{"Path": dir}))
	z.update()
}

// into is the new folder, or "" if not chosen yet or the name is not a
// plain folder name.
func (z *restoreWizard) into() string {
	name := strings.TrimSpace(z.name.Text)
	if z.parent == "" || name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
		return ""
	}
	return filepath.Join(z.parent, name)
}

// setCompartments offers the whole vault or each compartment in the
// backup.
func (z *restoreWizard) setCompartments() {
	options := []string{T("restore.whole")}
	if z.report != nil {
		for _, f := range z.report.Files {
			if f.Compartment != "" {
				options = append(options, z.compartmentName(f.Compartment))
			}
		}
	}
	sel := z.what.Selected
	z.what.SetOptions(options)
	if !containsString(options, sel) {
		z.what.SetSelectedIndex(0)
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (z *restoreWizard) compartmentName(id string) string {
	for _, c := range z.comps {
		if c.ID == id && c.Name != "" {
			return T("restore.onlycomp", map[string]any{"Name": c.Name})
		}
	}
	return T("restore.onlycomp", map[string]any{"Name": id[:min(8, len(id))]})
}

// compartment is the id of the compartment chosen, or "" for the whole
// vault.
func (z *restoreWizard) compartment() string {
	if z.report == nil {
		return ""
	}
	for _, f := range z.report.Files {
		if f.Compartment != "" && z.compartmentName(f.Compartment) == z.what.Selected {
			return f.Compartment
		}
	}
	return ""
}

// verify reads the chosen backup whole.
func (z *restoreWizard) verify() {
	if z.task.busy() || z.path == "" {
		return
	}
	t, ctx := z.task.start(T("backup.phase.verify"), true)
	svc, path, progress := z.w.svc, z.path, z.task.backupProgress(t)
	go func() {
		rep, err := svc.Verify(ctx, path, progress)
		toUI(func() {
			if z.closed {
				return
			}
			z.task.end()
			if z.step != stepVerify || path != z.path {
				return
			}
			switch {
			case errors.Is(err, context.Canceled):
				z.verdict.bad(T("backup.verifycancelled"))
			case err != nil:
				z.verdict.bad(T("backup.verifyfailed", map[string]any{"Name": filepath.Base(path), "Err": explain(err)}))
			default:
				z.report = &rep
				z.reportLabel.SetText(reportText(rep))
				z.verdict.ok(T("backup.verifyok", map[string]any{"Name": filepath.Base(path)}))
				if !rep.Signed {
					z.unsigned.Show()
				}
			}
			z.update()
			z.content.Refresh()
		})
	}()
}

// restore restores into the new folder.
func (z *restoreWizard) restore() {
	into := z.into()
	if z.task.busy() || z.report == nil || into == "" {
		return
	}
	t, ctx := z.task.start(T("backup.phase.restore"), true)
	svc, path, progress := z.w.svc, z.path, z.task.backupProgress(t)
	opts := RestoreOptions{Compartment: z.compartment(), AllowUnsigned: !z.report.Signed && z.unsigned.Checked}
	go func() {
		rep, err := svc.Restore(ctx, path, into, opts, progress)
		toUI(func() {
			if z.closed {
				return
			}
			z.task.end()
			switch {
			case errors.Is(err, context.Canceled):
				z.verdict.bad(T("restore.cancelled"))
			case err != nil:
				z.verdict.bad(T("restore.failed", map[string]any{"Err": explain(err)}))
			default:
				z.doneLabel.SetText(T("restore.done", map[string]any{"Path": into}))
				z.doneLabel.Importance = widget.SuccessImportance
				z.reportLabel.SetText(reportText(rep))
				z.show(stepReport)
				return
			}
			z.update()
			z.content.Refresh()
		})
	}()
}
