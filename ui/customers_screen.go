package ui

import (
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// searchDelay is how long the search waits after the last key typed.
const searchDelay = 150 * time.Millisecond

// searchLimit bounds the hits shown.
const searchLimit = 500

// customerRow is one row of the list: a code and its compartment.
type customerRow struct {
	code        Code
	compartment string // id
}

// customersScreen is the list of customers: codes only (names hidden
// until the privacy switch shows them, each name read being an audited
// view), a compartment selector, one search box and "Add customer".
type customersScreen struct {
	w       *Window
	content fyne.CanvasObject

	compSelect *widget.Select
	search     *widget.Entry
	showNames  *widget.Check
	list       *widget.List
	status     *widget.Label
	errLabel   *widget.Label
	progress   *widget.ProgressBarInfinite
	debounce   *restartable

	comps   []Compartment
	current string // compartment id shown when not searching
	rows    []customerRow

	mu      sync.Mutex
	names   map[Code]string // names read while the switch is on
	pending map[Code]bool
	closed  bool
}

func newCustomersScreen(w *Window) *customersScreen {
	s := &customersScreen{w: w, names: map[Code]string{}, pending: map[Code]bool{}}
	s.compSelect = widget.NewSelect(nil, func(name string) {
		w.activity()
		for _, c := range s.comps {
			if c.Name == name {
				s.current = c.ID
			}
		}
		s.reload()
	})
	s.compSelect.PlaceHolder = T("customers.compartment")
	s.search = widget.NewEntry()
	s.search.SetPlaceHolder(T("customers.search"))
	s.debounce = &restartable{clock: w.clock, d: searchDelay, f: func() { fyne.Do(s.reload) }}
	s.search.OnChanged = func(string) {
		w.activity()
		s.debounce.Reset()
	}
	s.search.OnSubmitted = func(string) {
		s.debounce.Stop()
		s.reload()
	}
	s.showNames = widget.NewCheck(T("customers.shownames"), func(on bool) {
		w.activity()
		s.mu.Lock()
		s.names, s.pending = map[Code]string{}, map[Code]bool{}
		s.mu.Unlock()
		s.list.Refresh()
	})
	s.list = widget.NewList(func() int { return len(s.rows) }, s.newRow, s.updateRow)
	s.list.OnSelected = func(i widget.ListItemID) {
		w.activity()
		if i < len(s.rows) {
			code := s.rows[i].code
			s.list.UnselectAll()
			w.openDetail(code)
		}
	}
	s.status = widget.NewLabel("")
	s.errLabel = errorLabel()
	s.progress = widget.NewProgressBarInfinite()
	s.progress.Stop()
	s.progress.Hide()

	add := widget.NewButtonWithIcon(T("customers.add"), theme.ContentAddIcon(), func() {
		w.activity()
		if s.current == "" {
			setError(s.errLabel, T("customers.nocompartment"))
			return
		}
		w.show(newCustomerForm(w, s.current, nil, func(code Code) {
			s.reload()
			w.openDetail(code)
		}, w.showCustomers).content)
	})
	add.Importance = widget.HighImportance
	lock := widget.NewButtonWithIcon(T("window.lock"), theme.LogoutIcon(), w.Lock)

	title := widget.NewLabelWithStyle(T("customers.title"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	tools := []fyne.CanvasObject{add, lock}
	bar := container.NewBorder(nil, nil, title, container.NewHBox(tools...), nil)
	compBox := container.NewGridWrap(fyne.NewSize(220, s.compSelect.MinSize().Height), s.compSelect)
	filters := container.NewBorder(nil, nil, compBox, s.showNames, s.search)
	top := container.NewVBox(bar, filters, s.errLabel, s.progress)
	s.content = container.NewBorder(top, s.status, nil, nil, s.list)
	s.loadCompartments()
	return s
}

func (s *customersScreen) loadCompartments() {
	svc := s.w.svc
	background(func() {
		comps, err := svc.Compartments()
		fyne.Do(func() {
			if err != nil {
				setError(s.errLabel, explain(err))
				return
			}
			s.comps = comps
			var names []string
			for _, c := range comps {
				name := c.Name
				if name == "" {
					name = c.ID[:8]
				}
				names = append(names, name)
			}
			s.compSelect.SetOptions(names)
			if len(names) == 0 {
				s.status.SetText(T("customers.nocompartments"))
				return
			}
			s.compSelect.SetSelectedIndex(0) // loads the list
		})
	})
}

// reload fills the list: the search hits if there is a query, else the
// current compartment's codes.
func (s *customersScreen) reload() {
	if s.closed {
		return
	}
	query, current, svc := s.search.Text, s.current, s.w.svc
	if query == "" && current == "" {
		return
	}
	s.progress.Show()
	s.progress.Start()
	background(func() {
		var rows []customerRow
		var err error
		if query != "" {
			var hits []SearchHit
			hits, err = svc.Search(query, searchLimit)
			for _, h := range hits {
				rows = append(rows, customerRow{code: h.Code, compartment: h.Compartment})
			}
		} else {
			var codes []Code
			codes, err = svc.Customers(current)
			for _, c := range codes {
				rows = append(rows, customerRow{code: c, compartment: current})
			}
		}
		fyne.Do(func() {
			if s.closed || s.search.Text != query {
				return // locked, or a newer search is on its way
			}
			s.progress.Stop()
			s.progress.Hide()
			if err != nil {
				setError(s.errLabel, explain(err))
				return
			}
			setError(s.errLabel, "")
			s.rows = rows
			s.list.UnselectAll()
			s.list.Refresh()
			switch {
			case query != "" && len(rows) == 0:
				s.status.SetText(T("customers.nohits"))
			case query != "":
				s.status.SetText(T("customers.hits", arg(len(rows))))
			default:
				s.status.SetText(T("customers.count", arg(len(rows))))
			}
			trace("customers rows=%d", len(rows))
		})
	})
}

func (s *customersScreen) compartmentName(id string) string {
	for _, c := range s.comps {
		if c.ID == id {
			return c.Name
		}
	}
	return ""
}

func (s *customersScreen) newRow() fyne.CanvasObject {
	code := widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
	name := widget.NewLabel("")
	comp := widget.NewLabel("")
	comp.Importance = widget.LowImportance
	return container.NewBorder(nil, nil, container.NewHBox(widget.NewIcon(theme.AccountIcon()), code), comp, name)
}

func (s *customersScreen) updateRow(i widget.ListItemID, o fyne.CanvasObject) {
	if i >= len(s.rows) {
		return
	}
	r := s.rows[i]
	row := o.(*fyne.Container)
	left := row.Objects[1].(*fyne.Container)
	left.Objects[1].(*widget.Label).SetText(string(r.code))
	row.Objects[2].(*widget.Label).SetText(s.compartmentName(r.compartment))
	nameLabel := row.Objects[0].(*widget.Label)
	defer row.Refresh() // lay the row out for its new texts
	if !s.showNames.Checked {
		nameLabel.SetText("")
		return
	}
	s.mu.Lock()
	name, ok := s.names[r.code]
	pending := s.pending[r.code]
	if !ok && !pending {
		s.pending[r.code] = true
	}
	s.mu.Unlock()
	if ok {
		nameLabel.SetText(name)
		return
	}
	nameLabel.SetText("…")
	if pending {
		return
	}
	code, svc := r.code, s.w.svc
	background(func() {
		name, err := svc.CustomerName(code)
		fyne.Do(func() {
			s.mu.Lock()
			delete(s.pending, code)
			if err == nil && s.showNames.Checked && !s.closed {
				s.names[code] = name
			}
			s.mu.Unlock()
			if err != nil {
				setError(s.errLabel, explain(err))
				return
			}
			if i < len(s.rows) && s.rows[i].code == code {
				s.list.RefreshItem(i)
			}
		})
	})
}

// close forgets the names read and stops the search timer; the screen is
// not used again.
func (s *customersScreen) close() {
	s.closed = true
	s.debounce.Stop()
	s.mu.Lock()
	s.names = map[Code]string{}
	s.mu.Unlock()
	s.rows = nil
	s.list.Refresh()
}
