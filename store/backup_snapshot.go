package store

import (
	"crypto"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"time"

	"filippo.io/age"
	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/crypto/seal"
)

// Audit actions of backups (store/backup). Their names are part of the
// format. The object is the backup's id; Count says how it went.
const (
	ActionBackup       Action = "backup"        // Count: bytes written, or -1 if it failed
	ActionBackupVerify Action = "backup-verify" // Count: 0 verified, 1 failed
	ActionRestore      Action = "restore"       // Count: files restored, or -1 if it failed
	ActionDrill        Action = "drill"         // Count: 0 passed, 1 failed
	// ActionBackupRotate: rotation deleted backups on a medium (no
	// object: it is about a folder, whose path may hold a person's name).
	ActionBackupRotate Action = "backup-rotate" // Count: files deleted
)

// A LogHead is where an audit log ends, read from the clear part of the
// file (the link of the last entry): the number of entries and the last
// link. Reading it needs no key; only verifying the log (VerifyAudit)
// shows that it is genuine.
type LogHead struct {
	Entries uint64 `json:"entries"`
	Link    []byte `json:"link"` // link(Entries-1); empty for an empty log
}

// A SnapshotFile is one vault file in a Snapshot.
type SnapshotFile struct {
	Name        string        // DirectoryFile or "<compartment id>.valv"
	Compartment CompartmentID // zero for the directory
	Size        int64         // the bytes WriteTo writes
	Log         LogHead
	// Checkpoint is the newest checkpoint of the file's log that this
	// session opens (nil for a compartment it holds no key of, or a log
	// never checkpointed). Its signature is not checked here.
	Checkpoint *Checkpoint
	// WriteTo writes the file as it was when the snapshot was taken
	// (bbolt's Tx.WriteTo): exactly Size bytes.
	WriteTo func(w io.Writer) (int64, error)
}

// A Snapshot is a consistent copy of every file of a vault, ready to be
// streamed.
type Snapshot struct {
	Vault    ID
	Time     time.Time
	Actor    HolderID // who takes it (Recovery for the recovery key)
	Recovery *age.X25519Recipient
	Holders  []Holder // the key holders (public data) in the snapshot's directory
	Files    []SnapshotFile
}

// Snapshot takes a read transaction on the directory and on every
// compartment file it lists, and calls fn with them (admins only: a
// backup holds the directory). The transactions are begun together while
// the session is held, so what one file says of another (the compartment
// list, grants) agrees. A compartment made after the directory's
// transaction began is not in the snapshot.
//
// fn must not write to the vault, nor use the session: the read
// transactions are held until it returns.
func (s *Session) Snapshot(fn func(*Snapshot) error) error {
	snap, txs, err := s.beginSnapshot()
	defer func() {
		for _, tx := range txs {
			tx.Rollback()
		}
	}()
	if err != nil {
		return err
	}
	return fn(snap)
}

func (s *Session) beginSnapshot() (*Snapshot, []*bolt.Tx, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkAdmin(); err != nil {
		return nil, nil, err
	}
	dtx, err := s.v.db.Begin(false)
	if err != nil {
		return nil, nil, err
	}
	txs := []*bolt.Tx{dtx}
	snap := &Snapshot{Vault: s.v.id, Time: s.v.now().UTC(), Actor: s.actor, Recovery: s.v.recovery}
	if err := tx2Holders(dtx, &snap.Holders); err != nil {
		return nil, txs, err
	}
	add := func(name string, cid CompartmentID, tx *bolt.Tx, kr *seal.Keyring) error {
		f := SnapshotFile{Name: name, Compartment: cid, Size: tx.Size(), WriteTo: tx.WriteTo}
		var err error
		if f.Log, err = txLogHead(tx); err != nil {
			return fmt.Errorf("store: %s: %w", name, err)
		}
		if kr != nil {
			f.Checkpoint = lastCheckpoint(tx, kr)
		}
		snap.Files = append(snap.Files, f)
		return nil
	}
	if err := add(DirectoryFile, ID{}, dtx, s.dirKR); err != nil {
		return nil, txs, err
	}
	var cids []CompartmentID
	dtx.Bucket(bComps).ForEach(func(k, _ []byte) error {
		var cid CompartmentID
		if copy(cid[:], k) == len(cid) {
			cids = append(cids, cid)
		}
		return nil
	})
	for _, cid := range cids {
		if p := s.problems[cid]; p != "" {
			return nil, txs, fmt.Errorf("store: compartment %s cannot be backed up: %s", cid, p)
		}
		db, err := s.v.compartmentDB(cid)
		if err != nil {
			return nil, txs, fmt.Errorf("store: compartment %s cannot be backed up: %w", cid, err)
		}
		tx, err := db.Begin(false)
		if err != nil {
			return nil, txs, err
		}
		txs = append(txs, tx)
		var kr *seal.Keyring
		if c := s.comps[cid]; c != nil {
			kr = c.kr
		}
		if err := add(cid.String()+FileExt, cid, tx, kr); err != nil {
			return nil, txs, err
		}
	}
	return snap, txs, nil
}

func tx2Holders(tx *bolt.Tx, out *[]Holder) error {
	return tx.Bucket(bHolders).ForEach(func(k, val []byte) error {
		h, err := decodeHolder(k, val)
		if err != nil {
			return err
		}
		*out = append(*out, h)
		return nil
	})
}

// txLogHead reads the end of a file's audit log from its clear part.
func txLogHead(tx *bolt.Tx) (LogHead, error) {
	b := tx.Bucket(bAudit)
	if b == nil {
		return LogHead{}, nil
	}
	k, v := b.Cursor().Last()
	if k == nil {
		return LogHead{}, nil
	}
	if len(k) != 8 || len(v) < seal.LinkSize {
		return LogHead{}, errors.New("the audit log's last entry is malformed; run valv audit verify")
	}
	return LogHead{Entries: binary.BigEndian.Uint64(k) + 1, Link: slices.Clone(v[:seal.LinkSize])}, nil
}

// lastCheckpoint returns the checkpoint over the most entries (the newest
// of those) that opens under kr, or nil.
func lastCheckpoint(tx *bolt.Tx, kr *seal.Keyring) *Checkpoint {
	b := tx.Bucket(bCheckpoints)
	if b == nil {
		return nil
	}
	var best *Checkpoint
	b.ForEach(func(k, v []byte) error {
		p, err := kr.Open(nil, seal.Audit, slices.Concat([]byte("c"), k), 0, v)
		var c Checkpoint
		if err != nil || json.Unmarshal(p, &c) != nil {
			return nil
		}
		if best == nil || c.Size > best.Size || (c.Size == best.Size && c.Time.After(best.Time)) {
			best = &c
		}
		return nil
	})
	return best
}

// FileInfo describes a vault file found by ReadFileInfo.
type FileInfo struct {
	Kind        string        // "directory" or "compartment"
	Vault       ID            // the vault it belongs to
	Compartment CompartmentID // zero for the directory
	Log         LogHead
}

// ReadFileInfo opens a vault file read-only, changing nothing in it (no
// migration, no sweep), and returns its kind, vault id and audit log head
// (see LogHead). Restoring a backup uses it to compare the files with the
// backup's manifest before the vault is opened.
//
// The file may be crafted (a backup anyone can encrypt to the recovery
// recipient): it is checked whole first (every page reachable, of its
// type, within the file: bbolt's Tx.Check), and a page that makes bbolt
// panic is an error that says the file is damaged, never a crash.
func ReadFileInfo(path string) (fi FileInfo, err error) {
	st, err := os.Stat(path)
	if err != nil {
		return FileInfo{}, err
	}
	db, err := bolt.Open(path, fileMode, &bolt.Options{ReadOnly: true, Timeout: lockTimeout})
	if err != nil {
		return FileInfo{}, fmt.Errorf("store: %s does not open as a vault file: %w", path, err)
	}
	defer db.Close()
	damaged := fmt.Errorf("store: %s is damaged: its pages do not read as a vault file", path)
	// A fault in the mapping (a page past the end of the file) becomes a
	// panic of this goroutine, and every panic an error.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			fi, err = FileInfo{}, damaged
		}
	}()
	err = db.View(func(tx *bolt.Tx) error {
		if tx.Size() > st.Size() {
			return damaged // its pages reach past its end
		}
		var bad error
		for err := range tx.Check() { // drained: it reads the mapping until it ends
			if bad == nil {
				bad = err
			}
		}
		if bad != nil {
			return damaged
		}
		m := tx.Bucket(bMeta)
		if m == nil {
			return fmt.Errorf("store: %s is not a vault file", path)
		}
		switch string(m.Get(kKind)) {
		case kindDirectory:
			fi.Kind = "directory"
		case kindCompartment:
			fi.Kind = "compartment"
			if copy(fi.Compartment[:], m.Get(kCompID)) != len(fi.Compartment) {
				return fmt.Errorf("store: %s has no compartment id; the file is damaged", path)
			}
		default:
			return fmt.Errorf("store: %s is not a vault file", path)
		}
		if copy(fi.Vault[:], m.Get(kVaultID)) != len(fi.Vault) {
			return fmt.Errorf("store: %s has no vault id; the file is damaged", path)
		}
		var err error
		fi.Log, err = txLogHead(tx)
		return err
	})
	return fi, err
}

// Signer returns the session's signing key (the card's slot 9C key,
// checked at unlock against the one enrolled), or nil.
func (s *Session) Signer() crypto.Signer { return s.signer }

// LogBackup records a backup, a verification of one, a restore, a drill
// or a rotation in the directory's audit log (admins only). object is the
// backup's id (the zero id: none, for a backup that did not read).
func (s *Session) LogBackup(action Action, object ID, count int64) error {
	switch action {
	case ActionBackup, ActionBackupVerify, ActionRestore, ActionDrill, ActionBackupRotate:
	default:
		return fmt.Errorf("store: %q is not a backup action", action)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkAdmin(); err != nil {
		return err
	}
	obj := ""
	if object != (ID{}) {
		obj = object.String()
	}
	return s.v.db.Update(func(tx *bolt.Tx) error {
		return s.logDir(tx, Entry{Time: s.v.now(), Holder: s.actor, Action: action, Object: obj, Count: count})
	})
}
