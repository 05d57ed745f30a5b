package inproc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-piv/piv-go/v2/piv"
)

// libpcsclite caches the socket path per process, so every test in this
// package shares one server, made in TestMain.
var (
	server  *Server
	readerA *Reader
	readerB *Reader
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "inproc-test-")
	if err != nil {
		panic(err)
	}
	server, err = Listen(dir)
	if err != nil {
		panic(err)
	}
	if err := server.Use(); err != nil {
		panic(err)
	}
	readerA = server.AddReader("Test Reader A")
	readerB = server.AddReader("Test Reader B")
	code := m.Run()
	server.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// fakeCard answers just the APDUs piv-go sends to open a card and read its
// serial: SELECT, GET VERSION, GET SERIAL. It records what it was sent.
type fakeCard struct {
	mu      sync.Mutex
	serial  byte
	powered bool
	resets  int
	sent    [][]byte
}

func (f *fakeCard) ATR() []byte {
	return []byte{0x3B, 0xFD, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x15, 0x80, 0x73, 0xC0, 0x21, 0xC0, 0x57, 0x59, 0x75, 0x62, 0x69, 0x4B, 0x65, 0x79, 0x40}
}
func (f *fakeCard) Reset()    { f.mu.Lock(); f.resets++; f.mu.Unlock() }
func (f *fakeCard) PowerOff() { f.mu.Lock(); f.powered = false; f.mu.Unlock() }
func (f *fakeCard) PowerOn()  { f.mu.Lock(); f.powered = true; f.mu.Unlock() }
func (f *fakeCard) first() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.sent) == 0 {
		return nil
	}
	return f.sent[0]
}

func (f *fakeCard) Transmit(c []byte) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, slices.Clone(c))
	if len(c) < 4 {
		return []byte{0x67, 0x00}
	}
	switch c[1] {
	case 0xA4:
		return []byte{0x90, 0x00}
	case 0xFD:
		return []byte{5, 7, 1, 0x90, 0x00}
	case 0xF8:
		return []byte{0, 0, 0, f.serial, 0x90, 0x00}
	case 0xCA: // answer longer than the client's buffer would be: 4 KiB
		return append(bytes.Repeat([]byte{0xAA}, 4096), 0x90, 0x00)
	}
	return []byte{0x6D, 0x00}
}

func openBySerial(t *testing.T, serial uint32) (*piv.YubiKey, error) {
	t.Helper()
	readers, err := piv.Cards()
	if err != nil {
		return nil, err
	}
	for _, r := range readers {
		yk, err := piv.Open(r)
		if err != nil {
			continue
		}
		if s, err := yk.Serial(); err == nil && s == serial {
			return yk, nil
		}
		yk.Close()
	}
	return nil, fmt.Errorf("no card with serial %d among %q", serial, readers)
}

func TestPivGoOpensCardBySerial(t *testing.T) {
	a, b := &fakeCard{serial: 11}, &fakeCard{serial: 22}
	readerA.Insert(a)
	readerB.Insert(b)
	defer readerA.Remove()
	defer readerB.Remove()

	readers, err := piv.Cards()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(readers, []string{"Test Reader A", "Test Reader B"}) {
		t.Fatalf("readers = %q", readers)
	}
	yk, err := openBySerial(t, 22)
	if err != nil {
		t.Fatal(err)
	}
	defer yk.Close()
	if v := yk.Version(); v.Major != 5 || v.Minor != 7 || v.Patch != 1 {
		t.Errorf("version = %+v", v)
	}
	if first := b.first(); !bytes.HasPrefix(first, []byte{0x00, 0xA4, 0x04, 0x00, 0x05}) {
		t.Errorf("first APDU to the card was %x, want SELECT", first)
	}
}

func TestExclusiveConnectIsRefusedWhileOpen(t *testing.T) {
	readerA.Insert(&fakeCard{serial: 1})
	defer readerA.Remove()
	yk, err := piv.Open("Test Reader A")
	if err != nil {
		t.Fatal(err)
	}
	_, err = piv.Open("Test Reader A")
	if err == nil {
		t.Fatal("second exclusive open succeeded")
	}
	yk.Close()
	yk2, err := piv.Open("Test Reader A")
	if err != nil {
		t.Fatalf("open after close: %v", err)
	}
	yk2.Close()
}

func TestRemovalFailsOpenHandle(t *testing.T) {
	readerA.Insert(&fakeCard{serial: 5})
	yk, err := piv.Open("Test Reader A")
	if err != nil {
		t.Fatal(err)
	}
	defer yk.Close()
	if _, err := yk.Serial(); err != nil {
		t.Fatal(err)
	}
	readerA.Remove()
	if _, err := yk.Serial(); err == nil {
		t.Fatal("serial of a removed card succeeded")
	}
	// A new card in the same reader does not revive the old handle.
	readerA.Insert(&fakeCard{serial: 6})
	defer readerA.Remove()
	if _, err := yk.Serial(); err == nil {
		t.Fatal("old handle works on a new card")
	}
	if _, err := openBySerial(t, 6); err != nil {
		t.Fatal(err)
	}
}

func TestEmptyReaderRefusesConnect(t *testing.T) {
	readerB.Remove()
	_, err := piv.Open("Test Reader B")
	if err == nil {
		t.Fatal("opened an empty reader")
	}
	_, err = piv.Open("No Such Reader")
	if err == nil {
		t.Fatal("opened a reader that does not exist")
	}
}

func TestReaderStatesLayout(t *testing.T) {
	readerA.Insert(&fakeCard{})
	defer readerA.Remove()
	readerB.Remove()
	st := server.readerStates()
	if len(st) != maxReaders*readerStateSize {
		t.Fatalf("len = %d", len(st))
	}
	if cString(st[:maxReaderName]) != "Test Reader A" {
		t.Errorf("name = %q", cString(st[:maxReaderName]))
	}
	if got := u32(st, 132); got&statePresent == 0 {
		t.Errorf("state A = %#x, want present", got)
	}
	if got := u32(st, 176); got != 23 {
		t.Errorf("ATR length = %d", got)
	}
	if got := u32(st[readerStateSize:], 132); got != stateAbsent {
		t.Errorf("state B = %#x, want absent", got)
	}
	if st[2*readerStateSize] != 0 {
		t.Error("third entry is not empty")
	}
}

// TestConcurrentClients opens and closes from several goroutines: the
// transaction lock and the client library's retry on sharing violations
// must serialise them without a deadlock.
func TestConcurrentClients(t *testing.T) {
	readerA.Insert(&fakeCard{serial: 9})
	defer readerA.Remove()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			deadline := time.Now().Add(10 * time.Second)
			for done := 0; done < 5; {
				yk, err := piv.Open("Test Reader A")
				if err != nil {
					if time.Now().After(deadline) {
						errs <- err
						return
					}
					time.Sleep(5 * time.Millisecond)
					continue
				}
				if s, err := yk.Serial(); err != nil || s != 9 {
					errs <- fmt.Errorf("serial = %d, %v", s, err)
				}
				yk.Close()
				done++
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestMalformedRequestDropsOnlyThatClient(t *testing.T) {
	c, err := dialRaw()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A header claiming a wrong struct size for SCARD_CONNECT.
	hdr := make([]byte, 8)
	putU32(hdr, 0, 3)
	putU32(hdr, 4, cmdConnect)
	c.Write(hdr)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("server answered a malformed request")
	}
	// The server still serves others.
	readerA.Insert(&fakeCard{serial: 3})
	defer readerA.Remove()
	if _, err := openBySerial(t, 3); err != nil {
		t.Fatal(err)
	}
}

func dialRaw() (net.Conn, error) {
	c, err := net.Dial("unix", server.Socket())
	if err != nil {
		return nil, errors.Join(errors.New("dialing the server"), err)
	}
	return c, nil
}

// rawRequest sends one request struct with its header and reads n bytes.
func rawRequest(t *testing.T, c net.Conn, cmd uint32, body []byte, extra []byte, n int) []byte {
	t.Helper()
	hdr := make([]byte, 8)
	putU32(hdr, 0, uint32(len(body)))
	putU32(hdr, 4, cmd)
	if _, err := c.Write(append(append(hdr, body...), extra...)); err != nil {
		t.Fatal(err)
	}
	out := make([]byte, n)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// A client cannot drive another client's card handle by its number.
func TestHandleBelongsToItsConnection(t *testing.T) {
	readerA.Insert(&fakeCard{serial: 8})
	defer readerA.Remove()
	a, err := dialRaw()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := dialRaw()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	est := rawRequest(t, a, cmdEstablishContext, make([]byte, 12), nil, 12)
	connect := make([]byte, structSize[cmdConnect])
	putU32(connect, 0, u32(est, 4))
	copy(connect[4:], "Test Reader A")
	putU32(connect, 4+maxReaderName, shareShared)
	connect = rawRequest(t, a, cmdConnect, connect, nil, len(connect))
	if rv := u32(connect, 4+maxReaderName+16); rv != scardSuccess {
		t.Fatalf("connect: rv %#x", rv)
	}
	hCard := u32(connect, 4+maxReaderName+8)

	apdu := []byte{0x00, 0xF8, 0x00, 0x00, 0x00}
	tx := make([]byte, 32)
	putU32(tx, 0, hCard)
	putU32(tx, 12, uint32(len(apdu)))
	putU32(tx, 24, 258)
	got := rawRequest(t, b, cmdTransmit, tx, apdu, 32)
	if rv := u32(got, 28); rv != scardEInvalidHandle {
		t.Fatalf("another connection's transmit: rv %#x, want invalid handle", rv)
	}
	got = rawRequest(t, a, cmdTransmit, tx, apdu, 32)
	if rv := u32(got, 28); rv != scardSuccess {
		t.Fatalf("owner's transmit: rv %#x", rv)
	}
}
