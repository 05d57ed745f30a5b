package ui

import (
	"errors"

	"github.com/valv-vault/valv/store/service"
)

// explainEngine words the engine's errors of a known class (see
// service.Classify) in the window's language: what happened and what to
// do (translations/errors.*.json). It returns "" for an error of no known
// class, which explain then shows in the engine's English words.
func explainEngine(err error) string {
	err = service.Classify(err)
	var cls *service.Error
	file := ""
	if errors.As(err, &cls) {
		file = cls.File
	}
	var imported *service.IntakeImportedError
	is := func(target error) bool { return errors.Is(err, target) }
	switch {
	// Cards.
	case is(service.ErrNoCard):
		return T("engine.nocard")
	case is(service.ErrCardRemoved):
		return T("engine.cardremoved")
	case is(service.ErrCardService):
		return T("engine.cardservice")
	case is(service.ErrCardInUse):
		return T("engine.cardinuse")
	case is(service.ErrDeactivated):
		return T("engine.deactivated")
	case is(service.ErrDefaultPIN):
		return T("engine.defaultpin")
	case is(service.ErrDefaultPUK):
		return T("engine.defaultpuk")
	case is(service.ErrPUKIsPIN):
		return T("engine.pukispin")
	// The recovery key (before ErrNotEnrolled, which a wrong one also is).
	case is(service.ErrNotRecoveryKey):
		return T("engine.notrecoverykey")
	case is(service.ErrWrongRecoveryKey):
		return T("engine.wrongrecoverykey")
	case is(service.ErrRecoveryWrongPassphrase):
		return T("engine.recoverypassphrase")
	case is(service.ErrNotEnrolled):
		return T("engine.notenrolled")
	// Rights and records.
	case is(service.ErrNotAdmin):
		return T("engine.notadmin")
	case is(service.ErrNotGranted):
		return T("engine.notgranted")
	case is(service.ErrNoCustomer):
		return T("engine.nocustomer")
	case is(service.ErrCodeTaken):
		return T("engine.codetaken")
	case is(service.ErrNoDocument):
		return T("engine.nodocument")
	case is(service.ErrNotScreened):
		return T("engine.notscreened")
	case is(service.ErrNoNDA):
		return T("engine.nonda")
	// Documents.
	case is(service.ErrTooLargeToPreview):
		return T("docs.toolarge", map[string]any{"Max": service.MaxPreview >> 20})
	case is(service.ErrWrongPassphrase):
		return T("docs.wrongpassphrase")
	case is(service.ErrPassphraseNeeded):
		return T("docs.needpassphrase")
	case is(service.ErrRedactTooLarge):
		return T("engine.redacttoolarge")
	// Backups and intake.
	case is(service.ErrBackupNotVerified):
		return T("engine.backupnotverified")
	case is(service.ErrIntakeNotForVault):
		return T("engine.intakenotforvault")
	case is(service.ErrIntakeDamaged):
		return T("engine.intakedamaged")
	case errors.As(err, &imported):
		return T("engine.intakeimported")
	case is(service.ErrNoIntake):
		return T("engine.nointake")
	// The vault's files and the disk.
	case is(service.ErrNoVault):
		return T("engine.novault")
	case is(service.ErrVaultLocked):
		return T("engine.vaultlocked")
	case is(service.ErrNewerFormat):
		return T("engine.newerformat")
	case is(service.ErrDiskFull):
		return T("engine.diskfull")
	case is(service.ErrPermission) && file != "":
		return T("engine.permission.file", map[string]any{"File": file})
	case is(service.ErrPermission):
		return T("engine.permission")
	case is(service.ErrDamaged) && file != "":
		return T("engine.damaged.file", map[string]any{"File": file})
	case is(service.ErrDamaged):
		return T("engine.damaged")
	}
	return ""
}

// explainCards words an error of listing the cards: a known class as
// explain does, else the engine's words after "Valv cannot reach the card
// reader".
func explainCards(err error) string {
	if msg := explainEngine(err); msg != "" {
		return msg
	}
	return T("cards.error", arg(err.Error()))
}
