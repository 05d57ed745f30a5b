// Package inproc puts simulated cards in front of this process's own PC/SC
// client library, with no pcscd.
//
// libpcsclite, the library under piv-go, talks to pcscd over a Unix socket
// whose path it takes from PCSCLITE_CSOCK_NAME. A Server listens on a private
// socket and answers that protocol (pcsc-lite 1.9, protocol 4.4) from inside
// the process, so piv-go's real code path — cgo, libpcsclite, APDUs — runs
// against a yubisim card. Demo mode uses it; tests that need the real daemon
// use package pcsctest instead.
//
// libpcsclite reads PCSCLITE_CSOCK_NAME once per process, at its first call:
// call Server.Use before anything in the process touches PC/SC.
//
// What it implements: contexts, reader listing, connect (exclusive and
// shared), transactions, transmit, status, reconnect, disconnect, and reader
// state change events (insert and remove). Control codes and attributes are
// answered as unsupported. It is not a general pcscd: one process, readers
// added by the program itself, no polkit, no hot-plug of drivers.
package inproc

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
)

// Card is what a reader holds; *yubisim.Card satisfies it.
type Card interface {
	ATR() []byte
	Transmit(capdu []byte) []byte
	Reset()
	PowerOff()
	PowerOn()
}

// Server answers libpcsclite on a private Unix socket.
type Server struct {
	sock string
	ln   *net.UnixListener

	mu      sync.Mutex
	readers []*Reader
	handles map[uint32]*handle
	waiters map[*conn]bool
	conns   map[*conn]bool
	closed  bool
	wg      sync.WaitGroup
}

// Reader is one slot of the server; it holds at most one card.
type Reader struct {
	s    *Server
	name string

	// Guarded by s.mu.
	card       Card
	generation uint64 // bumped on every insert and removal
	events     uint32
	lockedBy   uint32 // handle holding the transaction, 0 if none
}

type handle struct {
	id     uint32
	reader *Reader
	gen    uint64 // the reader's generation when connected
	share  uint32
	owner  *conn
}

type conn struct {
	c   net.Conn
	wmu sync.Mutex
}

// Listen creates the socket "pcscd.comm" in dir and starts serving.
func Listen(dir string) (*Server, error) {
	sock := filepath.Join(dir, "pcscd.comm")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("inproc: listening on %s: %w", sock, err)
	}
	s := &Server{
		sock:    sock,
		ln:      ln,
		handles: make(map[uint32]*handle),
		waiters: make(map[*conn]bool),
		conns:   make(map[*conn]bool),
	}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Socket is the path of the server's socket.
func (s *Server) Socket() string { return s.sock }

// Use points this process's libpcsclite at the server. It must run before
// the first PC/SC call of the process: the library caches the path.
func (s *Server) Use() error { return os.Setenv("PCSCLITE_CSOCK_NAME", s.sock) }

// AddReader adds an empty reader. Names are what SCardListReaders reports.
func (s *Server) AddReader(name string) *Reader {
	if len(name) >= maxReaderName {
		name = name[:maxReaderName-1]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &Reader{s: s, name: name}
	s.readers = append(s.readers, r)
	return r
}

// Name is the reader's name.
func (r *Reader) Name() string { return r.name }

// Insert puts a card in the reader, powered on, replacing any card there.
func (r *Reader) Insert(c Card) {
	c.PowerOn()
	r.s.mu.Lock()
	r.card = c
	r.changed()
	r.s.mu.Unlock()
}

// Remove takes the card out. Open handles fail with "card removed" until
// they reconnect to a new card.
func (r *Reader) Remove() {
	r.s.mu.Lock()
	if r.card != nil {
		r.card.PowerOff()
	}
	r.card = nil
	r.changed()
	r.s.mu.Unlock()
}

// changed records an event and wakes every client waiting in
// SCardGetStatusChange. Called with s.mu held.
func (r *Reader) changed() {
	r.generation++
	r.events++
	r.lockedBy = 0
	for w := range r.s.waiters {
		delete(r.s.waiters, w)
		go w.write(make([]byte, 8)) // wait_reader_state_change{timeOut: 0, rv: success}
	}
}

// Close stops the server, closes every client connection and removes the
// socket.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.c.Close()
	}
	s.mu.Unlock()
	err := s.ln.Close()
	s.wg.Wait()
	os.Remove(s.sock)
	return err
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		c := &conn{c: nc}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return
		}
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(c)
		}()
	}
}

func (c *conn) write(b ...[]byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	for _, p := range b {
		if _, err := c.c.Write(p); err != nil {
			return err
		}
	}
	return nil
}

// serve reads requests from one client connection until it closes.
func (s *Server) serve(c *conn) {
	defer func() {
		c.c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		delete(s.waiters, c)
		for id, h := range s.handles {
			if h.owner == c {
				s.dropHandle(id)
			}
		}
		s.mu.Unlock()
	}()
	hdr := make([]byte, 8)
	for {
		if _, err := io.ReadFull(c.c, hdr); err != nil {
			return
		}
		size, cmd := u32(hdr, 0), u32(hdr, 4)
		want, ok := structSize[cmd]
		if !ok || int(size) != want {
			return // pcscd also drops a client that sends a wrong length
		}
		body := make([]byte, size)
		if _, err := io.ReadFull(c.c, body); err != nil {
			return
		}
		if err := s.handle(c, cmd, body); err != nil {
			return
		}
	}
}

// handle answers one request. A returned error closes the connection.
func (s *Server) handle(c *conn, cmd uint32, b []byte) error {
	switch cmd {
	case cmdVersion:
		var rv uint32 = scardSuccess
		if int32(u32(b, 0)) != protocolMajor || int32(u32(b, 4)) != protocolMinor {
			rv = scardEInvalidValue // a different libpcsclite: say so rather than misparse
		}
		putU32(b, 0, protocolMajor)
		putU32(b, 4, protocolMinor)
		putU32(b, 8, rv)
		return c.write(b)

	case cmdEstablishContext:
		putU32(b, 4, randomID())
		putU32(b, 8, scardSuccess)
		return c.write(b)

	case cmdReleaseContext, cmdCancel:
		putU32(b, 4, scardSuccess)
		return c.write(b)

	case cmdGetReadersState:
		return c.write(s.readerStates())

	case cmdWaitReaderState:
		s.mu.Lock()
		s.waiters[c] = true
		s.mu.Unlock()
		return c.write(s.readerStates())

	case cmdStopWaiting:
		s.mu.Lock()
		was := s.waiters[c]
		delete(s.waiters, c)
		s.mu.Unlock()
		if was { // else the event notification already answered
			return c.write(make([]byte, 8))
		}
		return nil

	case cmdConnect:
		name := cString(b[4 : 4+maxReaderName])
		share := u32(b, 4+maxReaderName)
		id, rv := s.connect(c, name, share)
		putU32(b, 4+maxReaderName+8, id)
		putU32(b, 4+maxReaderName+12, protocolT1)
		putU32(b, 4+maxReaderName+16, rv)
		return c.write(b)

	case cmdReconnect:
		putU32(b, 16, protocolT1)
		putU32(b, 20, s.reconnect(c, u32(b, 0), u32(b, 12)))
		return c.write(b)

	case cmdDisconnect:
		putU32(b, 8, s.disconnect(c, u32(b, 0), u32(b, 4)))
		return c.write(b)

	case cmdBeginTransaction:
		putU32(b, 4, s.begin(c, u32(b, 0)))
		return c.write(b)

	case cmdEndTransaction:
		putU32(b, 8, s.end(c, u32(b, 0), u32(b, 4)))
		return c.write(b)

	case cmdStatus:
		s.mu.Lock()
		_, _, rv := s.cardFor(c, u32(b, 0), false)
		s.mu.Unlock()
		putU32(b, 4, rv)
		return c.write(b)

	case cmdTransmit:
		return s.transmit(c, b)

	case cmdControl:
		n := u32(b, 8)
		if n > maxExtended {
			return errors.New("control buffer too large")
		}
		if _, err := io.CopyN(io.Discard, c.c, int64(n)); err != nil {
			return err
		}
		putU32(b, 16, 0)
		putU32(b, 20, scardEUnsupportedFeature)
		return c.write(b)

	case cmdGetAttrib, cmdSetAttrib:
		putU32(b, len(b)-4, scardEUnsupportedFeature)
		return c.write(b)
	}
	return fmt.Errorf("unsupported command %#x", cmd)
}

// readerStates encodes the READER_STATE array the client library keeps.
func (s *Server) readerStates() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]byte, maxReaders*readerStateSize)
	for i, r := range s.readers {
		if i == maxReaders {
			break
		}
		e := out[i*readerStateSize:]
		copy(e[:maxReaderName-1], r.name)
		putU32(e, 128, r.events)
		sharing := int32(0)
		for _, h := range s.handles {
			if h.reader == r && h.gen == r.generation {
				if h.share == shareExclusive {
					sharing = -1
					break
				}
				sharing++
			}
		}
		if r.card == nil {
			putU32(e, 132, stateAbsent)
		} else {
			putU32(e, 132, statePresent|statePowered|stateNegotiable)
			atr := r.card.ATR()
			n := copy(e[140:140+maxATRSize], atr)
			putU32(e, 176, uint32(n))
			putU32(e, 180, protocolT1)
		}
		putU32(e, 136, uint32(sharing))
	}
	return out
}

func (s *Server) connect(c *conn, name string, share uint32) (uint32, uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var r *Reader
	for _, x := range s.readers {
		if x.name == name {
			r = x
		}
	}
	switch {
	case r == nil:
		return 0, scardEUnknownReader
	case share != shareExclusive && share != shareShared && share != shareDirect:
		return 0, scardEInvalidValue
	case r.card == nil && share != shareDirect:
		return 0, scardENoSmartcard
	}
	for _, h := range s.handles {
		stale := h.gen != r.generation // its card was removed: it blocks nothing
		if h.reader == r && !stale && (share == shareExclusive || h.share == shareExclusive) {
			return 0, scardESharingViolation
		}
	}
	id := randomID()
	for s.handles[id] != nil {
		id = randomID()
	}
	s.handles[id] = &handle{id: id, reader: r, gen: r.generation, share: share, owner: c}
	return id, scardSuccess
}

// handleOf returns the handle id if connection c made it: a client cannot
// drive another client's handle by guessing its number, as with pcscd.
// Called with s.mu held.
func (s *Server) handleOf(c *conn, id uint32) *handle {
	if h := s.handles[id]; h != nil && h.owner == c {
		return h
	}
	return nil
}

// cardFor finds the card behind a handle. With transact set, a transaction
// held by another handle is a sharing violation (the client retries).
// Called with s.mu held.
func (s *Server) cardFor(c *conn, id uint32, transact bool) (*handle, Card, uint32) {
	h := s.handleOf(c, id)
	if h == nil {
		return nil, nil, scardEInvalidHandle
	}
	r := h.reader
	if r.card == nil || h.gen != r.generation {
		return h, nil, scardWRemovedCard
	}
	if transact && r.lockedBy != 0 && r.lockedBy != id {
		return h, nil, scardESharingViolation
	}
	return h, r.card, scardSuccess
}

func (s *Server) reconnect(c *conn, id, init uint32) uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.handleOf(c, id)
	if h == nil {
		return scardEInvalidHandle
	}
	if h.reader.card == nil {
		return scardENoSmartcard
	}
	h.gen = h.reader.generation
	dispose(h.reader.card, init)
	return scardSuccess
}

func (s *Server) disconnect(c *conn, id, disposition uint32) uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, card, rv := s.cardFor(c, id, false)
	if h == nil {
		return rv
	}
	if card != nil {
		dispose(card, disposition)
	}
	s.dropHandle(id)
	return scardSuccess
}

// dropHandle forgets a handle and its transaction. Called with s.mu held.
func (s *Server) dropHandle(id uint32) {
	if h := s.handles[id]; h != nil && h.reader.lockedBy == id {
		h.reader.lockedBy = 0
	}
	delete(s.handles, id)
}

func (s *Server) begin(c *conn, id uint32) uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, _, rv := s.cardFor(c, id, true)
	if rv == scardSuccess {
		h.reader.lockedBy = id
	}
	return rv
}

func (s *Server) end(c *conn, id, disposition uint32) uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, card, rv := s.cardFor(c, id, true)
	if rv != scardSuccess {
		return rv
	}
	if h.reader.lockedBy != id {
		return scardENotTransacted
	}
	h.reader.lockedBy = 0
	dispose(card, disposition)
	return scardSuccess
}

func (s *Server) transmit(c *conn, b []byte) error {
	n := u32(b, 12)
	if n > maxExtended {
		return errors.New("transmit buffer too large")
	}
	capdu := make([]byte, n)
	if _, err := io.ReadFull(c.c, capdu); err != nil {
		return err
	}
	recvMax := u32(b, 24)

	s.mu.Lock()
	_, card, rv := s.cardFor(c, u32(b, 0), true)
	s.mu.Unlock()
	var rapdu []byte
	if rv == scardSuccess {
		// Outside s.mu: the card has its own lock, and a slow operation
		// (RSA key generation) must not stall other clients.
		rapdu = card.Transmit(capdu)
		if uint32(len(rapdu)) > recvMax {
			rv = 0x80100008 // SCARD_E_INSUFFICIENT_BUFFER; the data is not sent
		}
	}
	putU32(b, 16, protocolT1)
	putU32(b, 20, 8)
	putU32(b, 24, uint32(len(rapdu)))
	putU32(b, 28, rv)
	if rv != scardSuccess {
		return c.write(b)
	}
	return c.write(b, rapdu)
}

func dispose(c Card, disposition uint32) {
	switch disposition {
	case resetCard:
		c.Reset()
	case unpowerCard:
		c.PowerOff()
		c.PowerOn()
	}
}

func randomID() uint32 {
	var b [4]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			panic(err) // crypto/rand never fails on Linux
		}
		// Handles travel as int32 in some structs: keep them positive.
		if v := binary.LittleEndian.Uint32(b[:]) & 0x7fffffff; v != 0 {
			return v
		}
	}
}
