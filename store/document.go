package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"filippo.io/age"
	bolt "go.etcd.io/bbolt"

	"github.com/valv-vault/valv/crypto/seal"
	"github.com/valv-vault/valv/store/customer"
	"github.com/valv-vault/valv/store/directio"
)

// Documents are files attached to a customer: scans, contracts, NDAs.
//
// The content is one age stream to the compartment's X25519 recipient
// (so `age -d` with the compartment identity opens it, see
// crypto/compartmentkey/SPEC.md), cut into values of at most 1 MiB (256
// KiB as written, all of one length but the last) under the keys document
// id ‖ u64(chunk index). A document is added in transactions of about 16
// MiB of chunks, so that memory stays bounded whatever its size (the
// encryption, the hashing and the commits run at the same time, see
// document_write.go); it becomes visible only in the last transaction,
// which writes its record (the sealed metadata) and its audit entry.
// Chunks without a record are what a crash or a cancellation leaves
// behind: they are never read, and the sweep that runs whenever a
// compartment file is opened deletes them, so that their pages are
// reused.
//
// A protected document has an inner age layer to a passphrase (scrypt):
// the compartment's key holders must also type the passphrase to open it.
// See SPEC.md "Documents".

// A DocumentID names a document: 16 random bytes.
type DocumentID = ID

// Audit actions of documents. The object is the customer's code, never a
// file name.
const (
	ActionDocAdd    Action = "doc-add"    // Count: the size in bytes
	ActionDocList   Action = "doc-list"   // Count: the documents listed
	ActionDocExport Action = "doc-export" // Count: the size in bytes
)

// Limits of a document's metadata, in bytes.
const (
	MaxDocumentName = 1024
	MaxMediaType    = 255

	// MinDocumentPassphrase is the shortest passphrase that protects a
	// document.
	MinDocumentPassphrase = 8
)

// Sizes. docChunkMax is part of the format (a longer chunk is refused);
// the others are tuning, and tests shrink them through the knobs below.
const (
	docChunkMax   = 1 << 20   // bytes of ciphertext per chunk, at most
	docChunkBytes = 256 << 10 // bytes of ciphertext per chunk written (see below)
	docTxBytes    = 16 << 20  // bytes of chunks per write transaction
	docGrowBytes  = 64 << 20  // bbolt's AllocSize once a document was added
	docReadBatch  = 32        // chunks read per read transaction
	docReadAhead  = 16        // chunks advised to the kernel ahead of the reader
	docReadBlock  = 256 << 10 // bytes of content read (and hashed) at a time
	docReadBlocks = 4         // blocks between the reader and the encryptor
	docMetaBlock  = 64        // metadata is padded to a multiple of this
	docScryptLogN = 18        // work factor of a protected document's passphrase
	docMetaFormat = 1
	docKeySize    = len(ID{}) + 8
)

// Chunks are written at 256 KiB, not the 1 MiB the format allows: an
// addition's first commit appends to a leaf of 2–4 chunks of another
// document and rewrites it (copies it to new pages), which is 0.5–1 MiB
// with 256 KiB chunks and 2–4 MiB with 1 MiB ones. Later commits append
// to a leaf of batch marks instead (see batchMarks); with the marks, an
// addition of 1 GiB took the same time with either size.

// Test knobs (unexported): tests use small chunks and transactions to
// exercise many commits quickly, and a low scrypt work factor.
var (
	docChunk  = docChunkBytes
	docTx     = docTxBytes
	docScrypt = docScryptLogN
)

var (
	// ErrNoDocument is returned for a document id that no unlocked
	// compartment holds.
	ErrNoDocument = errors.New("store: no document with that id in the compartments this key opens")

	// ErrPassphraseNeeded is returned when exporting a protected document
	// without a passphrase. Nothing was written.
	ErrPassphraseNeeded = errors.New("store: the document is protected by its own passphrase; give it to open the document")

	// ErrWrongPassphrase is returned for a protected document's wrong
	// passphrase. Nothing was written.
	ErrWrongPassphrase = errors.New("store: wrong passphrase for this protected document; nothing was written")

	// ErrDocumentDamaged is returned when a document's chunks do not
	// decrypt, or its size or SHA-256 differ from its metadata. What was
	// already written to the destination must be discarded.
	ErrDocumentDamaged = errors.New("store: the document is damaged or was altered")
)

// DocumentOptions are the options of AddDocument and ExportDocument.
type DocumentOptions struct {
	// Passphrase, when adding, protects the document with an inner age
	// layer (scrypt) that even an unlocked key holder must open with
	// this passphrase (at least MinDocumentPassphrase characters). When
	// exporting, it opens a protected document; it is ignored for one
	// that is not protected.
	Passphrase string
}

// A DocumentInfo is a document's metadata, as sealed in the compartment.
type DocumentInfo struct {
	ID          DocumentID
	Compartment CompartmentID
	Customer    customer.Code
	Name        string // the original file name
	MediaType   string
	Size        int64 // bytes of content
	SHA256      [sha256.Size]byte
	Added       time.Time
	Holder      HolderID // who added it
	Protected   bool     // has its own passphrase
}

// docMeta is the sealed plaintext of a document record (see SPEC.md).
type docMeta struct {
	DocumentInfo
	chunks uint64 // number of chunks
	length int64  // bytes of ciphertext (the outer age file)

	// header is the SHA-256 of the outer age file's header and payload
	// nonce (headerBound); set for documents written since it was added.
	// It binds the ciphertext to the sealed metadata: nobody can write
	// another payload under that header without the file key, so export
	// checks the header instead of hashing all of the content again.
	header      [sha256.Size]byte
	headerBound bool
}

func appendDocMeta(b []byte, m *docMeta) []byte {
	enc := encoder{b}
	enc.b = append(enc.b, docMetaFormat)
	enc.str(string(m.Customer))
	enc.str(m.Name)
	enc.str(m.MediaType)
	enc.uvarint(uint64(m.Size))
	enc.b = append(enc.b, m.SHA256[:]...)
	enc.time(m.Added)
	enc.id(m.Holder)
	var flags byte
	if m.Protected {
		flags |= 1
	}
	if m.headerBound {
		flags |= 2
	}
	enc.b = append(enc.b, flags)
	enc.uvarint(m.chunks)
	enc.uvarint(uint64(m.length))
	if m.headerBound {
		enc.b = append(enc.b, m.header[:]...)
	}
	return enc.b
}

func decodeDocMeta(p []byte) (*docMeta, error) {
	d := decoder{b: p}
	if d.byte() != docMetaFormat {
		return nil, errMalformed
	}
	m := &docMeta{}
	m.Customer = customer.Code(d.str())
	m.Name = d.str()
	m.MediaType = d.str()
	m.Size = int64(d.uvarint())
	if len(d.b) < sha256.Size {
		d.fail()
	} else {
		copy(m.SHA256[:], d.b)
		d.b = d.b[sha256.Size:]
	}
	m.Added = d.time()
	m.Holder = d.id()
	flags := d.byte()
	m.Protected = flags&1 != 0
	m.chunks = d.uvarint()
	m.length = int64(d.uvarint())
	if m.headerBound = flags&2 != 0; m.headerBound {
		if len(d.b) < sha256.Size {
			d.fail()
		} else {
			copy(m.header[:], d.b)
			d.b = d.b[sha256.Size:]
		}
	}
	if err := d.done(); err != nil {
		return nil, err
	}
	if flags&^3 != 0 || m.Size < 0 || m.length < 0 {
		return nil, errMalformed
	}
	return m, nil
}

// docRecordID is the record id of a document's sealed metadata: it binds
// the metadata to the document and to the customer's record.
func docRecordID(rid []byte, id DocumentID) []byte {
	return slices.Concat([]byte("doc/"), rid, id[:])
}

func sealDocMeta(kr *seal.Keyring, rid []byte, m *docMeta) []byte {
	p := pad(appendDocMeta(nil, m), docMetaBlock)
	v := kr.Seal(slices.Clone(rid), seal.Document, docRecordID(rid, m.ID), 0, p)
	clear(p)
	return v
}

// openDocRecord opens a value of the documents bucket: the customer's
// record id ‖ the sealed metadata.
func openDocRecord(kr *seal.Keyring, id DocumentID, v []byte) (rid []byte, m *docMeta, err error) {
	if len(v) < len(ID{}) {
		return nil, nil, fmt.Errorf("%w: document %s has a malformed record", ErrDocumentDamaged, id)
	}
	rid = v[:len(ID{})]
	p, err := kr.Open(nil, seal.Document, docRecordID(rid, id), 0, v[len(rid):])
	if err != nil {
		return nil, nil, fmt.Errorf("%w: the metadata of document %s does not open (altered, or moved from another document)", ErrDocumentDamaged, id)
	}
	defer clear(p)
	m, err = decodeDocMeta(unpad(p))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: the metadata of document %s is malformed", ErrDocumentDamaged, id)
	}
	m.ID = id
	return slices.Clone(rid), m, nil
}

func chunkKey(id DocumentID, i uint64) []byte {
	return binary.BigEndian.AppendUint64(slices.Clone(id[:]), i)
}

func checkDocumentName(name, mediaType string) error {
	switch {
	case name == "" || strings.TrimSpace(name) == "":
		return errors.New("store: a document needs a file name")
	case len(name) > MaxDocumentName || !utf8.ValidString(name) || strings.ContainsRune(name, 0):
		return fmt.Errorf("store: a document's file name is valid UTF-8 of at most %d bytes, without NUL", MaxDocumentName)
	case len(mediaType) > MaxMediaType || !utf8.ValidString(mediaType) || strings.ContainsFunc(mediaType, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return fmt.Errorf("store: a media type is printable UTF-8 of at most %d bytes", MaxMediaType)
	}
	return nil
}

// AddDocument attaches a document to a customer: the content is read
// from r to the end and stored as an age stream to the customer's
// compartment, in chunks of 256 KiB committed in transactions of about
// 16 MiB. name (the original file name) and mediaType are sealed
// with the size, the SHA-256 of the content and the time. The document
// becomes visible, with its doc-add audit entry (the customer's code,
// never the file name), only in the last transaction; a crash or an error
// before leaves chunks that the next opening of the compartment file
// deletes.
//
// progress, if not nil, is called with the bytes of content read so far,
// on the caller's goroutine (the reading runs a little ahead of the
// commits).
// Cancelling ctx stops the addition (the chunks written are deleted).
// opts.Passphrase, if set, protects the document (see DocumentOptions).
//
// The session is not held busy while the content streams in: other calls
// proceed; the session's lock is taken to find the customer and to commit
// the record.
func (s *Session) AddDocument(ctx context.Context, code customer.Code, name, mediaType string, r io.Reader, progress func(done int64), opts DocumentOptions) (DocumentID, error) {
	return s.addDocument(ctx, code, name, mediaType, r, progress, opts, nil)
}

// addDocument is AddDocument; also, if not nil, runs in the transaction
// that makes the document visible (with the compartment as it is then),
// and its error cancels the addition.
func (s *Session) addDocument(ctx context.Context, code customer.Code, name, mediaType string, r io.Reader, progress func(done int64), opts DocumentOptions, also func(tx *bolt.Tx, c *openComp) error) (DocumentID, error) {
	if err := checkDocumentName(name, mediaType); err != nil {
		return ID{}, err
	}
	if opts.Passphrase != "" && utf8.RuneCountInString(opts.Passphrase) < MinDocumentPassphrase {
		return ID{}, fmt.Errorf("store: a document's passphrase needs at least %d characters", MinDocumentPassphrase)
	}
	s.mu.Lock()
	if err := s.check(); err != nil {
		s.mu.Unlock()
		return ID{}, err
	}
	c, rid, err := s.locate(code)
	if err != nil {
		s.mu.Unlock()
		return ID{}, err
	}
	db, err := s.v.compartmentDB(c.id)
	if err != nil {
		s.mu.Unlock()
		return ID{}, err
	}
	recipient := c.key.Recipient()
	cid := c.id
	s.mu.Unlock()

	id := newID()
	w := &chunkWriter{ctx: ctx, db: db, id: id}
	w.useSlab()
	defer w.release()
	w.start()
	hc := &headerCapture{w: w}
	size, sum, err := encryptDocument(ctx, hc, recipient, r, progress, opts.Passphrase)
	if err == nil {
		err = w.close()
	}
	if err != nil {
		w.abort()
		return ID{}, err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		w.abort()
		return ID{}, err
	}
	c = s.comps[cid]
	if c == nil || c.key.Recipient().String() != recipient.String() {
		w.abort()
		return ID{}, errors.New("store: the compartment's key changed while the document was added (a revocation?); add it again")
	}
	if ndb, err := s.v.compartmentDB(cid); err != nil || ndb != db {
		w.abort()
		return ID{}, errors.New("store: the compartment's file was replaced while the document was added; add it again")
	}
	now := s.v.now()
	m := &docMeta{
		DocumentInfo: DocumentInfo{ID: id, Compartment: cid, Customer: customer.Code(mustCode(code)), Name: name, MediaType: mediaType,
			Size: size, SHA256: sum, Added: now, Holder: s.actor, Protected: opts.Passphrase != ""},
		length: w.total,
	}
	m.header, m.headerBound = hc.sum()
	err = w.commit(func(tx *bolt.Tx, chunks uint64) error {
		if tx.Bucket(bCustomers).Get(rid) == nil {
			return ErrNoCustomer
		}
		m.chunks = chunks
		docs, err := tx.CreateBucketIfNotExists(bDocuments)
		if err != nil {
			return err
		}
		if err := docs.Put(id[:], sealDocMeta(c.kr, rid, m)); err != nil {
			return err
		}
		if also != nil {
			if err := also(tx, c); err != nil {
				return err
			}
		}
		return appendEntries(tx, c.kr, Entry{Time: now, Holder: s.actor, Action: ActionDocAdd, Object: string(m.Customer), Count: size})
	})
	if err != nil {
		w.abort()
		return ID{}, err
	}
	s.touched[cid] = true
	return id, nil
}

// headerCaptureMax is how much of an age file headerCapture keeps: more
// than a header with a few X25519 stanzas and the payload nonce.
const headerCaptureMax = 4096

// A headerCapture passes writes on to w and keeps the first bytes, from
// which sum hashes the age header and payload nonce.
type headerCapture struct {
	w   io.Writer
	buf []byte
}

func (c *headerCapture) Write(p []byte) (int, error) {
	if n := min(len(p), headerCaptureMax-len(c.buf)); n > 0 {
		c.buf = append(c.buf, p[:n]...)
	}
	return c.w.Write(p)
}

// sum returns the SHA-256 of the age header and the 16-byte payload
// nonce written through c, or false if they were not all captured.
func (c *headerCapture) sum() ([sha256.Size]byte, bool) {
	hdr, err := age.ExtractHeader(bytes.NewReader(c.buf))
	if err != nil || len(c.buf) < len(hdr)+16 {
		return [sha256.Size]byte{}, false
	}
	return sha256.Sum256(c.buf[:len(hdr)+16]), true
}

// checkHeader compares the stored age header and payload nonce of a
// document with the hash in its metadata.
func checkHeader(src io.ReaderAt, m *docMeta) error {
	c := &headerCapture{w: io.Discard}
	if _, err := io.Copy(c, io.NewSectionReader(src, 0, min(m.length, headerCaptureMax))); err != nil {
		return err
	}
	if h, ok := c.sum(); !ok || h != m.header {
		return fmt.Errorf("%w: document %s is not the file its metadata names (its age header differs)", ErrDocumentDamaged, m.ID)
	}
	return nil
}

// encryptDocument streams r through SHA-256 and age (an inner scrypt
// layer first if passphrase is set) into w. The caller's goroutine reads
// and hashes; the age streams run on a goroutine of their own, over the
// same blocks (see document_write.go). progress is called on the
// caller's goroutine.
func encryptDocument(ctx context.Context, w io.Writer, to age.Recipient, r io.Reader, progress func(int64), passphrase string) (size int64, sum [sha256.Size]byte, err error) {
	outer, err := age.Encrypt(w, to)
	if err != nil {
		return 0, sum, err
	}
	dst, inner := outer, io.WriteCloser(nil)
	if passphrase != "" {
		sr, err := age.NewScryptRecipient(passphrase)
		if err != nil {
			return 0, sum, err
		}
		sr.SetWorkFactor(docScrypt)
		if inner, err = age.Encrypt(outer, sr); err != nil {
			return 0, sum, err
		}
		dst = inner
	}

	// Blocks go to the encryptor through todo and come back through free
	// once encrypted; the caller hashes a block while it is encrypted
	// (both only read it) and reads into it again only once it is back.
	blocks := make([][]byte, docReadBlocks)
	free := make(chan []byte, len(blocks))
	for i := range blocks {
		blocks[i] = make([]byte, docReadBlock)
		free <- blocks[i]
	}
	defer func() {
		for _, b := range blocks {
			clear(b)
		}
	}()
	todo := make(chan []byte, len(blocks))
	var stop atomic.Bool // set by either side on an error: skip the rest
	encDone := make(chan error, 1)
	go func() {
		var err error
		for b := range todo {
			if err == nil && !stop.Load() {
				if _, err = dst.Write(b); err != nil {
					stop.Store(true)
				}
			}
			free <- b
		}
		if err == nil && !stop.Load() && inner != nil {
			err = inner.Close()
		}
		if err == nil && !stop.Load() {
			err = outer.Close()
		}
		encDone <- err
	}()

	h := sha256.New()
	for !stop.Load() {
		if err = ctx.Err(); err != nil {
			break
		}
		b := <-free
		n, rerr := io.ReadFull(r, b[:cap(b)])
		if n > 0 {
			todo <- b[:n]
			h.Write(b[:n])
			size += int64(n)
			if progress != nil {
				progress(size)
			}
		} else {
			free <- b
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			err = fmt.Errorf("store: reading the document: %w", rerr)
			break
		}
	}
	if err != nil {
		stop.Store(true)
	}
	close(todo)
	if eerr := <-encDone; err == nil {
		err = eerr
	}
	for range blocks {
		<-free // every block is back: nothing reads them any more
	}
	if err != nil {
		return 0, sum, err
	}
	h.Sum(sum[:0])
	return size, sum, nil
}

// A chunkWriter cuts a document's ciphertext into chunks and commits them
// in transactions of docTx bytes. Chunk buffers are reused from one
// transaction to the next (bbolt holds on to a value only until the
// commit).
//
// By default Write commits a full batch itself. After start, full
// batches go to a goroutine that commits each while Write fills the next
// (see document_write.go): the encryption and the disk then work at the
// same time, and at most two batches are in memory.
type chunkWriter struct {
	ctx        context.Context
	db         *bolt.DB
	id         DocumentID
	chunk      []byte   // being filled
	ready      [][]byte // full, not yet committed
	readyBytes int
	spare      [][]byte
	queued     uint64 // chunks committed or handed to the committer
	total      int64  // bytes written
	err        error  // of a failed commit
	bucket     []byte // of the chunks; nil: doc-chunks (sealed intake uses its own)

	async *chunkCommitter // set by start
	slab  []byte          // set by useSlab
}

// chunkBucket is the bucket the chunks go to: doc-chunks unless the
// writer was given another (sealed intake uses its own).
func (w *chunkWriter) chunkBucket() []byte {
	if w.bucket == nil {
		return bDocChunks
	}
	return w.bucket
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if w.chunk == nil {
			w.chunk = w.buffer()
		}
		k := min(len(p), docChunk-len(w.chunk))
		w.chunk = append(w.chunk, p[:k]...)
		p = p[k:]
		w.total += int64(k)
		if len(w.chunk) == docChunk {
			w.ready = append(w.ready, w.chunk)
			w.readyBytes += len(w.chunk)
			w.chunk = nil
			if w.readyBytes >= docTx {
				if err := w.flush(); err != nil {
					return n - len(p), err
				}
			}
		}
	}
	return n, nil
}

func (w *chunkWriter) buffer() []byte {
	if len(w.spare) == 0 && w.async != nil {
		w.spare = w.async.recycled(w.spare)
	}
	if k := len(w.spare); k > 0 {
		b := w.spare[k-1]
		w.spare = w.spare[:k-1]
		return b[:0]
	}
	return make([]byte, 0, docChunk)
}

// close queues the last, partial chunk and, after start, waits until
// every batch handed on is committed. The final commit writes what is
// left.
func (w *chunkWriter) close() error {
	if len(w.chunk) > 0 {
		w.ready = append(w.ready, w.chunk)
		w.readyBytes += len(w.chunk)
		w.chunk = nil
	}
	return w.wait()
}

// flush commits the ready chunks, or hands them to the committer.
func (w *chunkWriter) flush() error {
	if w.async == nil {
		return w.commit(nil)
	}
	if err := w.async.send(w.ctx, w.queued, w.ready); err != nil {
		w.err = err
		return err
	}
	w.queued += uint64(len(w.ready))
	w.ready = make([][]byte, 0, cap(w.ready))
	w.readyBytes = 0
	return nil
}

// commit writes the ready chunks in one transaction, and then runs last
// (with the total number of chunks) in the same transaction, if not nil.
// After start, it may only be called after close.
func (w *chunkWriter) commit(last func(tx *bolt.Tx, chunks uint64) error) error {
	if err := putChunks(w.ctx, w.db, w.chunkBucket(), w.id, w.queued, w.ready, last == nil, last); err != nil {
		w.err = err
		return err
	}
	w.queued += uint64(len(w.ready))
	w.spare = append(w.spare, w.ready...)
	w.ready = w.ready[:0]
	w.readyBytes = 0
	return nil
}

// putChunks writes chunks under the keys id ‖ first, first+1, … in one
// transaction, and then runs last (with the number of chunks up to the
// end of these) in the same transaction, if not nil. It deletes the
// batch marks after chunk first-1, if any; with more set (more batches
// of this addition follow), it puts new ones after its last chunk.
//
// bbolt appends the first new key to the leaf of the key before it and
// so rewrites that leaf; the pages it read are then dropped from this
// process's map (dropRewritten), so that a long addition's resident
// memory does not grow by them. The batch marks make that leaf small
// (see batchMarks).
//
// A commit that needs the file to grow makes bbolt extend it (truncate)
// and fsync it, which its maintainers keep because ext3/ext4's fdatasync
// may not wait for the new file size; it grows by AllocSize more than it
// needs, 16 MiB by default, which would be one more fsync for every
// batch. The writer sets it to docGrowBytes (a sparse extension: no
// blocks are allocated until written). NoGrowSync, which would drop that
// fsync, is not used.
func putChunks(ctx context.Context, db *bolt.DB, bucket []byte, id DocumentID, first uint64, chunks [][]byte, more bool, last func(tx *bolt.Tx, chunks uint64) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var rewritten []mapRange
	err := db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucket)
		if err != nil {
			return err
		}
		b.FillPercent = 1 // appended in key order
		if db.AllocSize < docGrowBytes {
			db.AllocSize = docGrowBytes // set under the writer's lock, which bbolt reads it under
		}
		rewritten = leafNeighbours(tx, b, chunkKey(id, first))
		for i, c := range chunks {
			if err := b.Put(chunkKey(id, first+uint64(i)), c); err != nil {
				return err
			}
		}
		end := first + uint64(len(chunks))
		if first > 0 {
			for _, k := range batchMarkKeys(id, first-1) {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
		}
		if more && end > 0 {
			for _, k := range batchMarkKeys(id, end-1) {
				if err := b.Put(k, nil); err != nil {
					return err
				}
			}
		}
		if last != nil {
			return last(tx, end)
		}
		return nil
	})
	if err == nil {
		dropRewritten(db, rewritten)
	}
	return err
}

// batchMarks is how many batch marks follow the last chunk of each batch
// of an addition but the final one: empty values under the keys
// id ‖ u64(index) ‖ one byte 0…batchMarks-1, which sort after that chunk
// and before the next.
//
// bbolt splits a leaf of large values from the front, into pieces of two,
// and leaves the last 3 or 4 entries together; the next commit appends
// to that leaf and so rewrites it: without the marks, 2–4 chunks (0.5–1
// MiB of a 16 MiB batch read back, copied and written again). With them,
// the last leaf holds marks only (a batch has an even number of chunks),
// and the next commit deletes them: it frees a page instead of rewriting
// chunks. The final commit deletes the last marks, so a complete
// document has none; an interrupted addition's go with its chunks, which
// are deleted by id prefix (deleteChunksIn). Readers never meet them: a
// document is read by exact keys, and only once complete.
const batchMarks = 4

// batchMarkKeys returns the keys of the batch marks after chunk i.
func batchMarkKeys(id DocumentID, i uint64) [][]byte {
	keys := make([][]byte, batchMarks)
	for j := range keys {
		keys[j] = append(chunkKey(id, i), byte(j))
	}
	return keys
}

// abort deletes the chunks committed so far (best effort: the sweep at
// the next opening deletes what is left).
func (w *chunkWriter) abort() {
	w.wait()
	w.spare, w.ready, w.chunk = nil, nil, nil
	if w.queued == 0 {
		return
	}
	_ = w.db.Update(func(tx *bolt.Tx) error {
		if docs := tx.Bucket(bDocuments); docs != nil && docs.Get(w.id[:]) != nil {
			return nil // committed after all
		}
		return deleteChunks(tx, w.id)
	})
}

// deleteChunks deletes every chunk of a document.
func deleteChunks(tx *bolt.Tx, id DocumentID) error { return deleteChunksIn(tx, bDocChunks, id) }

// deleteChunksIn deletes every chunk of a document or intake item from a
// chunk bucket.
func deleteChunksIn(tx *bolt.Tx, bucket []byte, id ID) error {
	b := tx.Bucket(bucket)
	if b == nil {
		return nil
	}
	c := b.Cursor()
	for k, _ := c.Seek(id[:]); k != nil && bytes.HasPrefix(k, id[:]); k, _ = c.Seek(id[:]) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// sweepDocuments deletes the chunks of documents that have no record:
// what an addition interrupted by a crash left behind. It runs when a
// compartment file is opened (see openHooks), needs no key, and writes
// only if there is something to delete.
func sweepDocuments(db *bolt.DB) error { return sweepChunks(db, bDocChunks, bDocuments) }

// sweepChunks deletes the chunks in the bucket chunks whose id has no
// entry in the bucket records.
func sweepChunks(db *bolt.DB, chunks, records []byte) error {
	var orphans []ID
	err := db.View(func(tx *bolt.Tx) error {
		cb := tx.Bucket(chunks)
		if cb == nil {
			return nil
		}
		rb := tx.Bucket(records)
		c := cb.Cursor()
		for k, _ := c.First(); k != nil; {
			if len(k) != docKeySize {
				k, _ = c.Next()
				continue
			}
			var id ID
			copy(id[:], k)
			if rb == nil || rb.Get(id[:]) == nil {
				orphans = append(orphans, id)
			}
			last := chunkKey(id, ^uint64(0))
			if k, _ = c.Seek(last); bytes.Equal(k, last) {
				k, _ = c.Next()
			}
		}
		return nil
	})
	if err != nil || len(orphans) == 0 {
		return err
	}
	return db.Update(func(tx *bolt.Tx) error {
		for _, id := range orphans {
			if err := deleteChunksIn(tx, chunks, id); err != nil {
				return err
			}
		}
		return nil
	})
}

func init() {
	openHooks[kindCompartment] = append(openHooks[kindCompartment], sweepDocuments)
}

// Documents lists a customer's documents, oldest first. The listing is
// logged (doc-list, with the customer's code and the count).
func (s *Session) Documents(code customer.Code) ([]DocumentInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		return nil, err
	}
	c, rid, err := s.locate(code)
	if err != nil {
		return nil, err
	}
	db, err := s.v.compartmentDB(c.id)
	if err != nil {
		return nil, err
	}
	canon := mustCode(code)
	var out []DocumentInfo
	err = db.Update(func(tx *bolt.Tx) error {
		if docs := tx.Bucket(bDocuments); docs != nil {
			err := docs.ForEach(func(k, v []byte) error {
				if len(k) != len(ID{}) || len(v) < len(ID{}) || !bytes.Equal(v[:len(ID{})], rid) {
					return nil
				}
				var id DocumentID
				copy(id[:], k)
				_, m, err := openDocRecord(c.kr, id, v)
				if err != nil {
					return err
				}
				if string(m.Customer) != canon {
					return fmt.Errorf("%w: document %s is filed under another customer", ErrDocumentDamaged, id)
				}
				m.Compartment = c.id
				out = append(out, m.DocumentInfo)
				return nil
			})
			if err != nil {
				return err
			}
		}
		return appendEntries(tx, c.kr, Entry{Time: s.v.now(), Holder: s.actor, Action: ActionDocList, Object: canon, Count: int64(len(out))})
	})
	if err != nil {
		return nil, err
	}
	s.touched[c.id] = true
	slices.SortStableFunc(out, func(a, b DocumentInfo) int { return a.Added.Compare(b.Added) })
	return out, nil
}

// findDocument finds a document in the unlocked compartments and checks
// that it belongs to the customer its metadata names.
func (s *Session) findDocument(id DocumentID) (*openComp, *bolt.DB, *docMeta, error) {
	for cid, c := range s.comps {
		db, err := s.v.compartmentDB(cid)
		if err != nil {
			continue
		}
		var m *docMeta
		err = db.View(func(tx *bolt.Tx) error {
			docs := tx.Bucket(bDocuments)
			if docs == nil {
				return nil
			}
			v := docs.Get(id[:])
			if v == nil {
				return nil
			}
			rid, meta, err := openDocRecord(c.kr, id, v)
			if err != nil {
				return err
			}
			if got := tx.Bucket(bCodes).Get(c.kr.LookupTag(nil, "code", []byte(meta.Customer))); !bytes.Equal(got, rid) {
				return fmt.Errorf("%w: document %s is filed under another customer", ErrDocumentDamaged, id)
			}
			meta.Compartment = cid
			m = meta
			return nil
		})
		if err != nil {
			return nil, nil, nil, err
		}
		if m != nil {
			return c, db, m, nil
		}
	}
	return nil, nil, nil, ErrNoDocument
}

// ExportDocument writes a document's content to w, decrypting it with the
// compartment's identity (and opts.Passphrase for a protected document),
// and returns its metadata. The content is streamed; at the end its size
// and SHA-256 are checked against the metadata, and a difference (or a
// chunk that does not decrypt) is ErrDocumentDamaged: the caller must
// then discard what was written (write to a temporary file, rename on
// success). A wrong or missing passphrase is reported before anything is
// written (ErrWrongPassphrase, ErrPassphraseNeeded).
//
// The export is logged (doc-export, with the customer's code) before the
// content is written. The content is decrypted on several goroutines
// ahead of the writes to w, and the kernel is advised to read the chunks
// ahead (bbolt maps the file with MADV_RANDOM, which turns off
// readahead); see document_read.go. w gets the content in order, in
// writes of up to 256 KiB, from the caller's goroutine, as does progress;
// except that a regular file (*os.File) of a document of 8 MiB or more
// is written around the page cache (store/directio), in blocks, from a
// goroutine of its own, all done when ExportDocument returns, with the
// file's offset at the end of the content.
// Cancelling ctx stops the export.
func (s *Session) ExportDocument(ctx context.Context, id DocumentID, w io.Writer, progress func(done int64), opts DocumentOptions) (DocumentInfo, error) {
	s.mu.Lock()
	if err := s.check(); err != nil {
		s.mu.Unlock()
		return DocumentInfo{}, err
	}
	c, db, m, err := s.findDocument(id)
	if err != nil {
		s.mu.Unlock()
		return DocumentInfo{}, err
	}
	var plain io.ReaderAt
	var size int64
	src, err := openChunkSource(db, id, m)
	if err == nil {
		defer src.release()
		src.adviseAhead()
		plain, size, err = openDocumentAt(src, c.key.Identity(), m.Protected, opts.Passphrase)
	}
	if err == nil && size != m.Size {
		err = fmt.Errorf("%w: document %s has %d bytes, its metadata says %d", ErrDocumentDamaged, id, size, m.Size)
	}
	if err == nil && m.headerBound {
		err = checkHeader(src, m)
	}
	if err == nil {
		err = db.Update(func(tx *bolt.Tx) error {
			return appendEntries(tx, c.kr, Entry{Time: s.v.now(), Holder: s.actor, Action: ActionDocExport, Object: string(m.Customer), Count: m.Size})
		})
	}
	if err == nil {
		s.touched[c.id] = true
	}
	s.mu.Unlock()
	if err != nil {
		return DocumentInfo{}, err
	}

	// A file is written around the page cache where it can be (see
	// store/directio): an exported document goes to another program or
	// medium, not back to Valv.
	var dw *directio.Writer
	if f, ok := w.(*os.File); ok && size >= directExportMin {
		if dw, err = directio.NewWriter(f); err == nil { // else written as it is
			defer dw.Close()
			w = dw
		}
	}
	// A document whose header is bound needs no second hash of its
	// content (see docMeta.header); older ones are hashed as they are
	// written.
	_, sum, err := copyDocument(ctx, w, plain, size, progress, !m.headerBound)
	if dw != nil {
		if cerr := dw.Close(); err == nil {
			err = cerr
		}
	}
	switch {
	case err != nil:
		return DocumentInfo{}, err
	case !m.headerBound && sum != m.SHA256:
		return DocumentInfo{}, fmt.Errorf("%w: the SHA-256 of document %s differs from its metadata", ErrDocumentDamaged, id)
	}
	return m.DocumentInfo, nil
}

// directExportMin is the size from which ExportDocument writes a file
// around the page cache: a smaller one is written faster through it.
const directExportMin = 8 << 20

// openDocumentStream reads the age headers (outer, and inner if
// protected) and returns the reader of the content.
func openDocumentStream(src io.Reader, identity age.Identity, protected bool, passphrase string) (io.Reader, error) {
	outer, err := age.Decrypt(src, identity)
	if err != nil {
		return nil, fmt.Errorf("%w: its header does not open with the compartment key: %v", ErrDocumentDamaged, err)
	}
	if !protected {
		return outer, nil
	}
	if passphrase == "" {
		return nil, ErrPassphraseNeeded
	}
	si, err := age.NewScryptIdentity(passphrase)
	if err != nil {
		return nil, err
	}
	inner, err := age.Decrypt(outer, si)
	var noMatch *age.NoIdentityMatchError
	switch {
	case errors.As(err, &noMatch):
		return nil, ErrWrongPassphrase
	case err != nil:
		return nil, fmt.Errorf("%w: its inner header does not open: %v", ErrDocumentDamaged, err)
	}
	return inner, nil
}

// A chunkReader reads a document's chunks in key order, as one stream
// (rotation re-encrypts documents through it; ExportDocument reads
// through a chunkSource, document_read.go). It holds a read
// transaction for at most docReadBatch chunks (so that a long export
// neither pins old pages nor blocks a writer that must grow the map), and
// advises the kernel to read the next docReadAhead chunks.
type chunkReader struct {
	db   *bolt.DB
	id   DocumentID
	want uint64 // chunks in the document

	idx  uint64 // current chunk
	off  int    // offset in it
	val  []byte // current chunk, while tx is open
	read int64  // bytes returned
	err  error  // a damaged chunk

	tx    *bolt.Tx
	fixed *bolt.Tx // if set, the transaction to read in (kept open)
	cur   *bolt.Cursor
	ahead *bolt.Cursor
	inTx  int
}

func (r *chunkReader) damaged(format string, args ...any) error {
	r.err = fmt.Errorf("%w: document %s: %s", ErrDocumentDamaged, r.id, fmt.Sprintf(format, args...))
	return r.err
}

func (r *chunkReader) check(k, v []byte) error {
	if !bytes.Equal(k, chunkKey(r.id, r.idx)) {
		return r.damaged("chunk %d is missing", r.idx)
	}
	if len(v) == 0 || len(v) > docChunkMax {
		return r.damaged("chunk %d has a bad length", r.idx)
	}
	return nil
}

// advance advises the chunk under the ahead cursor and moves it on.
func (r *chunkReader) advance() {
	if r.ahead == nil {
		return
	}
	k, v := r.ahead.Next()
	if k == nil || !bytes.HasPrefix(k, r.id[:]) {
		r.ahead = nil
		return
	}
	adviseWillNeed(v)
}

func (r *chunkReader) open() error {
	tx := r.fixed
	if tx == nil {
		var err error
		if tx, err = r.db.Begin(false); err != nil {
			return err
		}
	}
	r.tx, r.inTx = tx, 0
	b := tx.Bucket(bDocChunks)
	if b == nil {
		return r.damaged("its chunks are missing")
	}
	r.cur = b.Cursor()
	k, v := r.cur.Seek(chunkKey(r.id, r.idx))
	if err := r.check(k, v); err != nil {
		return err
	}
	r.val = v
	r.ahead = b.Cursor()
	ak, av := r.ahead.Seek(chunkKey(r.id, r.idx))
	for i := 0; i < docReadAhead && ak != nil && bytes.HasPrefix(ak, r.id[:]); i++ {
		adviseWillNeed(av)
		ak, av = r.ahead.Next()
	}
	if ak == nil || !bytes.HasPrefix(ak, r.id[:]) {
		r.ahead = nil
	} else {
		adviseWillNeed(av)
	}
	return nil
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	for {
		if r.idx >= r.want {
			return 0, io.EOF
		}
		if r.tx == nil {
			if err := r.open(); err != nil {
				return 0, err
			}
		}
		if r.off < len(r.val) {
			n := copy(p, r.val[r.off:])
			r.off += n
			r.read += int64(n)
			return n, nil
		}
		r.idx++
		r.off, r.val = 0, nil
		if r.idx >= r.want {
			r.release()
			return 0, io.EOF
		}
		r.inTx++
		if r.inTx >= docReadBatch {
			r.release()
			continue
		}
		k, v := r.cur.Next()
		if err := r.check(k, v); err != nil {
			return 0, err
		}
		r.val = v
		r.advance()
	}
}

// release ends the read transaction; the next Read opens another at the
// same position.
func (r *chunkReader) release() {
	if r.tx != nil {
		if r.tx != r.fixed {
			r.tx.Rollback()
		}
		r.tx, r.cur, r.ahead, r.val = nil, nil, nil, nil
	}
}
