package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// The sections of the navigation.
const (
	navCustomers = iota
	navIntake
	navRetention
	navCompartments
	navStaff
	navBackups
	navAudit
	navSettings
)

// navBar is the column of sections on the left once the vault is
// unlocked: Customers, Intake, Past retention, Compartments, Staff and
// Backups (admins only), Audit log, Settings. The operations screens
// (intake, retention, backups: operations.go) are the window's own. It owns the screens of the sections other than the customers,
// the air-gap banner and the clipboard guard. Locking throws its screens
// away.
type navBar struct {
	w       *Window
	content *fyne.Container // hidden while locked
	frame   *fyne.Container // the window's layout, laid out again when content or a banner shows or hides
	buttons []*widget.Button
	current int

	airGap *airGapBanner
	clip   clipboardGuard

	firstRun     *firstRun // while there is no vault
	compartments *compartmentsScreen
	staff        *staffScreen
	audit        *auditScreen
	settings     *settingsScreen
	compsChanged bool // a compartment was made: the customer screen reloads its list
}

func newNavBar(w *Window) *navBar {
	n := &navBar{w: w}
	item := func(icon fyne.Resource, section int) *widget.Button {
		b := widget.NewButtonWithIcon("", icon, func() { n.open(section) })
		b.Alignment = widget.ButtonAlignLeading
		return b
	}
	n.buttons = []*widget.Button{
		navCustomers:    item(theme.AccountIcon(), navCustomers),
		navIntake:       item(theme.MailComposeIcon(), navIntake),
		navRetention:    item(theme.HistoryIcon(), navRetention),
		navCompartments: item(theme.FolderIcon(), navCompartments),
		navStaff:        item(theme.DocumentIcon(), navStaff),
		navBackups:      item(theme.StorageIcon(), navBackups),
		navAudit:        item(theme.ListIcon(), navAudit),
		navSettings:     item(theme.SettingsIcon(), navSettings),
	}
	n.buttons[navCustomers].SetText(T("nav.customers"))
	n.buttons[navIntake].SetText(T("ops.intake"))
	n.buttons[navRetention].SetText(T("ops.retention"))
	n.buttons[navBackups].SetText(T("ops.backups"))
	n.buttons[navCompartments].SetText(T("nav.compartments"))
	n.buttons[navStaff].SetText(T("nav.staff"))
	n.buttons[navAudit].SetText(T("nav.audit"))
	n.buttons[navSettings].SetText(T("nav.settings"))
	objs := make([]fyne.CanvasObject, len(n.buttons))
	for i, b := range n.buttons {
		objs[i] = b
	}
	n.content = container.NewHBox(container.NewVBox(objs...), widget.NewSeparator())
	n.content.Hide()
	n.airGap = newAirGapBanner(w)
	return n
}

// unlocked shows the navigation, with the admin sections for an admin.
func (n *navBar) unlocked() {
	admin := n.w.svc.IsAdmin()
	for _, i := range []int{navCompartments, navStaff, navBackups} {
		if admin {
			n.buttons[i].Show()
		} else {
			n.buttons[i].Hide()
		}
	}
	n.firstRun = nil
	n.highlight(navCustomers)
	n.content.Show()
	n.relayout()
}

// relayout lays the window out again after the navigation or a banner
// showed or hid.
func (n *navBar) relayout() {
	if n.frame != nil {
		n.frame.Refresh()
	}
}

// locked hides the navigation, throws the section screens away and
// clears a code copied to the clipboard.
func (n *navBar) locked() {
	n.content.Hide()
	n.relayout()
	n.closeScreens()
	n.clip.clear(n.w)
}

func (n *navBar) closeScreens() {
	if n.compartments != nil {
		n.compartments.close()
	}
	if n.staff != nil {
		n.staff.close()
	}
	if n.audit != nil {
		n.audit.close()
	}
	n.compartments, n.staff, n.audit, n.settings = nil, nil, nil, nil
}

func (n *navBar) highlight(section int) {
	n.current = section
	for i, b := range n.buttons {
		if i == section {
			b.Importance = widget.HighImportance
		} else {
			b.Importance = widget.LowImportance
		}
		b.Refresh()
	}
}

// open shows a section, building its screen on first use and reloading
// it on later ones. An open customer is closed (its numbers hidden).
func (n *navBar) open(section int) {
	w := n.w
	w.activity()
	if !w.unlocked {
		return
	}
	n.highlight(section)
	switch section {
	case navIntake:
		w.showIntake()
		return
	case navRetention:
		w.showRetention()
		return
	case navBackups:
		w.showBackups()
		return
	}
	w.closeOps()
	if section == navCustomers {
		if n.compsChanged && w.customers != nil {
			n.compsChanged = false
			w.customers.loadCompartments()
		}
		w.showCustomers()
		return
	}
	if w.detail != nil {
		w.detail.close()
		w.detail = nil
	}
	switch section {
	case navCompartments:
		if n.compartments == nil {
			n.compartments = newCompartmentsScreen(w)
		} else {
			n.compartments.reload()
		}
		w.show(n.compartments.content)
	case navStaff:
		if n.staff == nil {
			n.staff = newStaffScreen(w)
		} else {
			n.staff.reload()
		}
		w.show(n.staff.content)
	case navAudit:
		if n.audit == nil {
			n.audit = newAuditScreen(w)
		} else {
			n.audit.reload()
		}
		w.show(n.audit.content)
	case navSettings:
		n.settings = newSettingsScreen(w)
		w.show(n.settings.content)
	}
}

// relabel rebuilds the window in the language just chosen and shows the
// settings again.
func (w *Window) relabel() {
	old := w.nav
	old.closeScreens()
	w.nav = newNavBar(w)
	w.nav.clip = old.clip
	old.airGap.stop()
	w.frame()
	if !w.unlocked {
		w.start()
		return
	}
	if w.detail != nil {
		w.detail.close()
		w.detail = nil
	}
	if w.customers != nil {
		w.customers.close()
		w.customers = newCustomersScreen(w)
	}
	w.nav.unlocked()
	w.nav.open(navSettings)
}
