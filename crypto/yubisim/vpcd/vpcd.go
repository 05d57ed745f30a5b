// Package vpcd plugs a simulated card (package yubisim) into vpcd, the
// virtual smart card reader of vsmartcard, which pcscd loads as a driver.
// vpcd is a TCP server and the card dials in, so this package is the one
// place in Valv's tree that opens a network connection: only to a loopback
// address (CheckAddr refuses anything else), and only from the test harness
// (package pcsctest) and the yubisim command. The Valv application never
// imports it; its demo mode serves the card in-process (package inproc).
package vpcd

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/valv-vault/valv/crypto/yubisim"
)

// vpcd is the virtual reader of vsmartcard ("vsmartcard-vpcd" on Debian), a
// pcscd driver that listens on TCP for a virtual card to dial in. Each
// message, both ways, is a 2-byte big-endian length and a payload. A 1-byte
// payload from vpcd is a control code; anything longer is a C-APDU, answered
// with one R-APDU.
const (
	vpcdPowerOff = 0x00
	vpcdPowerOn  = 0x01
	vpcdReset    = 0x02
	vpcdGetATR   = 0x04 // the only control code with a reply
)

// DefaultAddr is where Debian's /etc/reader.conf.d/vpcd makes vpcd wait
// for a card (port 0x8C7B = 35963). vpcd's second slot is that port + 1.
const DefaultAddr = "127.0.0.1:35963"

// Redial backoff: pcscd may start after the card, and restarts drop the
// connection.
const (
	minRedial = 20 * time.Millisecond
	maxRedial = time.Second
)

// Serve plugs c into the vpcd reader slot at addr (host:port, a loopback
// host) and answers vpcd until ctx is done. It dials again, with backoff,
// whenever the connection cannot be made or drops, as it does when pcscd
// starts late or restarts. It returns nil once ctx is done, and an error
// only if addr is not a loopback address.
//
// vpcd itself binds its port on all interfaces (INADDR_ANY), so on a
// networked machine someone else could plug a card in first; nothing on
// this side listens.
func Serve(ctx context.Context, c *yubisim.Card, addr string) error {
	if err := CheckAddr(addr); err != nil {
		return err
	}
	serve(ctx, c, addr, nil)
	return nil
}

// CheckAddr returns an error unless addr is host:port with a loopback
// host: the card dials nothing else.
func CheckAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("yubisim: vpcd address %q: %v", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return fmt.Errorf("yubisim: vpcd address %q: only loopback addresses (127.0.0.1, ::1, localhost) are allowed", addr)
	}
	return nil
}

// serve is Serve's loop; ins, if not nil, watches and steers one
// insertion into a Slot.
func serve(ctx context.Context, c *yubisim.Card, addr string, ins *insertion) {
	var d net.Dialer
	wait := minRedial
	for ctx.Err() == nil && !ins.ejecting() {
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			wait = minRedial
			ejected := serveConn(ctx, c, conn, ins)
			// Whatever ended the connection (an ejection, pcscd going
			// away, ctx), the card has left the reader: drop the session
			// as a real key would.
			c.PowerOff()
			if ejected {
				awaitPoll(ctx, addr)
				return
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, maxRedial)
	}
}

// awaitPoll waits for vpcd's next presence poll on a connection of its own
// and hangs up without an answer, so that vpcd still finds no card. pcscd
// polls from one thread per reader, so when the poll comes, pcscd has
// finished handling the previous one: the one that saw the card go.
func awaitPoll(ctx context.Context, addr string) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	var hdr [2]byte
	if _, err := io.ReadFull(conn, hdr[:]); err == nil {
		// Read the request too, or the hang-up would be a reset.
		io.CopyN(io.Discard, conn, int64(binary.BigEndian.Uint16(hdr[:])))
	}
}

// serveConn answers vpcd on one connection until it fails, ctx is done, or
// the card is ejected: then it hangs up in answer to an ATR poll, which
// makes vpcd report the card absent at once, and returns true.
func serveConn(ctx context.Context, c *yubisim.Card, conn net.Conn, ins *insertion) (ejected bool) {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	r := bufio.NewReader(conn)
	msg := make([]byte, 0xffff)
	out := make([]byte, 2, 2+0xffff)
	for {
		if r.Buffered() == 0 {
			quickAck(conn)
		}
		var hdr [2]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return false
		}
		n := binary.BigEndian.Uint16(hdr[:])
		if _, err := io.ReadFull(r, msg[:n]); err != nil {
			return false
		}
		var reply []byte
		switch {
		case n == 0:
			continue
		case n > 1:
			reply = c.Transmit(msg[:n])
		case msg[0] == vpcdPowerOff:
			c.PowerOff()
			continue
		case msg[0] == vpcdPowerOn:
			c.PowerOn()
			ins.poweredOn()
			continue
		case msg[0] == vpcdReset:
			c.Reset()
			continue
		case msg[0] == vpcdGetATR:
			// vpcd polls the ATR to see whether the card is still
			// there. (An empty answer stalls vpcd 3.3's polling until the
			// connection closes.)
			if ins.ejecting() {
				return true
			}
			reply = c.ATR()
			ins.atrPolled()
		default:
			continue // unknown control code: vpcd expects no reply
		}
		if len(reply) > 0xffff {
			reply = []byte{0x6f, 0x00} // cannot be framed; never happens with PIV
		}
		out = binary.BigEndian.AppendUint16(out[:0], uint16(len(reply)))
		out = append(out, reply...)
		if _, err := conn.Write(out); err != nil {
			return false
		}
	}
}

// A Slot is one slot of a vpcd reader that a card can be inserted into and
// removed from, like a USB port a YubiKey is plugged into. Slot methods are
// safe for concurrent use.
//
// pcscd checks a vpcd reader by polling the card's ATR about every 400 ms,
// so insertion and removal take effect at pcscd's next poll; Insert and
// Remove wait for it.
type Slot struct {
	addr string

	mu   sync.Mutex
	card *yubisim.Card
	ins  *insertion
}

// insertion is one stay of a card in a slot.
type insertion struct {
	cancel    context.CancelFunc
	done      chan struct{} // closed when the card has left the slot
	eject     chan struct{} // closed by Remove: hang up at the next ATR poll
	ejectOnce sync.Once

	ready     chan struct{} // closed once pcscd lists the card as present
	readyOnce sync.Once
	powered   bool // the serving goroutine saw a power on
	polls     int  // ATR polls since that power on
}

// NewSlot returns an empty slot of the vpcd reader at addr (host:port,
// a loopback host; vpcd's second slot is at port + 1).
func NewSlot(addr string) (*Slot, error) {
	if err := CheckAddr(addr); err != nil {
		return nil, err
	}
	return &Slot{addr: addr}, nil
}

// Addr returns the vpcd address the slot dials.
func (s *Slot) Addr() string { return s.addr }

// Card returns the card in the slot, or nil.
func (s *Slot) Card() *yubisim.Card {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.card
}

// Insert puts c into the slot and waits until pcscd has powered it up and
// reports it present (about 0.5–1 s, two of pcscd's polls). If ctx ends
// first, the card is taken out again and Insert returns an error. The
// connection is kept up, and redialled if pcscd restarts, until Remove.
func (s *Slot) Insert(ctx context.Context, c *yubisim.Card) error {
	s.mu.Lock()
	if s.card != nil {
		s.mu.Unlock()
		return errors.New("yubisim: slot " + s.addr + " already holds a card")
	}
	serveCtx, cancel := context.WithCancel(context.Background())
	ins := &insertion{
		cancel: cancel,
		done:   make(chan struct{}),
		eject:  make(chan struct{}),
		ready:  make(chan struct{}),
	}
	s.card, s.ins = c, ins
	s.mu.Unlock()

	go func() {
		defer close(ins.done)
		serve(serveCtx, c, s.addr, ins)
	}()
	select {
	case <-ins.ready:
		return nil
	case <-ins.done:
		return errors.New("yubisim: card removed from vpcd slot " + s.addr + " while being inserted")
	case <-ctx.Done():
		s.take(ins)
		return fmt.Errorf("yubisim: inserting card into vpcd slot %s: pcscd did not power it up: %w", s.addr, ctx.Err())
	}
}

// Remove takes the card out of the slot, if there is one, and returns it.
// It hangs up in answer to pcscd's next ATR poll and waits for the poll
// after that: when Remove returns (0.5–1 s), pcscd has seen the card go,
// open handles to it fail with "card removed" and connecting finds no
// card. If ctx ends first, the connection is simply closed (pcscd then
// notices at its next poll) and the error says so.
func (s *Slot) Remove(ctx context.Context) (*yubisim.Card, error) {
	s.mu.Lock()
	c, ins := s.card, s.ins
	s.mu.Unlock()
	if ins == nil {
		return nil, nil
	}
	ins.ejectOnce.Do(func() { close(ins.eject) })
	var err error
	select {
	case <-ins.done:
	case <-ctx.Done():
		err = fmt.Errorf("yubisim: removing card from vpcd slot %s: pcscd did not poll it: %w", s.addr, ctx.Err())
	}
	s.take(ins)
	return c, err
}

// take ends insertion ins, if it is still the current one, and empties the
// slot.
func (s *Slot) take(ins *insertion) {
	ins.cancel()
	<-ins.done
	s.mu.Lock()
	if s.ins == ins {
		s.card, s.ins = nil, nil
	}
	s.mu.Unlock()
}

// The insertion hooks below run on the serving goroutine; a nil
// *insertion (plain Serve) ignores them.

func (ins *insertion) ejecting() bool {
	if ins == nil {
		return false
	}
	select {
	case <-ins.eject:
		return true
	default:
		return false
	}
}

func (ins *insertion) poweredOn() {
	if ins != nil {
		ins.powered, ins.polls = true, 0
	}
}

// atrPolled marks the card ready at the second ATR request after a power
// on: pcscd powers a new card up and reads its ATR (the first), records it
// as present, sleeps, and polls again (the second).
func (ins *insertion) atrPolled() {
	if ins == nil || !ins.powered {
		return
	}
	ins.polls++
	if ins.polls >= 2 {
		ins.readyOnce.Do(func() { close(ins.ready) })
	}
}
