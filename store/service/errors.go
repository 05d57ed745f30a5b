package service

import (
	"errors"
	"io/fs"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"

	berrors "go.etcd.io/bbolt/errors"

	"github.com/valv-vault/valv/crypto/card"
	"github.com/valv-vault/valv/crypto/recovery"
	"github.com/valv-vault/valv/crypto/seal"
	"github.com/valv-vault/valv/store"
	"github.com/valv-vault/valv/store/backup"
	"github.com/valv-vault/valv/store/redact"
)

// The classes of engine errors the window words for the person at the
// screen (errors.Is). Most are the store's or the card's own sentinel
// errors under a name of this package; the rest (ErrNoCard, ErrDamaged,
// ErrDiskFull, ErrPermission, ErrNotEnrolled, ErrNoVault,
// ErrNotRecoveryKey, ErrWrongRecoveryKey) have many causes below, which
// [Classify] recognises and wraps in an [*Error]. The errors keep their
// English text for the command line and the log.
var (
	// Cards.
	ErrNoCard      = errors.New("the YubiKey is not inserted")                    // *card.NoCardError
	ErrCardRemoved = card.ErrRemoved                                              // taken out during the session
	ErrCardService = card.ErrNoService                                            // pcscd is not running
	ErrCardInUse   = card.ErrInUse                                                // open in another session
	ErrNotEnrolled = errors.New("this card or key is not enrolled in this vault") // card.ErrNotEnrolled, store.ErrUnknownIdentity
	ErrDeactivated = store.ErrDeactivated
	ErrDefaultPIN  = card.ErrDefaultPIN
	ErrDefaultPUK  = card.ErrDefaultPUK
	ErrPUKIsPIN    = card.ErrPUKIsPIN

	// The recovery key.
	ErrNotRecoveryKey          = errors.New("this is not a recovery key file")       // UnlockRecovery: it does not parse
	ErrWrongRecoveryKey        = errors.New("this recovery key is not this vault's") // UnlockRecovery: it parses but opens nothing
	ErrRecoveryWrongPassphrase = recovery.ErrWrongPassphrase                         // the protected copy's passphrase

	// Rights.
	ErrNotAdmin   = store.ErrNotAdmin
	ErrNotGranted = store.ErrNotGranted

	// Records.
	ErrNoCustomer = store.ErrNoCustomer
	ErrCodeTaken  = store.ErrCodeTaken
	ErrNoDocument = store.ErrNoDocument

	// The vault's files.
	ErrNoVault     = errors.New("there is no vault in this folder") // the folder or its directory file is missing
	ErrVaultLocked = store.ErrLocked                                // the vault is open in another Valv
	ErrNewerFormat = store.ErrNewerFormat
	ErrDamaged     = errors.New("a file did not open or does not verify") // see Error.File
	ErrDiskFull    = errors.New("the disk is full")
	ErrPermission  = errors.New("this program may not read or write a file it needs") // see Error.File

	// Backups, intake and redaction.
	ErrBackupNotVerified = backup.ErrNotVerified
	ErrIntakeNotForVault = store.ErrIntakeNotForVault
	ErrIntakeDamaged     = store.ErrIntakeDamaged
	ErrNoIntake          = store.ErrNoIntake
	ErrRedactTooLarge    = redact.ErrTooLarge
)

// IntakeImportedError: the intake file was imported before (errors.As).
type IntakeImportedError = store.IntakeImportedError

// An Error is an engine error with the class the window words it by.
// Its text is the engine's; errors.Is matches both Kind and the engine's
// error.
type Error struct {
	Kind error  // one of the Err… values of this package
	File string // the file concerned (ErrDamaged, ErrPermission, ErrDiskFull), base name, or ""
	Err  error  // the engine's error
}

func (e *Error) Error() string   { return e.Err.Error() }
func (e *Error) Unwrap() []error { return []error{e.Kind, e.Err} }

// Classify returns err with its class made errors.Is-able: an [*Error]
// for the classes that have many causes (a damaged file, a full disk, a
// card not inserted…), err itself when it already is one of the sentinel
// errors above or is of no class the window knows (the window then shows
// the engine's English text). The window passes every engine error
// through it before wording it.
func Classify(err error) error {
	if err == nil {
		return nil
	}
	var done *Error
	if errors.As(err, &done) {
		return err
	}
	var noCard *card.NoCardError
	switch {
	case errors.As(err, &noCard):
		return &Error{Kind: ErrNoCard, Err: err}
	case errors.Is(err, card.ErrNotEnrolled), errors.Is(err, store.ErrUnknownIdentity):
		return &Error{Kind: ErrNotEnrolled, Err: err}
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT), strings.Contains(err.Error(), "no space left on device"):
		return &Error{Kind: ErrDiskFull, File: fileOf(err), Err: err}
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.EROFS):
		return &Error{Kind: ErrPermission, File: fileOf(err), Err: err}
	case errors.Is(err, store.ErrNotVault):
		return &Error{Kind: ErrNoVault, Err: err}
	case errors.Is(err, store.ErrAnchor):
		return &Error{Kind: ErrDamaged, File: store.DirectoryFile, Err: err}
	case damaged(err):
		return &Error{Kind: ErrDamaged, File: fileOf(err), Err: err}
	}
	return err
}

// damaged reports whether err says a file or value did not open or
// verify: bbolt's checks, a sealed value that does not open, a document's
// chunks, or the store's "the file is damaged".
func damaged(err error) bool {
	for _, e := range []error{berrors.ErrInvalid, berrors.ErrChecksum, berrors.ErrVersionMismatch, berrors.ErrInvalidMapping,
		seal.ErrOpen, seal.ErrUnknownFormat, store.ErrDocumentDamaged} {
		if errors.Is(err, e) {
			return true
		}
	}
	msg := err.Error()
	return strings.Contains(msg, "is damaged") || strings.Contains(msg, "the file is damaged") ||
		notKind.MatchString(msg)
}

var (
	// The store's words for a file it could not open: "store: opening
	// NAME: …" and "store: NAME is not a valv … file".
	openingFile = regexp.MustCompile(`opening ([^\s:]+):`)
	notKind     = regexp.MustCompile(`store: ([^\s:]+) is not a valv [a-z]+ file`)
	hasFile     = regexp.MustCompile(`store: ([^\s:]+\.db) has `)
)

// fileOf names the file an error is about, by base name: the path of an
// *fs.PathError, or the file the store's message names; "" if none.
func fileOf(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path != "" {
		return filepath.Base(pe.Path)
	}
	if errors.Is(err, store.ErrDocumentDamaged) {
		return ""
	}
	msg := err.Error()
	for _, re := range []*regexp.Regexp{openingFile, notKind, hasFile} {
		if m := re.FindStringSubmatch(msg); m != nil {
			return filepath.Base(m[1])
		}
	}
	return ""
}
