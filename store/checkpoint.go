package store

// Chained checkpoints and the heads of other files
// (docs/security-review-2026-11.md, H1).
//
// A version 2 checkpoint names the hash of the log's checkpoint before it
// (Previous), and the log's sealed head names the newest one (key and
// hash), so that deleting any checkpoint without rolling the log back is
// seen by verification. It also records where the other files' logs
// ended as the signer saw them (Heads): a directory checkpoint every
// compartment's, a compartment checkpoint the directory's. A file put
// back to an older genuine copy of itself verifies on its own (every
// link, seal and signature in it is genuine); its log is then shorter
// than, or different from, what another file's checkpoint recorded, and
// that is checked at unlock (unlock.go's caller, rollback.go) and by
// VerifyAudit.

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/crypto/seal"
)

// checkpointVersion is the version of the checkpoints this Valv signs.
const checkpointVersion = 2

// checkpointRefSize is the size of a log head's reference to its newest
// checkpoint: the checkpoint's key (u64 size ‖ holder id) and the SHA-256
// of its message.
const checkpointRefSize = 8 + 16 + sha256.Size

// A FileHead is where another file's audit log ended when a checkpoint
// was signed: read from the clear part of that file (entries, last link)
// and the public recipient of the key its links are under (a link is
// keyed: after a key rotation only the number of entries compares).
type FileHead struct {
	Log     string `json:"log"` // DirectoryLog or a compartment id
	Key     string `json:"key"` // the recipient of the file's key, age1…
	Entries uint64 `json:"entries"`
	Link    []byte `json:"link"` // link(Entries-1)
}

// messageV2 is the message of a version 2 checkpoint:
//
//	valv audit checkpoint v2
//	vault <vault id>
//	log <log name>
//	size <decimal>
//	head <64 hex digits>
//	time <RFC 3339, UTC, nanoseconds>
//	holder <holder id>
//	previous <64 hex digits, or empty for the first>
//	file <log name> <key recipient> <entries> <link, 64 hex digits>   (one per other file, sorted by log name)
func (c *Checkpoint) messageV2(vault ID) []byte {
	b := fmt.Appendf(nil, "valv audit checkpoint v2\nvault %s\nlog %s\nsize %d\nhead %x\ntime %s\nholder %s\nprevious %x\n",
		vault, c.Log, c.Size, c.Head, c.Time.UTC().Format(time.RFC3339Nano), c.Holder, c.Previous)
	for _, h := range c.Heads {
		b = fmt.Appendf(b, "file %s %s %d %x\n", h.Log, h.Key, h.Entries, h.Link)
	}
	return b
}

// hash is the SHA-256 of the checkpoint's message: what the next
// checkpoint and the log head name.
func (c *Checkpoint) hash(vault ID) []byte {
	h := sha256.Sum256(c.Message(vault))
	return h[:]
}

// head returns the checkpoint's record of log, or nil.
func (c *Checkpoint) head(log string) *FileHead {
	if c == nil {
		return nil
	}
	for i := range c.Heads {
		if c.Heads[i].Log == log {
			return &c.Heads[i]
		}
	}
	return nil
}

// openCheckpoint opens the checkpoint stored under key, or returns nil.
func openCheckpoint(b *bolt.Bucket, kr *seal.Keyring, key []byte) *Checkpoint {
	if b == nil {
		return nil
	}
	v := b.Get(key)
	if v == nil {
		return nil
	}
	p, err := kr.Open(nil, seal.Audit, slices.Concat([]byte("c"), key), 0, v)
	var c Checkpoint
	if err != nil || json.Unmarshal(p, &c) != nil {
		return nil
	}
	return &c
}

// newestCheckpoint returns the log's newest checkpoint as its head names
// it, if it is there and unchanged.
func newestCheckpoint(tx *bolt.Tx, kr *seal.Keyring, vault ID, h logHead) *Checkpoint {
	if h.cp == nil {
		return nil
	}
	c := openCheckpoint(tx.Bucket(bCheckpoints), kr, h.cp[:24])
	if c == nil || !bytes.Equal(c.hash(vault), h.cp[24:]) {
		return nil
	}
	return c
}

// writeCheckpoint signs the current head of the file's log and stores it,
// chained to the log's newest checkpoint, and makes the head name it.
// heads, if not nil, gives the other files' heads to record, from the
// newest checkpoint's record (prev, nil if none opens).
func writeCheckpoint(tx *bolt.Tx, kr *seal.Keyring, vault ID, log string, holder HolderID, signer crypto.Signer, now time.Time, heads func(prev *Checkpoint) []FileHead) error {
	meta := tx.Bucket(bMeta)
	h, err := readHead(meta, kr)
	if err != nil {
		return fmt.Errorf("store: audit log %s: %v", log, err)
	}
	if h.size == 0 {
		return nil
	}
	b, err := tx.CreateBucketIfNotExists(bCheckpoints)
	if err != nil {
		return err
	}
	key := checkpointKey(h.size, holder)
	if b.Get(key) != nil {
		return nil // this holder already certified this head
	}
	var prev *Checkpoint
	var prevHash []byte
	if h.cp != nil {
		// Name the newest even if it is gone: the gap stays visible.
		prevHash = h.cp[24:]
		prev = newestCheckpoint(tx, kr, vault, h)
	} else if prev = lastCheckpoint(tx, kr); prev != nil {
		prevHash = prev.hash(vault) // the first after version 1 ones
	}
	c := Checkpoint{Log: log, Size: h.size, Head: h.link[:], Time: now.UTC(), Holder: holder, Version: checkpointVersion, Previous: prevHash}
	if heads != nil {
		c.Heads = heads(prev)
		slices.SortFunc(c.Heads, func(a, b FileHead) int { return cmpString(a.Log, b.Log) })
	}
	if c.Signature, err = sign(signer, c.Message(vault)); err != nil {
		return fmt.Errorf("store: signing the audit checkpoint: %w", err)
	}
	p, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if err := b.Put(key, kr.Seal(nil, seal.Audit, slices.Concat([]byte("c"), key), 0, p)); err != nil {
		return err
	}
	h.cp = slices.Concat(key, c.hash(vault))
	return putHead(meta, kr, &h, nil)
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// clearHead reads the end of a file's log from its clear part (as
// txLogHead) and the recipient of its key, recipient being the meta key
// that holds it.
func clearHead(tx *bolt.Tx, log string, recipient []byte) (FileHead, error) {
	lh, err := txLogHead(tx)
	if err != nil {
		return FileHead{}, err
	}
	return FileHead{Log: log, Key: string(tx.Bucket(bMeta).Get(recipient)), Entries: lh.Entries, Link: lh.Link}, nil
}

// clearLink returns the clear link of entry seq of a file's log, or nil.
func clearLink(tx *bolt.Tx, seq uint64) []byte {
	b := tx.Bucket(bAudit)
	if b == nil {
		return nil
	}
	v := b.Get(u64(seq))
	if len(v) < seal.LinkSize {
		return nil
	}
	return v[:seal.LinkSize]
}

// behind compares a file's log (read in tx, with cur its clear head)
// with a recorded head of it. It returns "" if the log holds what was
// recorded (and maybe more), else what is wrong. A head recorded under
// another key compares by number of entries only when sizeOnly is set
// (the directory's log keeps its numbering when its key is rotated; a
// compartment's may not, and the anchor checks its key).
func behind(tx *bolt.Tx, cur FileHead, rec *FileHead, sizeOnly bool) string {
	if rec == nil || (rec.Key != cur.Key && !sizeOnly) {
		return ""
	}
	switch {
	case cur.Entries < rec.Entries:
		return fmt.Sprintf("its audit log holds %d entries, %d were recorded: %d behind", cur.Entries, rec.Entries, rec.Entries-cur.Entries)
	case rec.Key == cur.Key && rec.Entries > 0 && !bytes.Equal(clearLink(tx, rec.Entries-1), rec.Link):
		return fmt.Sprintf("its audit log differs from the one recorded at entry %d (another copy of the file)", rec.Entries-1)
	}
	return ""
}

// mergeHead returns what a new checkpoint records of a file: the file's
// head now, unless the file is behind the previous record (then that is
// kept, so that a checkpoint never vouches for a rolled-back file), or
// the file could not be read.
func mergeHead(tx *bolt.Tx, cur FileHead, err error, prev *FileHead, sizeOnly bool) *FileHead {
	switch {
	case err != nil && prev == nil:
		return nil
	case err != nil, prev != nil && behind(tx, cur, prev, sizeOnly) != "":
		return prev
	}
	return &cur
}

// A chainFailure is one break in a log's chain of checkpoints.
type chainFailure struct {
	seq    uint64
	reason string
}

// chainFailures checks a log's valid checkpoints against its head's
// reference (ref, nil if none): the newest must be the one the head
// names, each version 2 checkpoint must name the one before it, and every
// version 2 checkpoint must be on that chain. Version 1 checkpoints
// (before format 3) are not chained.
func chainFailures(ref []byte, valid []Checkpoint, vault ID) []chainFailure {
	byHash := make(map[string]*Checkpoint, len(valid))
	v2 := 0
	for i := range valid {
		byHash[string(valid[i].hash(vault))] = &valid[i]
		if valid[i].Version >= 2 {
			v2++
		}
	}
	// The first entry no checkpoint below size vouches for.
	certified := func(size uint64) uint64 {
		var c uint64
		for _, v := range valid {
			if v.Size < size {
				c = max(c, v.Size)
			}
		}
		return c
	}
	describe := func(c *Checkpoint) string {
		return fmt.Sprintf("the checkpoint signed by %s at %s over %d entries", c.Holder, c.Time.Format(time.RFC3339), c.Size)
	}
	var out []chainFailure
	if ref == nil {
		if v2 > 0 {
			out = append(out, chainFailure{certified(^uint64(0)), "the log head names no checkpoint, yet the log has chained ones: the head was replaced"})
		}
		return out
	}
	tip := byHash[string(ref[24:])]
	if tip == nil {
		size := binary.BigEndian.Uint64(ref[:8])
		return append(out, chainFailure{certified(size), fmt.Sprintf("the newest checkpoint (over %d entries, named by the log head) is missing or altered: it was deleted", size)})
	}
	on := map[*Checkpoint]bool{tip: true}
	for c := tip; c.Version >= 2 && len(c.Previous) > 0; {
		p := byHash[string(c.Previous)]
		if p == nil {
			out = append(out, chainFailure{certified(c.Size), fmt.Sprintf("the checkpoint before %s is missing or altered: it was deleted", describe(c))})
			break
		}
		if p.Size > c.Size || on[p] {
			out = append(out, chainFailure{certified(c.Size), fmt.Sprintf("the checkpoints before %s are out of order", describe(c))})
			break
		}
		on[p] = true
		c = p
	}
	for i := range valid {
		if c := &valid[i]; c.Version >= 2 && !on[c] {
			out = append(out, chainFailure{certified(c.Size), describe(c) + " is not in the log's chain of checkpoints (copied from another copy of the file?)"})
		}
	}
	return out
}

// migrateChainedCheckpoints upgrades a file of format 2 to 3: nothing to
// convert. Its version 1 checkpoints stay as they are (verified with
// their own message, unchained); the first version 2 checkpoint names
// the newest of them, and from then on the log head names the newest
// checkpoint. The number changes because a format-2 Valv would take the
// longer head for an altered one.
func migrateChainedCheckpoints(*bolt.Tx) error { return nil }
