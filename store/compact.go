package store

import (
	"errors"
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"
)

// Compaction: a compartment file rewritten with only its live data, so
// that nothing deleted survives in a free page. bbolt never overwrites a
// freed page until it reuses it, so a deletion alone leaves the sealed
// bytes in the file; a copy of the live keys and values into a new file
// leaves them behind with the old one.

// errNotDurable says that a compartment file was replaced but the
// folder could not be synced: the change is made, and may not survive a
// power cut.
var errNotDurable = errors.New("the change may not survive a power cut (syncing the vault folder failed)")

// compactTx is the number of bytes of keys and values copied per
// transaction of the new file: it bounds the memory of a compaction
// (documents make files of gigabytes). Tests shrink it.
var compactTx = 32 << 20

// compactHook, if not nil, is called at the steps of compactCompartment
// ("copied": the temporary file is complete and closed; "renamed": it
// replaced the compartment's file, whose folder is not yet synced). The
// crash test stops there to be killed.
var compactHook func(step string)

// compactStep is how many bytes are copied between calls of a
// compaction's progress function.
var compactStep = 1 << 20

// compactCompartment replaces compartment cid's file by a copy of what tx
// sees: tx is an uncommitted write transaction on db, the compartment's
// open handle, typically holding deletions and their audit entries. The
// copy is written under the temporary name (never read; a leftover one is
// replaced), in transactions of compactTx bytes that are not synced one
// by one; the whole file is fsynced once, closed, renamed over the
// compartment's file, and the folder is fsynced. Then tx is rolled back
// and the old handle closed; the next use of the compartment opens the
// new file.
//
// What tx changed reaches the disk only with the new file, in one
// rename: a crash before it leaves the old file untouched (and perhaps
// the temporary one), a crash after it the new file. compactCompartment
// always ends tx.
//
// Holding the write transaction keeps every other writer of this process
// out during the copy, so nothing committed to the old file is lost.
// Other sessions of the process go on with the new file.
//
// progress, if not nil, is told the bytes of keys and values copied and
// their total.
func (v *Vault) compactCompartment(cid CompartmentID, db *bolt.DB, tx *bolt.Tx, progress Progress) (err error) {
	ended := false
	defer func() {
		if !ended {
			tx.Rollback()
		}
	}()
	path := compartmentPath(v.dir, cid)
	tmp := path + tmpSuffix
	os.Remove(tmp)
	fail := func(err error) error {
		os.Remove(tmp)
		return fmt.Errorf("store: compacting the file of compartment %s: %w (nothing was changed; check the free space of the vault's disk)", cid, err)
	}
	ndb, err := openDB(tmp, true)
	if err != nil {
		return fail(err)
	}
	// One fsync at the end instead of one per transaction: nobody reads
	// the temporary file, so its state before the fsync does not matter.
	ndb.NoSync = true
	err = copyLive(tx, ndb, progress)
	if err == nil {
		err = ndb.Sync()
	}
	if cerr := ndb.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fail(err)
	}

	if compactHook != nil {
		compactHook("copied")
	}
	// The swap: from the rename on, the new file is the compartment's
	// and the old handle goes, whatever happens. The handle is closed
	// outside v.mu, so that a reader of another session that needs v.mu
	// before it ends its transaction cannot block the close.
	v.mu.Lock()
	err = os.Rename(tmp, path)
	if err == nil {
		if compactHook != nil {
			compactHook("renamed")
		}
		if v.comps[cid] == db {
			delete(v.comps, cid)
		}
	}
	v.mu.Unlock()
	if err != nil {
		return fail(err)
	}
	ended = true
	retireOldFile(tx) // a writer waiting for tx fails instead of being lost (retire.go)
	db.Close()
	if err := syncDir(v.dir); err != nil {
		return fmt.Errorf("store: compartment %s was rewritten, but %w: %w", cid, errNotDurable, err)
	}
	return nil
}

// A copier copies the buckets of one transaction into another file.
type copier struct {
	dst         *bolt.DB
	tx          *bolt.Tx // the open transaction of dst
	size        int      // bytes put in tx
	done, total int
	told        int // done when progress was last called
	progress    Progress
}

// copyLive copies every bucket (nested ones too, with their sequence
// numbers), key and value that src sees into dst, in key order with full
// pages, committing every compactTx bytes.
func copyLive(src *bolt.Tx, dst *bolt.DB, progress Progress) error {
	c := &copier{dst: dst, progress: progress}
	// The total first: walking the leaves is cheap next to copying
	// (values larger than a page are not read).
	src.ForEach(func(_ []byte, b *bolt.Bucket) error {
		c.total += liveBytes(b)
		return nil
	})
	var err error
	if c.tx, err = dst.Begin(true); err != nil {
		return err
	}
	defer func() {
		if c.tx != nil {
			c.tx.Rollback()
		}
	}()
	err = src.ForEach(func(name []byte, b *bolt.Bucket) error {
		return c.bucket([][]byte{name}, b)
	})
	if err != nil {
		return err
	}
	err = c.tx.Commit()
	c.tx = nil
	if err == nil && c.progress != nil {
		c.progress(c.total, c.total)
	}
	return err
}

func liveBytes(b *bolt.Bucket) int {
	n := 0
	cur := b.Cursor()
	for k, v := cur.First(); k != nil; k, v = cur.Next() {
		n += len(k) + len(v)
		if v == nil {
			if nb := b.Bucket(k); nb != nil {
				n += liveBytes(nb)
			}
		}
	}
	return n
}

// dstBucket makes or finds the bucket at path in the current
// transaction of dst.
func (c *copier) dstBucket(path [][]byte) (*bolt.Bucket, error) {
	b, err := c.tx.CreateBucketIfNotExists(path[0])
	for _, name := range path[1:] {
		if err != nil {
			break
		}
		b, err = b.CreateBucketIfNotExists(name)
	}
	if err != nil {
		return nil, err
	}
	b.FillPercent = 1 // keys arrive in order: fill every page
	return b, nil
}

// bucket copies src, at path, with its nested buckets.
func (c *copier) bucket(path [][]byte, src *bolt.Bucket) error {
	dst, err := c.dstBucket(path)
	if err != nil {
		return err
	}
	if err := dst.SetSequence(src.Sequence()); err != nil {
		return err
	}
	cur := src.Cursor()
	for k, v := cur.First(); k != nil; k, v = cur.Next() {
		if v == nil {
			if nested := src.Bucket(k); nested != nil {
				if err := c.bucket(append(path[:len(path):len(path)], k), nested); err != nil {
					return err
				}
				if dst, err = c.dstBucket(path); err != nil {
					return err
				}
				continue
			}
		}
		if n := len(k) + len(v); c.size > 0 && c.size+n > compactTx {
			if err := c.tx.Commit(); err != nil {
				c.tx = nil
				return err
			}
			if c.tx, err = c.dst.Begin(true); err != nil {
				return err
			}
			c.size = 0
			if dst, err = c.dstBucket(path); err != nil {
				return err
			}
		}
		if err := dst.Put(k, v); err != nil {
			return err
		}
		c.size += len(k) + len(v)
		c.done += len(k) + len(v)
		if c.progress != nil && c.done-c.told >= compactStep && c.done < c.total {
			c.told = c.done
			c.progress(c.done, c.total)
		}
	}
	return nil
}
