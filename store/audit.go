package store

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/crypto/seal"
	"github.com/valv-vault/valv/store/customer"
)

// An Action is what an audit entry records.
type Action string

// The actions. Their names are part of the format (they are stored in
// sealed entries and exported): never rename one.
const (
	ActionCreateVault       Action = "vault-create"
	ActionUnlock            Action = "unlock"
	ActionPINFailed         Action = "pin-failed" // Count: retries left
	ActionEnrol             Action = "enrol"      // Object: the new holder
	ActionCreateCompartment Action = "compartment-create"
	ActionGrant             Action = "grant"  // Object: the holder
	ActionRevoke            Action = "revoke" // Object: the holder
	ActionRotate            Action = "rotate" // Count: entries carried over
	ActionAdd               Action = "add"
	ActionList              Action = "list" // Count: codes listed
	ActionView              Action = "view"
	ActionReveal            Action = "reveal"
	ActionHistory           Action = "history"
	ActionEdit              Action = "edit" // Count: the new version
	ActionDelete            Action = "delete"
	ActionAuditVerify       Action = "audit-verify" // Count: 1 if it failed
	ActionAuditExport       Action = "audit-export"
	ActionAuditBroken       Action = "audit-broken"   // at rotation: Count is the first bad entry of the old log
	ActionRotateDropped     Action = "rotate-dropped" // at rotation: Count values that did not open were left behind
	ActionPendingDamaged    Action = "pending-damaged"
)

// An Entry is one audit log entry. It never holds a name or a number
// typed by a person: Object is a customer code, a compartment id or a
// holder id, and Count a number such as PIN retries left.
type Entry struct {
	Seq    uint64    `json:"seq"`
	Time   time.Time `json:"time"`
	Holder HolderID  `json:"holder"`
	Action Action    `json:"action"`
	Object string    `json:"object,omitempty"`
	Count  int64     `json:"count,omitempty"`
}

// checkObject makes sure an entry's object is a code or an id, so that no
// name or personal number can ever be logged by mistake.
func checkObject(s string) error {
	if s == "" || customer.Code(s).Valid() {
		return nil
	}
	if _, err := ParseID(s); err == nil && s != "recovery" {
		return nil
	}
	return errors.New("store: audit object must be a customer code or an id (this is a bug)")
}

// DirectoryLog names the directory's audit log in reports and exports;
// a compartment's log is named by the compartment id.
const DirectoryLog = "directory"

// logHead is the sealed head of a log: its size and last link, and
// (format 3) a reference to the log's newest checkpoint (checkpoint.go).
type logHead struct {
	size uint64
	link [seal.LinkSize]byte
	cp   []byte // checkpoint key ‖ SHA-256 of its message; nil if none since the head was made
}

var headRecordID = []byte("audit-head")

func entryRecordID(seq uint64) []byte { return binary.BigEndian.AppendUint64([]byte("e"), seq) }

func readHead(meta *bolt.Bucket, kr *seal.Keyring) (logHead, error) {
	var h logHead
	v := meta.Get(kAuditHead)
	if v == nil {
		return h, nil
	}
	if bytes.Equal(v, retiredHead) { // retire.go
		return h, errFileReplaced
	}
	p, err := kr.Open(nil, seal.Audit, headRecordID, 0, v)
	if err != nil || (len(p) != 8+seal.LinkSize && len(p) != 8+seal.LinkSize+checkpointRefSize) {
		return h, errors.New("the log head does not open: it was altered")
	}
	h.size = binary.BigEndian.Uint64(p)
	copy(h.link[:], p[8:])
	if len(p) > 8+seal.LinkSize {
		h.cp = p[8+seal.LinkSize:]
	}
	return h, nil
}

// putHead seals and stores a log's head.
func putHead(meta *bolt.Bucket, kr *seal.Keyring, h *logHead, buf []byte) error {
	buf = binary.BigEndian.AppendUint64(buf[:0], h.size)
	buf = append(buf, h.link[:]...)
	buf = append(buf, h.cp...)
	return meta.Put(kAuditHead, kr.Seal(nil, seal.Audit, headRecordID, 0, buf))
}

// An appender adds entries to a log inside one write transaction.
type appender struct {
	audit, meta *bolt.Bucket
	kr          *seal.Keyring
	head        logHead
	buf         []byte
	dirty       bool
}

func newAppender(tx *bolt.Tx, kr *seal.Keyring) (*appender, error) {
	meta := tx.Bucket(bMeta)
	audit, err := tx.CreateBucketIfNotExists(bAudit)
	if err != nil {
		return nil, err
	}
	audit.FillPercent = 1 // append-only: fill every page
	h, err := readHead(meta, kr)
	if errors.Is(err, errFileReplaced) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("store: audit log: %v; run valv audit verify", err)
	}
	return &appender{audit: audit, meta: meta, kr: kr, head: h}, nil
}

// add appends e, setting its sequence number. Call flush before the
// transaction commits.
func (a *appender) add(e Entry) error {
	if err := checkObject(e.Object); err != nil {
		return err
	}
	e.Seq = a.head.size
	a.buf = appendEntry(a.buf[:0], &e)
	v := make([]byte, seal.LinkSize, seal.LinkSize+seal.Overhead+len(a.buf))
	v = a.kr.Seal(v, seal.Audit, entryRecordID(e.Seq), 0, a.buf)
	a.kr.ChainLink(v[:0], a.head.link[:], e.Seq, v[seal.LinkSize:])
	if err := a.audit.Put(u64(e.Seq), v); err != nil {
		return err
	}
	a.head.size++
	copy(a.head.link[:], v[:seal.LinkSize])
	a.dirty = true
	return nil
}

// addBatch appends entries like add, sealing them in parallel; only the
// chain is computed in order.
func (a *appender) addBatch(entries []Entry) error {
	p, err := a.prepare(entries)
	if err != nil {
		return err
	}
	return a.put(p)
}

// A preparedBatch is a batch of entries sealed and chained after the
// head of an appender, not yet put.
type preparedBatch struct {
	base uint64   // the sequence number of vals[0]
	vals [][]byte // link ‖ sealed entry
}

// prepare seals entries in parallel and chains them in order after the
// head, setting their sequence numbers. It reads only the head and the
// keyring, so it may run while the caller writes to other buckets of the
// transaction; nothing may be appended between it and put.
func (a *appender) prepare(entries []Entry) (preparedBatch, error) {
	vals := make([][]byte, len(entries))
	base := a.head.size
	var mu sync.Mutex
	var bad error
	parallel(len(entries), func(lo, hi int) {
		var buf []byte
		for i := lo; i < hi; i++ {
			e := &entries[i]
			if err := checkObject(e.Object); err != nil {
				mu.Lock()
				bad = err
				mu.Unlock()
				return
			}
			e.Seq = base + uint64(i)
			buf = appendEntry(buf[:0], e)
			v := make([]byte, seal.LinkSize, seal.LinkSize+seal.Overhead+len(buf))
			vals[i] = a.kr.Seal(v, seal.Audit, entryRecordID(e.Seq), 0, buf)
		}
	})
	if bad != nil {
		return preparedBatch{}, bad
	}
	c := a.kr.Chainer()
	prev := a.head.link[:]
	for i, v := range vals {
		c.Link(v[:0], prev, base+uint64(i), v[seal.LinkSize:])
		prev = v[:seal.LinkSize]
	}
	return preparedBatch{base, vals}, nil
}

// put appends a batch that prepare made from the current head.
func (a *appender) put(p preparedBatch) error {
	if p.base != a.head.size {
		return fmt.Errorf("store: audit log: a batch prepared at entry %d put at %d", p.base, a.head.size)
	}
	for i, v := range p.vals {
		if err := a.audit.Put(u64(p.base+uint64(i)), v); err != nil {
			return err
		}
		copy(a.head.link[:], v[:seal.LinkSize])
		a.head.size++
	}
	a.dirty = a.dirty || len(p.vals) > 0
	return nil
}

// flush writes the log's head. Every transaction that adds entries must
// call it before committing.
func (a *appender) flush() error {
	if !a.dirty {
		return nil
	}
	a.dirty = false
	return putHead(a.meta, a.kr, &a.head, a.buf)
}

// appendEntries appends entries to the log of the file in one transaction.
func appendEntries(tx *bolt.Tx, kr *seal.Keyring, entries ...Entry) error {
	a, err := newAppender(tx, kr)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := a.add(e); err != nil {
			return err
		}
	}
	return a.flush()
}

// A Checkpoint is a log head signed by a key holder's signing key (the
// YubiKey's slot 9C): it certifies that the log had Size entries ending
// in the link Head at Time.
type Checkpoint struct {
	Log    string    `json:"log"`
	Size   uint64    `json:"size"`
	Head   []byte    `json:"head"`
	Time   time.Time `json:"time"`
	Holder HolderID  `json:"holder"`
	// Version 2 (checkpoint.go): chained, with the heads of other logs.
	Version   int        `json:"version,omitempty"`  // 0: version 1
	Previous  []byte     `json:"previous,omitempty"` // SHA-256 of the message of the log's checkpoint before
	Heads     []FileHead `json:"heads,omitempty"`    // other files' logs as this one saw them
	Signature []byte     `json:"signature"`
}

// Message returns the bytes that the checkpoint's signature covers:
//
//	valv audit checkpoint v1
//	vault <vault id>
//	log <log name>
//	size <decimal>
//	head <64 hex digits>
//	time <RFC 3339, UTC, nanoseconds>
//	holder <holder id>
//
// and for a version 2 checkpoint the lines of messageV2.
func (c *Checkpoint) Message(vault ID) []byte {
	if c.Version >= 2 {
		return c.messageV2(vault)
	}
	return fmt.Appendf(nil, "valv audit checkpoint v1\nvault %s\nlog %s\nsize %d\nhead %x\ntime %s\nholder %s\n",
		vault, c.Log, c.Size, c.Head, c.Time.UTC().Format(time.RFC3339Nano), c.Holder)
}

func checkpointKey(size uint64, holder HolderID) []byte {
	return slices.Concat(u64(size), holder[:])
}

// sign signs a message with a key holder's signing key: ECDSA over
// SHA-256 (a YubiKey's P-256 slot 9C), or Ed25519.
func sign(signer crypto.Signer, msg []byte) ([]byte, error) {
	if _, ok := signer.Public().(ed25519.PublicKey); ok {
		return signer.Sign(rand.Reader, msg, crypto.Hash(0))
	}
	d := sha256.Sum256(msg)
	return signer.Sign(rand.Reader, d[:], crypto.SHA256)
}

func verifySignature(pub crypto.PublicKey, msg, sig []byte) bool {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		d := sha256.Sum256(msg)
		return ecdsa.VerifyASN1(k, d[:], sig)
	case ed25519.PublicKey:
		return ed25519.Verify(k, msg, sig)
	}
	return false
}

// An AuditError names the first bad entry of a log.
type AuditError struct {
	Log    string // DirectoryLog or a compartment id
	Seq    uint64 // the first bad (or missing) entry
	Reason string
}

func (e *AuditError) Error() string {
	return fmt.Sprintf("audit log %s: entry %d: %s", e.Log, e.Seq, e.Reason)
}

// A LogReport is the result of verifying one audit log.
type LogReport struct {
	Log         string
	Entries     uint64
	Checkpoints []Checkpoint // the valid ones, oldest first
	Err         *AuditError  // nil if the log verified
}

// verifyLog checks a log: entries numbered from 0 without gaps, every
// chain link, every entry opening under the key with its own number, the
// sealed head matching the last entry, and every checkpoint's signature
// and head. signingKey returns a holder's signing public key.
func verifyLog(tx *bolt.Tx, log string, kr *seal.Keyring, vault ID, signingKey func(HolderID) crypto.PublicKey) LogReport {
	r := LogReport{Log: log}
	fail := func(seq uint64, format string, args ...any) LogReport {
		if r.Err == nil || seq < r.Err.Seq {
			r.Err = &AuditError{Log: log, Seq: seq, Reason: fmt.Sprintf(format, args...)}
		}
		return r
	}
	meta := tx.Bucket(bMeta)
	head, herr := readHead(meta, kr)
	var links [][seal.LinkSize]byte
	prev := make([]byte, seal.LinkSize)
	if b := tx.Bucket(bAudit); b != nil {
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			n := uint64(len(links))
			if len(k) != 8 {
				return fail(n, "the log holds a malformed key; the file was edited")
			}
			seq := binary.BigEndian.Uint64(k)
			if seq != n {
				return fail(n, "missing: the log jumps from entry %d to entry %d (deleted)", int64(n)-1, seq)
			}
			if len(v) < seal.LinkSize+seal.Overhead {
				return fail(seq, "altered: truncated")
			}
			link, sealed := v[:seal.LinkSize], v[seal.LinkSize:]
			if !kr.VerifyChainLink(link, prev, seq, sealed) {
				return fail(seq, "altered: its chain link does not match (the entry or its link was changed)")
			}
			p, err := kr.Open(nil, seal.Audit, entryRecordID(seq), 0, sealed)
			if err != nil {
				return fail(seq, "altered: the entry does not open")
			}
			e, err := decodeEntry(p)
			if err != nil || e.Seq != seq {
				return fail(seq, "altered: the entry is malformed")
			}
			if seq == 0 && e.Action != ActionCreateVault && e.Action != ActionCreateCompartment {
				return fail(0, "altered: a log begins with the file's create entry, this one with %q (entries before it were removed)", e.Action)
			}
			var l [seal.LinkSize]byte
			copy(l[:], link)
			links = append(links, l)
			prev = link
		}
	}
	n := uint64(len(links))
	r.Entries = n
	switch {
	case n == 0:
		// Every file is created with its create entry: an empty log was
		// emptied (docs/security-review-2026-11.md, H1).
		return fail(0, "missing: the log is empty; it was deleted")
	case herr != nil:
		return fail(n, "%v", herr)
	case head.size > n:
		return fail(n, "missing: the log was truncated; its head records %d entries, %d are left", head.size, n)
	case head.size < n:
		return fail(head.size, "added outside Valv: the log head records %d entries, the file holds %d", head.size, n)
	case n > 0 && subtle.ConstantTimeCompare(head.link[:], links[n-1][:]) != 1:
		return fail(n-1, "the log head does not match the last entry")
	}
	b := tx.Bucket(bCheckpoints)
	if b == nil {
		return r
	}
	var cps []Checkpoint
	err := b.ForEach(func(k, v []byte) error {
		p, err := kr.Open(nil, seal.Audit, slices.Concat([]byte("c"), k), 0, v)
		var c Checkpoint
		if err != nil || json.Unmarshal(p, &c) != nil || len(k) != 24 || c.Size != binary.BigEndian.Uint64(k) {
			size := uint64(0)
			if len(k) >= 8 {
				size = binary.BigEndian.Uint64(k)
			}
			fail(size-min(size, 1), "a checkpoint does not open: it was altered")
			return nil
		}
		cps = append(cps, c)
		return nil
	})
	if err != nil {
		return fail(0, "reading checkpoints: %v", err)
	}
	// Checkpoints whose signature and head check out certify the entries
	// before their size. For one that does not match, the first entry no
	// valid checkpoint vouches for is named: with the tail cut and an
	// older head put back, that is where the log was cut.
	type failure struct {
		c      Checkpoint
		reason string
	}
	var bad []failure
	for _, c := range cps {
		pub := signingKey(c.Holder)
		switch {
		case c.Log != log:
			bad = append(bad, failure{c, fmt.Sprintf("a checkpoint belongs to log %s; the file was mixed up", c.Log)})
		case pub == nil:
			bad = append(bad, failure{c, fmt.Sprintf("checkpoint by %s: not a key holder of this vault, or one with no signing key", c.Holder)})
		case !verifySignature(pub, c.Message(vault), c.Signature):
			bad = append(bad, failure{c, fmt.Sprintf("checkpoint by %s at %s: the signature does not verify", c.Holder, c.Time.Format(time.RFC3339))})
		case c.Size > n:
			bad = append(bad, failure{c, fmt.Sprintf("missing or replaced: the checkpoint signed by %s at %s covers %d entries, the log holds %d (cut and rolled back?)", c.Holder, c.Time.Format(time.RFC3339), c.Size, n)})
		case c.Size == 0 || !bytes.Equal(c.Head, links[c.Size-1][:]):
			bad = append(bad, failure{c, fmt.Sprintf("altered: the log disagrees with the checkpoint signed by %s at %s over %d entries", c.Holder, c.Time.Format(time.RFC3339), c.Size)})
		default:
			r.Checkpoints = append(r.Checkpoints, c)
		}
	}
	for _, f := range bad {
		var certified uint64
		for _, c := range r.Checkpoints {
			if c.Size < f.c.Size && c.Size <= n {
				certified = max(certified, c.Size)
			}
		}
		fail(certified, "%s", f.reason)
	}
	// Version 2 checkpoints are chained, the newest named by the head
	// (checkpoint.go): a deleted one breaks the chain.
	for _, f := range chainFailures(head.cp, r.Checkpoints, vault) {
		fail(f.seq, "%s", f.reason)
	}
	slices.SortFunc(r.Checkpoints, func(a, b Checkpoint) int { return a.Time.Compare(b.Time) })
	return r
}

// readEntries calls fn with every entry of a log that opens, in order.
func readEntries(tx *bolt.Tx, kr *seal.Keyring, fn func(Entry) error) error {
	b := tx.Bucket(bAudit)
	if b == nil {
		return nil
	}
	return b.ForEach(func(k, v []byte) error {
		if len(k) != 8 || len(v) < seal.LinkSize {
			return errors.New("store: audit log holds a malformed entry; run valv audit verify")
		}
		seq := binary.BigEndian.Uint64(k)
		p, err := kr.Open(nil, seal.Audit, entryRecordID(seq), 0, v[seal.LinkSize:])
		if err != nil {
			return fmt.Errorf("store: audit entry %d does not open; run valv audit verify", seq)
		}
		e, err := decodeEntry(p)
		if err != nil {
			return fmt.Errorf("store: audit entry %d is malformed; run valv audit verify", seq)
		}
		return fn(e)
	})
}

// An ExportedEntry is an entry with the name of its log, as exported.
type ExportedEntry struct {
	Log string `json:"log"`
	Entry
}

// CSVHeader and CSVRecord give the CSV form of exported entries.
var CSVHeader = []string{"log", "seq", "time", "holder", "action", "object", "count"}

// CSVRecord returns the entry as CSV fields in the order of CSVHeader.
func (e ExportedEntry) CSVRecord() []string {
	return []string{e.Log, fmt.Sprint(e.Seq), e.Time.UTC().Format(time.RFC3339Nano), e.Holder.String(),
		string(e.Action), e.Object, fmt.Sprint(e.Count)}
}
