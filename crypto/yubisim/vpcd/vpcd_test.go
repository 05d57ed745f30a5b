package vpcd

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/valv-vault/valv/crypto/yubisim"
)

// fakeVPCD plays vpcd, the reader side: it listens on loopback and a card
// dials in.
type fakeVPCD struct {
	t  *testing.T
	ln net.Listener
}

func newFakeVPCD(t *testing.T) *fakeVPCD {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return &fakeVPCD{t, ln}
}

func (f *fakeVPCD) addr() string { return f.ln.Addr().String() }

// accept waits for the card to dial in.
func (f *fakeVPCD) accept() *vconn {
	f.t.Helper()
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := f.ln.Accept()
		ch <- result{c, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			f.t.Fatal(r.err)
		}
		f.t.Cleanup(func() { r.c.Close() })
		r.c.SetDeadline(time.Now().Add(10 * time.Second))
		return &vconn{f.t, r.c}
	case <-time.After(10 * time.Second):
		f.t.Fatal("the card did not dial in")
		return nil
	}
}

type vconn struct {
	t *testing.T
	net.Conn
}

func (v *vconn) send(msg ...byte) {
	v.t.Helper()
	if _, err := v.Write(binary.BigEndian.AppendUint16(nil, uint16(len(msg)))); err != nil {
		v.t.Fatal(err)
	}
	if _, err := v.Write(msg); err != nil {
		v.t.Fatal(err)
	}
}

func (v *vconn) recv() []byte {
	v.t.Helper()
	var hdr [2]byte
	if _, err := io.ReadFull(v, hdr[:]); err != nil {
		v.t.Fatal(err)
	}
	msg := make([]byte, binary.BigEndian.Uint16(hdr[:]))
	if _, err := io.ReadFull(v, msg); err != nil {
		v.t.Fatal(err)
	}
	return msg
}

func (v *vconn) call(msg ...byte) []byte {
	v.t.Helper()
	v.send(msg...)
	return v.recv()
}

// expectEOF checks that the card closed the connection.
func (v *vconn) expectEOF() {
	v.t.Helper()
	var b [1]byte
	if n, err := v.Read(b[:]); err != io.EOF {
		v.t.Fatalf("read = %d, %v; want EOF", n, err)
	}
}

func newTestCard(t *testing.T) *yubisim.Card {
	t.Helper()
	c, err := yubisim.New(yubisim.Config{Serial: 12345678})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var (
	selectPIV  = []byte{0x00, 0xa4, 0x04, 0x00, 0x05, 0xa0, 0x00, 0x00, 0x03, 0x08}
	getSerial  = []byte{0x00, 0xf8, 0x00, 0x00, 0x00}
	verifyPIN  = []byte{0x00, 0x20, 0x00, 0x80, 0x08, '1', '2', '3', '4', '5', '6', 0xff, 0xff}
	pinStatus  = []byte{0x00, 0x20, 0x00, 0x80, 0x00}
	swOKBytes  = []byte{0x90, 0x00}
	serialResp = []byte{0x00, 0xbc, 0x61, 0x4e, 0x90, 0x00} // 12345678
)

func TestServe(t *testing.T) {
	card := newTestCard(t)
	vpcd := newFakeVPCD(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, card, vpcd.addr()) }()

	v := vpcd.accept()
	if got := v.call(vpcdGetATR); !bytes.Equal(got, card.ATR()) {
		t.Errorf("ATR = % x, want % x", got, card.ATR())
	}
	v.send(vpcdPowerOn)
	if got := v.call(selectPIV...); !bytes.HasSuffix(got, swOKBytes) {
		t.Errorf("SELECT = % x", got)
	}
	if got := v.call(getSerial...); !bytes.Equal(got, serialResp) {
		t.Errorf("GET SERIAL = % x, want % x", got, serialResp)
	}
	// A poll between APDUs changes nothing; power off ends the session.
	if got := v.call(verifyPIN...); !bytes.Equal(got, swOKBytes) {
		t.Errorf("VERIFY = % x", got)
	}
	v.call(vpcdGetATR)
	if got := v.call(pinStatus...); !bytes.Equal(got, swOKBytes) {
		t.Errorf("PIN status after ATR poll = % x, want 90 00", got)
	}
	v.send(vpcdPowerOff)
	v.send(vpcdPowerOn)
	if got := v.call(pinStatus...); bytes.Equal(got, swOKBytes) {
		t.Errorf("PIN still verified after power off")
	}
	v.send(0x7f) // unknown control code: no reply
	if got := v.call(vpcdGetATR); !bytes.Equal(got, card.ATR()) {
		t.Errorf("ATR after unknown control code = % x", got)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve = %v, want nil after cancel", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	v.expectEOF()
}

// TestServeRedial: the card dials until vpcd listens, and again when
// the connection drops, as when pcscd starts late or restarts.
func TestServeRedial(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens yet

	card := newTestCard(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go Serve(ctx, card, addr)

	time.Sleep(100 * time.Millisecond)
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s was taken meanwhile: %v", addr, err)
	}
	vpcd := &fakeVPCD{t, ln}
	t.Cleanup(func() { ln.Close() })

	v := vpcd.accept()
	v.send(vpcdPowerOn)
	if got := v.call(verifyPIN...); !bytes.Equal(got, swOKBytes) {
		t.Fatalf("VERIFY = % x", got)
	}
	v.Close() // pcscd restarts

	v = vpcd.accept()
	v.send(vpcdPowerOn)
	if got := v.call(pinStatus...); bytes.Equal(got, swOKBytes) {
		t.Errorf("PIN still verified on a new connection")
	}
}

// pollUntilReady plays pcscd noticing a new card: presence poll, power on
// with ATR, sleep, poll again.
func pollUntilReady(v *vconn) {
	v.call(vpcdGetATR)
	v.send(vpcdPowerOn)
	v.call(vpcdGetATR)
	v.call(vpcdGetATR)
}

func TestSlot(t *testing.T) {
	card := newTestCard(t)
	vpcd := newFakeVPCD(t)
	slot, err := NewSlot(vpcd.addr())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	for round := range 2 {
		inserted := make(chan error, 1)
		go func() { inserted <- slot.Insert(ctx, card) }()
		v := vpcd.accept()
		pollUntilReady(v)
		if err := <-inserted; err != nil {
			t.Fatalf("round %d: Insert: %v", round, err)
		}
		if slot.Card() != card {
			t.Fatalf("round %d: Card() = %p, want %p", round, slot.Card(), card)
		}
		if err := slot.Insert(ctx, card); err == nil {
			t.Fatalf("round %d: second Insert into a full slot succeeded", round)
		}
		if got := v.call(selectPIV...); !bytes.HasSuffix(got, swOKBytes) {
			t.Errorf("round %d: SELECT = % x", round, got)
		}

		removed := make(chan error, 1)
		go func() {
			_, err := slot.Remove(ctx)
			removed <- err
		}()
		// The card stays until vpcd polls it; then it hangs up, dials
		// again and hangs up at the next poll.
		time.Sleep(20 * time.Millisecond)
		if got := v.call(selectPIV...); !bytes.HasSuffix(got, swOKBytes) {
			t.Errorf("round %d: SELECT while removing = % x", round, got)
		}
		v.send(vpcdGetATR)
		v.expectEOF()
		select {
		case err := <-removed:
			t.Fatalf("round %d: Remove returned before the next poll: %v", round, err)
		case <-time.After(20 * time.Millisecond):
		}
		probe := vpcd.accept()
		probe.send(vpcdGetATR)
		probe.expectEOF()
		if err := <-removed; err != nil {
			t.Fatalf("round %d: Remove: %v", round, err)
		}
		if slot.Card() != nil {
			t.Fatalf("round %d: slot still holds a card after Remove", round)
		}
	}
}

func TestSlotTimeouts(t *testing.T) {
	card := newTestCard(t)
	vpcd := newFakeVPCD(t)
	slot, err := NewSlot(vpcd.addr())
	if err != nil {
		t.Fatal(err)
	}
	// Nobody polls: Insert gives up and leaves the slot empty.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := slot.Insert(ctx, card); err == nil {
		t.Fatal("Insert without polls succeeded")
	}
	if slot.Card() != nil {
		t.Fatal("slot holds a card after a failed Insert")
	}

	// Remove with a dead context cuts the connection at once. (A fresh
	// vpcd: the first one still has the abandoned connection queued.)
	vpcd = newFakeVPCD(t)
	if slot, err = NewSlot(vpcd.addr()); err != nil {
		t.Fatal(err)
	}
	inserted := make(chan error, 1)
	go func() { inserted <- slot.Insert(context.Background(), card) }()
	v := vpcd.accept()
	pollUntilReady(v)
	if err := <-inserted; err != nil {
		t.Fatal(err)
	}
	dead, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if c, err := slot.Remove(dead); c != card || err == nil {
		t.Fatalf("Remove(dead ctx) = %p, %v; want the card and an error", c, err)
	}
	v.expectEOF()
	if c, err := slot.Remove(dead); c != nil || err != nil {
		t.Fatalf("Remove of an empty slot = %p, %v", c, err)
	}
}

func TestLoopbackOnly(t *testing.T) {
	card := newTestCard(t)
	for _, addr := range []string{"127.0.0.1:35963", "[::1]:35963", "localhost:35963", "127.1.2.3:1"} {
		if err := CheckAddr(addr); err != nil {
			t.Errorf("CheckAddr(%q) = %v", addr, err)
		}
	}
	for _, addr := range []string{"10.0.0.1:35963", "0.0.0.0:35963", "example.com:35963", "127.0.0.1", ":35963"} {
		if err := Serve(context.Background(), card, addr); err == nil {
			t.Errorf("Serve(%q) accepted a non-loopback address", addr)
		}
		if _, err := NewSlot(addr); err == nil {
			t.Errorf("NewSlot(%q) accepted a non-loopback address", addr)
		}
	}
}
