package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	boltErrors "go.etcd.io/bbolt/errors"
)

// File names and format versions. See SPEC.md for the layout.
const (
	// DirectoryFile is the name of the vault's directory file.
	DirectoryFile = "directory.valv"

	// FileExt ends the name of every compartment file.
	FileExt = ".valv"

	// DirectoryFormat and CompartmentFormat are the format versions this
	// version of Valv writes. Older files are migrated when opened (see
	// migrations); newer ones are refused.
	DirectoryFormat   uint32 = 3 // 2: the anchors bucket (anchor.go); 3: chained checkpoints (checkpoint.go)
	CompartmentFormat uint32 = 3 // 2: the search bucket (search.go); 3: chained checkpoints (checkpoint.go)

	fileMode   os.FileMode = 0o600
	folderMode os.FileMode = 0o700

	// tmpSuffix marks a file being created or rewritten. Such a file is
	// never read; a crash leaves it behind and the next writer replaces it.
	tmpSuffix = ".tmp"
)

// initialMmap is the address space each bbolt file maps at open.
const initialMmap = 1 << 30

// lockTimeout is how long Open waits for another process to let go of
// the vault.
var lockTimeout = 2 * time.Second

// Bucket names.
var (
	bMeta        = []byte("meta")
	bHolders     = []byte("holders")      // directory: holder id → holderRecord (JSON, public)
	bNames       = []byte("names")        // directory: holder or compartment id → sealed name
	bMACs        = []byte("macs")         // directory: kind ‖ id → lookup tag over the public record
	bComps       = []byte("compartments") // directory: compartment id → empty
	bGrants      = []byte("grants")       // directory: compartment id ‖ holder id → empty; compartment: holder id → empty
	bAudit       = []byte("audit")        // uint64be(seq) → link ‖ sealed entry
	bCheckpoints = []byte("checkpoints")  // uint64be(size) ‖ holder id → sealed checkpoint
	bPending     = []byte("pending-audit")
	bCustomers   = []byte("customers")  // record id → uint64be(version) ‖ sealed record
	bHistory     = []byte("history")    // record id ‖ uint64be(version) → sealed record
	bIndex       = []byte("index")      // record id → sealed code (bSearch: search.go)
	bCodes       = []byte("codes")      // lookup tag of the code → record id
	bDocuments   = []byte("documents")  // compartment: document id → customer record id ‖ sealed metadata
	bDocChunks   = []byte("doc-chunks") // compartment: document id ‖ uint64be(index) → ≤ 1 MiB of the document's age stream (all but the last of one length)
	bStaff       = []byte("staff")      // directory: staff id → sealed staff record (made on first use)
	bStaffNDA    = []byte("staff-nda")  // directory: staff id ‖ uint32be(chunk) → sealed chunk of the signed NDA
)

// Keys in the meta bucket.
var (
	kFormat        = []byte("format")
	kKind          = []byte("kind")
	kVaultID       = []byte("vault-id")
	kRecovery      = []byte("recovery")            // recovery recipient, age1…
	kDirID         = []byte("directory-key-id")    // directory
	kDirKey        = []byte("directory-key")       // directory: wrapped directory key
	kDirRecipient  = []byte("directory-recipient") // directory: public recipient of the directory key
	kCompID        = []byte("compartment-id")      // compartment
	kCompRecipient = []byte("recipient")           // compartment: public recipient
	kCompKey       = []byte("key")                 // compartment: wrapped compartment key
	kCompName      = []byte("name")                // compartment: sealed name
	kGrantsMAC     = []byte("grants-mac")          // compartment: lookup tag over the grants
	kAuditHead     = []byte("audit-head")          // sealed (size, last link)
)

const (
	kindDirectory   = "valv directory"
	kindCompartment = "valv compartment"
)

// A migration upgrades a file from one format version to the next, inside
// the transaction that then records the new version. It must not need any
// key: files are migrated when opened, before unlock.
type migration func(tx *bolt.Tx) error

// migrations[kind][v] upgrades a file of that kind from version v to v+1.
// Tests add a fake version 0 to exercise the mechanism.
var migrations = map[string]map[uint32]migration{
	kindDirectory:   {1: migrateDirectoryAnchors, 2: migrateChainedCheckpoints},
	kindCompartment: {1: migrateSearch, 2: migrateChainedCheckpoints},
}

var (
	// ErrNotVault is returned by Open for a folder without a vault.
	ErrNotVault = errors.New("store: no vault here (no " + DirectoryFile + ")")

	// ErrLocked is returned when another process has the vault open.
	ErrLocked = errors.New("store: the vault is open in another Valv process; close it there first")

	// ErrNewerFormat is returned for a file written by a newer Valv.
	ErrNewerFormat = errors.New("store: the file was written by a newer version of Valv; upgrade Valv")
)

// openDB opens (or, with create, makes) a bbolt file with Valv's options.
func openDB(path string, create bool) (*bolt.DB, error) {
	if !create {
		if _, err := os.Stat(path); err != nil {
			return nil, err
		}
	}
	db, err := bolt.Open(path, fileMode, &bolt.Options{
		Timeout: lockTimeout,
		// Map generously up front: growing the map during a commit
		// copies every dirty node. This reserves address space only;
		// the file still grows as data is written.
		InitialMmapSize: initialMmap,
	})
	if errors.Is(err, boltErrors.ErrTimeout) {
		return nil, ErrLocked
	}
	if err != nil {
		return nil, fmt.Errorf("store: opening %s: %w", filepath.Base(path), err)
	}
	return db, nil
}

// initMeta writes the kind and format version of a new file.
func initMeta(tx *bolt.Tx, kind string, version uint32) (*bolt.Bucket, error) {
	m, err := tx.CreateBucket(bMeta)
	if err != nil {
		return nil, err
	}
	if err := m.Put(kKind, []byte(kind)); err != nil {
		return nil, err
	}
	return m, m.Put(kFormat, u32(version))
}

// openHooks[kind] run, in order, whenever a file of that kind is opened,
// after checkFormat has migrated it. They need no key. (Documents: the
// sweep of chunks that an interrupted addition left behind.)
var openHooks = map[string][]func(db *bolt.DB) error{}

// checkFormat reads the kind and version of a file, migrates an older file
// to the current version in one transaction, and refuses a newer one.
// Then it runs the kind's openHooks.
func checkFormat(db *bolt.DB, kind string, current uint32) error {
	if err := migrateFormat(db, kind, current); err != nil {
		return err
	}
	for _, hook := range openHooks[kind] {
		if err := hook(db); err != nil {
			return fmt.Errorf("store: opening %s: %w", filepath.Base(db.Path()), err)
		}
	}
	return nil
}

func migrateFormat(db *bolt.DB, kind string, current uint32) error {
	var version uint32
	err := db.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(bMeta)
		if m == nil || string(m.Get(kKind)) != kind {
			return fmt.Errorf("store: %s is not a %s file", filepath.Base(db.Path()), kind)
		}
		v := m.Get(kFormat)
		if len(v) != 4 {
			return fmt.Errorf("store: %s has no format version; the file is damaged", filepath.Base(db.Path()))
		}
		version = binary.BigEndian.Uint32(v)
		return nil
	})
	switch {
	case err != nil:
		return err
	case version == current:
		return nil
	case version > current:
		return fmt.Errorf("%w (%s is format %d, this Valv reads up to %d)", ErrNewerFormat, filepath.Base(db.Path()), version, current)
	}
	return db.Update(func(tx *bolt.Tx) error {
		for v := version; v < current; v++ {
			m, ok := migrations[kind][v]
			if !ok {
				return fmt.Errorf("store: no migration of %s from format %d to %d", filepath.Base(db.Path()), v, v+1)
			}
			if err := m(tx); err != nil {
				return fmt.Errorf("store: migrating %s from format %d to %d: %w", filepath.Base(db.Path()), v, v+1, err)
			}
		}
		return tx.Bucket(bMeta).Put(kFormat, u32(current))
	})
}

// syncDir fsyncs a folder, so that a rename or a new file in it is
// durable. Tests replace it to make it fail.
var syncDir = fsyncDir

func fsyncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("store: syncing folder: %w", err)
	}
	return nil
}

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// compartmentPath returns the file of a compartment.
func compartmentPath(dir string, id CompartmentID) string {
	return filepath.Join(dir, id.String()+FileExt)
}

// get returns a copy of a value: bbolt's slices are valid only inside the
// transaction.
func get(b *bolt.Bucket, k []byte) []byte {
	v := b.Get(k)
	if v == nil {
		return nil
	}
	return append([]byte(nil), v...)
}
