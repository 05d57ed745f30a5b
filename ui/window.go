// Package ui is Valv's desktop window, built with Fyne. It talks to the rest
// of Valv only through the Service interface (implemented by
// store/service), one file per screen:
//
//   - unlock_screen.go: the cards present, PIN, PUK and recovery key;
//   - customers_screen.go: the customer list, search and compartments;
//   - customer_form.go: adding and editing a customer;
//   - customer_detail.go: one customer, reveal, history and documents;
//   - documents_panel.go: a customer's documents, attach (file dialog or
//     drag and drop, streamed with progress and Cancel) and export;
//   - document_viewer.go: text, images and PDF pages shown from memory;
//   - redact_screen.go: the pre-archive check and a redacted copy, with
//     boxes drawn on the page (box_drawer.go);
//   - operations.go: backups and restore (backup_screen.go,
//     restore_wizard.go), the intake queue (intake_screen.go), customers
//     past retention (retention_screen.go) and erasure (erase_screen.go);
//   - first_run.go: a new vault, its recovery key and first admin;
//   - compartments_screen.go, staff_screen.go, audit_screen.go and
//     settings_screen.go, reached from the navigation (nav.go) after
//     unlocking.
//
// Errors are worded by explain (explain.go: the engine's errors by their
// class, service.Classify) and fieldText (field_errors.go: the customer
// form's per-field reasons), in English or Swedish.
//
// trace.go holds the test hooks, both off without VALV_TEST_TRACE=1: the
// window says on standard error when each screen is ready, and
// VALV_TEST_DROP attaches files as if dropped on the window (for the
// Xvfb test).
//
// Every engine call runs off the UI goroutine (background) and comes back
// through fyne.Do. The window locks itself after IdleTimeout without
// keyboard or pointer activity, and when the card that unlocked it is
// removed: the session is dropped and every screen that showed data is
// thrown away.
package ui

import (
	"errors"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"github.com/valv-vault/valv/store/service"
	"github.com/valv-vault/valv/ui/settings"
)

// Types of the engine that the screens show.
type (
	Code        = service.Code
	Customer    = service.Customer
	Record      = service.Record
	Document    = service.Document
	Compartment = service.Compartment
	SearchHit   = service.SearchHit
)

// Service is what the window needs from the engine (store/service).
type Service interface {
	Demo() bool
	DemoPIN() string
	DemoPUK() string
	Cards() ([]Card, error)

	Unlock(serial uint32, pin string) error
	Unblock(serial uint32, puk, newPIN string) error
	UnlockRecovery(keyFile []byte) error
	Lock() error
	// Removed is closed when the card of the session is removed; nil
	// when no card holds the session.
	Removed() <-chan struct{}

	Compartments() ([]Compartment, error)
	Customers(compartment string) ([]Code, error)
	CustomerName(code Code) (string, error)
	Search(query string, limit int) ([]SearchHit, error)
	View(code Code) (Record, error)
	Reveal(code Code) (Record, error)
	History(code Code) ([]Record, error)
	Documents(code Code) ([]Document, error)
	AddCustomer(compartment string, c Customer) (Code, error)
	EditCustomer(code Code, c Customer) (Record, error)

	DocumentService   // documents_panel.go
	AdminService      // first run, compartments, staff, audit, air gap (admin.go)
	OperationsService // operations.go: backups, intake, retention
}

// background runs slow engine calls off the UI goroutine; their results
// come back through fyne.Do. Tests replace it to run calls in order.
var background = func(f func()) { go f() }

// DefaultIdleTimeout is how long the window stays unlocked without
// keyboard or pointer activity.
const DefaultIdleTimeout = settings.DefaultIdleMinutes * time.Minute

// Options configure a Window.
type Options struct {
	IdleTimeout time.Duration // 0: the settings file's, else DefaultIdleTimeout
	Clock       Clock         // nil: the real clock
	// SettingsFile keeps the window's settings (settings.go); "": the
	// user's config folder.
	SettingsFile string
}

// Window is Valv's main window.
type Window struct {
	fyne.Window
	svc   Service
	clock Clock
	idle  *restartable

	body *fyne.Container // the current screen

	unlock    *unlockScreen
	customers *customersScreen // nil while locked
	detail    *customerDetail  // nil unless a customer is open
	docs      *documentsPanel  // nil unless a customer's documents are open
	ops       opsScreen        // nil unless an operations screen is open (operations.go)
	unlocked  bool
	stopWatch chan struct{} // closed to stop watching for card removal

	app      fyne.App
	settings *settingsStore
	nav      *navBar // the navigation after unlocking, and its screens (nav.go)
}

// NewWindow builds the main window on app a. It does not show it.
func NewWindow(a fyne.App, svc Service) *Window { return NewWindowWithOptions(a, svc, Options{}) }

// NewWindowWithOptions is NewWindow with a chosen idle timeout and clock.
func NewWindowWithOptions(a fyne.App, svc Service, opts Options) *Window {
	settings := loadSettings(opts.SettingsFile)
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = settings.idle()
	}
	if opts.Clock == nil {
		opts.Clock = realClock{}
	}
	w := &Window{Window: a.NewWindow("Valv"), svc: svc, clock: opts.Clock, app: a, settings: settings}
	w.idle = &restartable{clock: w.clock, d: opts.IdleTimeout, f: func() {
		fyne.Do(func() { w.lock(T("lock.idle", arg(int(w.idle.d.Minutes())))) })
	}}
	w.body = container.NewStack()
	w.nav = newNavBar(w)
	w.frame()
	if dc, ok := w.Canvas().(desktop.Canvas); ok {
		dc.SetOnKeyDown(func(*fyne.KeyEvent) { w.activity() })
	}
	w.Canvas().SetOnTypedRune(func(rune) { w.activity() })
	w.SetOnDropped(w.dropped)
	w.Resize(fyne.NewSize(900, 620))
	w.start()
	return w
}

// frame lays out the window: the demo and air-gap banners on top, the
// navigation on the left (once unlocked), the current screen.
func (w *Window) frame() {
	top := container.NewVBox(w.nav.airGap.content)
	if w.svc.Demo() {
		top.Objects = append([]fyne.CanvasObject{demoBanner(w.svc.DemoPIN(), w.svc.DemoPUK())}, top.Objects...)
	}
	content := container.NewBorder(top, nil, w.nav.content, nil, w.body)
	w.nav.frame = content
	w.SetContent(container.NewStack(newActivityCatcher(w.activity), content))
}

// start shows the first-run screen if there is no vault yet, else the
// unlock screen.
func (w *Window) start() {
	if !w.svc.HasVault() {
		w.nav.firstRun = newFirstRun(w)
		w.show(w.nav.firstRun.content)
		return
	}
	w.showUnlock("")
}

// after runs f on the UI goroutine after d, on the window's clock.
func (w *Window) after(d time.Duration, f func()) Timer {
	return w.clock.AfterFunc(d, func() { fyne.Do(f) })
}

// show makes o the current screen. The keyboard focus is dropped: a
// widget of the screen before must not go on taking keys (a focused
// list would reopen its row on Space).
func (w *Window) show(o fyne.CanvasObject) {
	w.Canvas().Unfocus()
	w.body.Objects = []fyne.CanvasObject{o}
	w.body.Refresh()
}

// activity is any keyboard or pointer input: it restarts the idle lock.
func (w *Window) activity() {
	if w.unlocked {
		w.idle.Reset()
	}
}

func (w *Window) showUnlock(message string) {
	w.unlock = newUnlockScreen(w, message)
	w.show(w.unlock.content)
	w.unlock.refresh()
}

// unlockedNow is called by the unlock screen when the service unlocked.
func (w *Window) unlockedNow() {
	w.unlocked = true
	w.idle.Reset()
	if ch := w.svc.Removed(); ch != nil {
		stop := make(chan struct{})
		w.stopWatch = stop
		go func() {
			select {
			case <-ch:
				fyne.Do(func() { w.lock(T("lock.removed")) })
			case <-stop:
			}
		}()
	}
	w.unlock = nil
	w.customers = newCustomersScreen(w)
	w.nav.unlocked()
	w.showCustomers()
}

func (w *Window) showCustomers() {
	w.closeOps()
	w.closeDocuments()
	if w.detail != nil {
		w.detail.close()
		w.detail = nil
	}
	if w.customers == nil {
		return
	}
	w.show(w.customers.content)
}

func (w *Window) openDetail(code Code) {
	if w.detail != nil {
		w.detail.close()
	}
	w.detail = newCustomerDetail(w, code)
	w.show(w.detail.content)
}

// lock drops the session and every screen that showed data, and shows
// the unlock screen with message (why it locked). Locking twice does
// nothing.
func (w *Window) lock(message string) {
	if !w.unlocked {
		return
	}
	w.unlocked = false
	trace("locked")
	w.idle.Stop()
	if w.stopWatch != nil {
		close(w.stopWatch)
		w.stopWatch = nil
	}
	w.closeOps()
	w.closeDocuments()
	if w.detail != nil {
		w.detail.close()
		w.detail = nil
	}
	if w.customers != nil {
		w.customers.close()
		w.customers = nil
	}
	w.nav.locked()
	w.showUnlock(message)
	svc := w.svc
	background(func() {
		if err := svc.Lock(); err != nil {
			fyne.LogError("locking the vault", err)
		}
	})
}

// Lock locks the window at once (the Lock button).
func (w *Window) Lock() { w.lock(T("lock.manual")) }

// explain turns an engine error into words for the person at the screen.
// Errors of the engine are in English and never hold a typed secret.
func explain(err error) string {
	var wrongPIN *service.WrongPINError
	var wrongPUK *service.WrongPUKError
	switch {
	case errors.As(err, &wrongPIN):
		if wrongPIN.Left == 1 {
			return T("error.wrongpin.one")
		}
		return T("error.wrongpin", arg(wrongPIN.Left))
	case errors.As(err, &wrongPUK):
		return T("error.wrongpuk", arg(wrongPUK.Left))
	case errors.Is(err, service.ErrBlocked):
		return T("error.blocked")
	case errors.Is(err, service.ErrPUKBlocked):
		return T("error.pukblocked")
	case errors.Is(err, service.ErrLocked):
		return T("error.locked")
	}
	if msg := explainEngine(err); msg != "" { // explain.go
		return msg
	}
	msg := strings.TrimPrefix(err.Error(), "store: ")
	return T("error.engine", arg(msg))
}

// errorLabel is a label for error messages, wrapped, in the error colour.
func errorLabel() *widget.Label {
	l := widget.NewLabel("")
	l.Wrapping = fyne.TextWrapWord
	l.Importance = widget.DangerImportance
	l.Hide()
	return l
}

// setError shows msg in l, or hides l when msg is "".
func setError(l *widget.Label, msg string) {
	l.SetText(msg)
	if msg == "" {
		l.Hide()
	} else {
		l.Show()
	}
}
