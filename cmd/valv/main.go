// Command valv is Valv, an offline records vault for the locked-room
// workstation. With no arguments it opens the window; subcommands do what
// needs no window, so that recovery and scripting need no display.
//
//	valv                     open the window
//	valv --demo              open the window on a simulated card, in a throw-away folder
//	valv --demo-if-no-card   demo mode when no YubiKey is present, else the window
//	valv card list           list the YubiKeys present, by serial
//	valv card unblock        set a new PIN with the PUK
//	valv unlock --check      check a card's PIN, print the tries left
//	valv redact IN OUT       write a redacted copy of a document (no vault needed)
//	valv init                create a vault and enrol its first admin's YubiKey
//	valv enrol               enrol another key holder's YubiKey
//	valv recipient COMP      print a compartment's public age recipient
//	valv compartment …       create and list compartments
//	valv grant|revoke …      give or take a compartment from a key holder
//	valv holder list         list the key holders
//	valv staff …             the staff register: add, screen, nda, deactivate, list
//	valv customer …          add, list, search, show and edit customers; retention, erase
//	valv import-csv FILE     add customers from a CSV file
//	valv export-csv OUT      write customers as CSV (codes only unless --with-names)
//	valv doc add|list|export attach, list and export a customer's documents
//	valv intake seal|import  seal files to a compartment anywhere; take them in while it is locked
//	valv intake list|file|discard
//	                         the sealed intake queue: list, file as a customer's document, discard
//	valv audit verify|export check or export the audit log
//	valv backup --to DIR     write a verified backup (--media lists removable media; rotate)
//	valv verify FILE         check a backup offline
//	valv restore FILE        restore a backup into a new folder
//	valv drill FILE          restore into a temporary folder and compare with the vault
//	valv version             print the version
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/valv-vault/valv/store/directio"
)

// version is set by the build (-ldflags "-X main.version=…").
var version = "0.1.0-dev"

func main() {
	directio.SetProcessors() // backups and exports write around the page cache
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// errUsage marks an error already explained by the flag package.
var errUsage = errors.New("usage")

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	stdio.in, stdio.err = stdin, stderr
	err := dispatch(args, stdin, stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintf(stderr, "valv: %v\n", err)
		return 1
	}
}

func dispatch(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || (len(args[0]) > 0 && args[0][0] == '-') {
		return runGUI(args, stderr)
	}
	switch args[0] {
	case "card":
		return cardCommand(args[1:], stdin, stdout, stderr)
	case "unlock":
		return unlockCommand(args[1:], stdin, stdout, stderr)
	case "init":
		return initCommand(args[1:], stdin, stdout, stderr)
	case "enrol", "enroll":
		return enrolCommand(args[1:], stdin, stdout, stderr)
	case "recipient":
		return recipientCommand(args[1:], stdout, stderr)
	case "redact":
		return redactCommand(args[1:], stdout, stderr)
	case "compartment":
		return compartmentCommand(args[1:], stdout, stderr)
	case "grant", "revoke":
		return grantCommand(args[0] == "revoke", args[1:], stdout, stderr)
	case "holder":
		return holderCommand(args[1:], stdout, stderr)
	case "staff":
		return staffCommand(args[1:], stdout, stderr)
	case "customer":
		return customerCommand(args[1:], stdout, stderr)
	case "import-csv":
		return importCSVCommand(args[1:], stdin, stdout, stderr)
	case "export-csv":
		return exportCSVCommand(args[1:], stdout, stderr)
	case "audit":
		return auditCommand(args[1:], stdout, stderr)
	case "doc":
		return docCommand(args[1:], stdout, stderr)
	case "backup":
		return backupCommand(args[1:], stdout, stderr)
	case "verify":
		return verifyCommand(args[1:], stdin, stdout, stderr)
	case "restore":
		return restoreCommand(args[1:], stdin, stdout, stderr)
	case "drill":
		return drillCommand(args[1:], stdin, stdout, stderr)
	case "intake":
		return intakeCommand(args[1:], stdout, stderr)
	case "version":
		fmt.Fprintf(stdout, "valv %s\n", version)
		return nil
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "valv: unknown command %q\n\n%s", args[0], usage)
	return errUsage
}

const usage = `Usage:
  valv                     open the window
  valv --demo              open the window on a simulated card, in a throw-away folder
  valv --demo-if-no-card   demo mode when no YubiKey is present, else the window
  valv card list           list the YubiKeys present, by serial
  valv card unblock        set a new PIN with the PUK
  valv unlock --check      check a card's PIN, print the tries left
  valv redact IN OUT       write a redacted copy of a document (no vault needed)
  valv init                create a vault and enrol its first admin's YubiKey
  valv enrol               enrol another key holder's YubiKey
  valv recipient COMP      print a compartment's public age recipient
  valv compartment create|list
                           compartments (ids; --names shows names)
  valv grant|revoke        give or take a compartment from a key holder
  valv holder list         list the key holders
  valv staff add|screen|nda|link|deactivate|list
                           the staff register: screening and NDAs (lists show ids; --names shows names)
  valv customer add|list|search|show|edit
                           customers (lists show codes only; show --reveal is logged)
  valv import-csv FILE     add customers from a CSV file (Excel's too); bad rows are listed, valid ones added
  valv export-csv OUT      customers as CSV: codes only, or --with-names (masked), --with-names --reveal
  valv customer retention|erase
                           customers past their retention date; erase for good (compacts the file)
  valv doc add|list|export attach documents to a customer, list them, export one
                           (add --protect: a passphrase of its own; export verifies before naming OUT)
  valv intake seal --to RECIPIENT FILE...
                           seal files to a compartment (no vault, card or key needed)
  valv intake import DIR   take sealed files in while the compartment is locked (no key needed)
  valv intake list|file|discard
                           the intake queue: list it, file an item to a customer, discard one
  valv audit verify|export check the audit log, or export it (CSV or JSON Lines)
  valv backup --to DIR     write a backup and read it back (--media lists removable media)
  valv backup rotate --to DIR [--keep N] [--monthly M] [--dry-run]
                           delete old backups: keep the last N and one a month for M months
  valv verify FILE         check a backup (signature, hashes) with a card or the recovery key
  valv restore FILE --into NEWDIR [--compartment ID]
                           restore a backup into a new folder, never over a vault
  valv drill FILE          restore into a temporary folder, compare with the vault, report
  valv version             print the version

The vault commands take --vault DIR (default $XDG_DATA_HOME/valv) and
--identity FILE (the recovery key, or a software key holder's key file);
"valv COMMAND SUBCOMMAND -h" lists their flags.
`
