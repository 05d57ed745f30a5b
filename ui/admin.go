package ui

import (
	"time"

	"github.com/valv-vault/valv/store/service"
)

// Types of the engine that the admin screens show.
type (
	ID                = service.ID
	KeyHolder         = service.KeyHolder
	CompartmentAccess = service.CompartmentAccess
	StaffMember       = service.StaffMember
	Screening         = service.Screening
	CardEnrolment     = service.CardEnrolment
	AuditEntry        = service.AuditEntry
	LogReport         = service.LogReport
	AirGapStatus      = service.AirGapStatus
	RecoverySheet     = service.RecoverySheet
	FirstAdmin        = service.FirstAdmin
	Progress          = service.Progress
)

// AdminService is what the first-run, compartment, staff, audit and
// settings screens need from the engine (store/service). Only admins (an
// admin's card or the recovery key) get the compartment and staff
// screens.
type AdminService interface {
	// First run (first_run.go).
	HasVault() bool
	NewRecoveryKey() (RecoverySheet, error)
	SaveRecovery(dir, passphrase string) ([]string, error)
	ConfirmRecovery(answers []string) error
	CreateVault(a FirstAdmin) error

	// Compartments and key holders (compartments_screen.go).
	IsAdmin() bool
	KeyHolders() ([]KeyHolder, error)
	AllCompartments() ([]CompartmentAccess, error)
	CreateCompartment(name string) (string, error)
	Grant(compartment string, holder ID) error
	Revoke(compartment string, holder ID, progress Progress) error

	// Staff register (staff_screen.go).
	Staff() ([]StaffMember, error)
	AddStaff(name, title string) (ID, error)
	Screen(id ID, sc Screening) error
	RecordNDA(id ID, signed time.Time, doc []byte) error
	Deactivate(id ID, progress Progress) error
	CheckEnrolment(id ID) error
	EnrolCard(e CardEnrolment) (ID, error)

	// Audit log (audit_screen.go).
	AuditEntries() ([]AuditEntry, error)
	VerifyAudit() ([]LogReport, error)

	// AirGap reports the network interfaces that are up (airgap.go).
	AirGap() AirGapStatus
}

var _ Service = (*service.Service)(nil)

// dateLayout is how dates are typed and shown: YYYY-MM-DD.
const dateLayout = time.DateOnly

// parseDate reads a date typed as YYYY-MM-DD (in UTC: a calendar day).
func parseDate(s string) (time.Time, bool) {
	t, err := time.Parse(dateLayout, s)
	return t, err == nil
}

// holderLabel names a key holder: name and card, or the short id.
func holderLabel(h KeyHolder) string {
	if h.Name == "" {
		return T("holder.unnamed", map[string]any{"ID": h.ID.Short(), "Serial": h.Serial})
	}
	return T("holder.named", map[string]any{"Name": h.Name, "Serial": h.Serial})
}
