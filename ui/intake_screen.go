package ui

import (
	"context"
	"errors"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/valv-vault/valv/store/service"
)

// intakeSearchLimit bounds the customers offered while a code is typed.
const intakeSearchLimit = 20

// intakeScreen is the queue of sealed intake items of the unlocked
// compartments: when each was received, its size, its sealed file name
// (shown only here; the audit log records item ids) and its compartment,
// damaged items marked. An item is filed under a customer of its
// compartment (the code is checked as it is typed, or picked from a
// search) or discarded after a confirmation. Import folder takes in the
// *.valvin files of a folder, e.g. a USB stick.
type intakeScreen struct {
	w       *Window
	content fyne.CanvasObject

	list    *fyne.Container
	task    *taskBar
	verdict verdictLabel
	importB *widget.Button

	filePanel *fyne.Container
	fileTitle *widget.Label
	code      *widget.Entry
	codeCheck *widget.Label
	picks     *widget.Select
	fileB     *widget.Button

	discardPanel *fyne.Container
	discardText  *widget.Label

	items      []IntakeItem
	comps      map[string]string // id → name
	filing     *IntakeItem
	valid      Code // the code typed, checked to be of the item's compartment
	discarding *IntakeItem
	closed     bool
}

// showIntake opens the intake queue.
func (w *Window) showIntake() { w.showOps(newIntakeScreen(w)) }

func newIntakeScreen(w *Window) *intakeScreen {
	s := &intakeScreen{w: w, comps: map[string]string{}}
	s.list = container.NewVBox()
	s.task = newTaskBar()
	s.verdict = newVerdict()
	s.importB = widget.NewButtonWithIcon(T("intake.import"), theme.FolderOpenIcon(), func() {
		w.activity()
		chooseFolder(w, s.importFolder)
	})

	s.fileTitle = heading("")
	s.code = widget.NewEntry()
	s.code.SetPlaceHolder(T("intake.codeplaceholder"))
	s.code.OnChanged = s.codeChanged
	s.code.OnSubmitted = func(string) { s.file() }
	s.codeCheck = wrapped(T("intake.codehint"))
	s.picks = widget.NewSelect(nil, func(c string) {
		if c != "" && c != s.code.Text {
			s.code.SetText(c)
		}
	})
	s.picks.PlaceHolder = T("intake.pick")
	s.fileB = widget.NewButtonWithIcon(T("intake.fileit"), theme.ConfirmIcon(), s.file)
	s.fileB.Importance = widget.HighImportance
	s.fileB.Disable()
	cancelFile := widget.NewButtonWithIcon(T("ops.cancel"), theme.CancelIcon(), func() { w.activity(); s.closePanels() })
	s.filePanel = container.NewVBox(s.fileTitle,
		container.NewBorder(nil, nil, widget.NewLabel(T("intake.code")), container.NewHBox(s.fileB, cancelFile), s.code),
		s.codeCheck, container.NewBorder(nil, nil, widget.NewLabel(T("intake.orpick")), nil, s.picks), widget.NewSeparator())
	s.filePanel.Hide()

	s.discardText = wrapped("")
	s.discardText.Importance = widget.WarningImportance
	discardB := widget.NewButtonWithIcon(T("intake.discardit"), theme.DeleteIcon(), s.discard)
	discardB.Importance = widget.DangerImportance
	keepB := widget.NewButtonWithIcon(T("intake.keep"), theme.CancelIcon(), func() { w.activity(); s.closePanels() })
	s.discardPanel = container.NewVBox(s.discardText, container.NewHBox(discardB, keepB), widget.NewSeparator())
	s.discardPanel.Hide()

	hint := wrapped(T("intake.hint"))
	hint.Importance = widget.LowImportance
	top := container.NewVBox(opsHeader(w, T("intake.title"), nil, s.importB), hint, s.task.box, s.verdict.Label, s.filePanel, s.discardPanel)
	s.content = container.NewBorder(top, nil, nil, nil, container.NewVScroll(s.list))
	s.load()
	return s
}

func (s *intakeScreen) view() fyne.CanvasObject { return s.content }

func (s *intakeScreen) close() {
	s.closed = true
	if s.task.run != nil {
		s.task.run.cancel()
	}
	s.items = nil
	s.filing, s.discarding = nil, nil
	s.list.RemoveAll()
}

func (s *intakeScreen) relayout() { s.content.Refresh() }

// load lists the queue (audited by the store) and the compartments'
// names.
func (s *intakeScreen) load() {
	svc := s.w.svc
	background(func() {
		items, err := svc.IntakeQueue()
		comps, cerr := svc.Compartments()
		fyne.Do(func() {
			if s.closed {
				return
			}
			if err == nil {
				err = cerr
			}
			if err != nil {
				s.verdict.bad(explain(err))
				s.relayout()
				return
			}
			for _, c := range comps {
				s.comps[c.ID] = c.Name
			}
			s.items = items
			s.showList()
		})
	})
}

func (s *intakeScreen) compName(id string) string {
	if n := s.comps[id]; n != "" {
		return n
	}
	return id[:min(8, len(id))]
}

func (s *intakeScreen) showList() {
	s.list.RemoveAll()
	if len(s.items) == 0 {
		s.list.Add(widget.NewLabel(T("intake.empty")))
	}
	busy := s.task.busy()
	for _, it := range s.items {
		received := widget.NewLabelWithStyle(it.Received.Local().Format("2006-01-02 15:04"), fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
		var what *widget.Label
		if it.Damaged != "" {
			what = widget.NewLabel(T("intake.damaged", map[string]any{"Why": strings.TrimPrefix(strings.TrimPrefix(it.Damaged, "store: "), "the intake file is damaged: ")}))
			what.Importance = widget.DangerImportance
			what.Wrapping = fyne.TextWrapWord
		} else {
			what = widget.NewLabel(T("intake.item", map[string]any{"Name": it.Name, "Size": opsSize(it.Size), "Compartment": s.compName(it.Compartment.String())}))
			what.Truncation = fyne.TextTruncateEllipsis
		}
		fileB := widget.NewButtonWithIcon(T("intake.file"), theme.DocumentSaveIcon(), func() { s.openFile(it) })
		discardB := widget.NewButtonWithIcon(T("intake.discard"), theme.DeleteIcon(), func() { s.openDiscard(it) })
		if it.Damaged != "" || busy {
			fileB.Disable()
		}
		if busy {
			discardB.Disable()
		}
		s.list.Add(container.NewBorder(nil, nil, container.NewHBox(widget.NewIcon(theme.MailAttachmentIcon()), received), container.NewHBox(fileB, discardB), what))
	}
	s.list.Refresh()
	s.relayout()
}

// itemName is how an item is named in messages.
func itemName(it *IntakeItem) string {
	if it.Name != "" {
		return it.Name
	}
	return it.ID.String()[:8]
}

func (s *intakeScreen) closePanels() {
	s.filing, s.discarding, s.valid = nil, nil, ""
	s.filePanel.Hide()
	s.discardPanel.Hide()
	s.relayout()
}

// openFile asks for the customer to file it under.
func (s *intakeScreen) openFile(it IntakeItem) {
	s.w.activity()
	s.closePanels()
	s.verdict.clear()
	s.filing = &it
	s.fileTitle.SetText(T("intake.filetitle", map[string]any{"Name": itemName(&it), "Compartment": s.compName(it.Compartment.String())}))
	s.code.SetText("")
	s.codeChanged("")
	s.filePanel.Show()
	s.relayout()
	s.w.Canvas().Focus(s.code)
}

// codeChanged checks the code as it is typed: a whole code must be a
// customer of the item's compartment; a part of one (or a name) lists
// the customers of that compartment it finds.
func (s *intakeScreen) codeChanged(text string) {
	s.w.activity()
	s.valid = ""
	s.fileB.Disable()
	text = strings.TrimSpace(text)
	if s.filing == nil {
		return
	}
	if text == "" {
		s.setCheck(T("intake.codehint"), widget.LowImportance)
		s.picks.SetOptions(nil)
		return
	}
	code, perr := service.ParseCode(text)
	query := text
	if perr == nil {
		query = string(code)
	}
	cid := s.filing.Compartment.String()
	svc := s.w.svc
	background(func() {
		hits, err := svc.Search(query, intakeSearchLimit)
		fyne.Do(func() {
			if s.closed || s.filing == nil || strings.TrimSpace(s.code.Text) != text {
				return // a newer text is being checked
			}
			if err != nil {
				s.setCheck(explain(err), widget.DangerImportance)
				return
			}
			var picks []string
			elsewhere := false
			for _, h := range hits {
				switch {
				case h.Compartment == cid:
					picks = append(picks, string(h.Code))
					if perr == nil && h.Code == code {
						s.valid = code
					}
				case perr == nil && h.Code == code:
					elsewhere = true
				}
			}
			s.picks.SetOptions(picks)
			switch {
			case s.valid != "":
				s.setCheck(T("intake.codeok", map[string]any{"Code": string(code)}), widget.SuccessImportance)
				s.fileB.Enable()
			case elsewhere:
				s.setCheck(T("intake.codeelsewhere", map[string]any{"Compartment": s.compName(cid)}), widget.DangerImportance)
			case perr == nil:
				s.setCheck(T("intake.codeunknown"), widget.DangerImportance)
			case len(picks) > 0:
				s.setCheck(T("intake.codepick", arg(len(picks))), widget.LowImportance)
			default:
				s.setCheck(T("intake.codebad", map[string]any{"Err": strings.TrimPrefix(perr.Error(), "customer: ")}), widget.LowImportance)
			}
		})
	})
}

func (s *intakeScreen) setCheck(msg string, imp widget.Importance) {
	s.codeCheck.Importance = imp
	s.codeCheck.SetText(msg)
}

// file files the item under the code checked.
func (s *intakeScreen) file() {
	s.w.activity()
	if s.filing == nil || s.valid == "" || s.task.busy() {
		return
	}
	it, code := *s.filing, s.valid
	s.closePanels()
	t, ctx := s.task.start(T("intake.filing", map[string]any{"Name": itemName(&it), "Code": string(code)}), true)
	s.showList()
	report := s.task.report(t, nil)
	svc := s.w.svc
	go func() {
		_, err := svc.FileIntake(ctx, it, code, func(done, total int64) { report("", done, total) })
		toUI(func() {
			if s.closed {
				return
			}
			s.task.end()
			switch {
			case errors.Is(err, context.Canceled):
				s.verdict.bad(T("intake.filecancelled"))
			case err != nil:
				s.verdict.bad(T("intake.filefailed", map[string]any{"Err": explain(err)}))
			default:
				s.verdict.ok(T("intake.filed", map[string]any{"Name": itemName(&it), "Code": string(code)}))
			}
			s.relayout()
			s.load()
		})
	}()
}

// openDiscard asks before an item is discarded.
func (s *intakeScreen) openDiscard(it IntakeItem) {
	s.w.activity()
	s.closePanels()
	s.verdict.clear()
	s.discarding = &it
	s.discardText.SetText(T("intake.discardconfirm", map[string]any{"Name": itemName(&it)}))
	s.discardPanel.Show()
	s.relayout()
}

func (s *intakeScreen) discard() {
	s.w.activity()
	if s.discarding == nil || s.task.busy() {
		return
	}
	it := *s.discarding
	s.closePanels()
	svc := s.w.svc
	background(func() {
		err := svc.DiscardIntake(it.ID)
		fyne.Do(func() {
			if s.closed {
				return
			}
			if err != nil {
				s.verdict.bad(explain(err))
			} else {
				s.verdict.ok(T("intake.discarded", map[string]any{"Name": itemName(&it)}))
			}
			s.relayout()
			s.load()
		})
	})
}

// importFolder imports the sealed intake files of dir.
func (s *intakeScreen) importFolder(dir string) {
	if dir == "" || s.task.busy() {
		return
	}
	s.closePanels()
	s.verdict.clear()
	t, ctx := s.task.start(T("intake.importing", map[string]any{"Path": dir}), true)
	s.importB.Disable()
	s.showList()
	report := s.task.report(t, nil)
	svc := s.w.svc
	go func() {
		res, err := svc.ImportIntake(ctx, dir, func(done, total int64) { report("", done, total) })
		toUI(func() {
			if s.closed {
				return
			}
			s.task.end()
			s.importB.Enable()
			switch {
			case errors.Is(err, context.Canceled):
				s.verdict.bad(T("intake.importcancelled", arg(res.Imported)))
			case err != nil:
				s.verdict.bad(explain(err))
			case res.Files == 0:
				s.verdict.info(T("intake.nofiles", map[string]any{"Path": dir}))
			case len(res.Failed) > 0:
				s.verdict.bad(T("intake.imported", map[string]any{"N": res.Imported, "Before": res.Before}) + "\n" +
					T("intake.importfailed", arg(len(res.Failed))) + "\n" + strings.Join(res.Failed, "\n"))
			default:
				s.verdict.ok(T("intake.imported", map[string]any{"N": res.Imported, "Before": res.Before}))
			}
			s.relayout()
			s.load()
		})
	}()
}
