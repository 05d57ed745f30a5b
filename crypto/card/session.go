package card

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-piv/piv-go/v2/piv"
	"github.com/valv-vault/valv/crypto/card/pcsc"
)

// Errors of an open session. Each says what the user can do.
var (
	ErrInUse   = errors.New("this YubiKey is already open in Valv: close the other session first")
	ErrClosed  = errors.New("the YubiKey session is closed: open the card again")
	ErrRemoved = errors.New("the YubiKey was removed: insert it and unlock again")
	ErrLocked  = errors.New("the YubiKey is locked: enter its PIN first")
)

// NoCardError means no card with the serial number is inserted.
type NoCardError struct {
	Serial uint32
	Busy   bool // some reader's card was held by another program
}

func (e *NoCardError) Error() string {
	s := fmt.Sprintf("YubiKey %d is not inserted: insert it", e.Serial)
	if e.Busy {
		s += ", or close the other program that is using a smart card (ykman, a browser, gpg-agent)"
	}
	return s
}

// A Session is an open connection to one YubiKey, found by its serial
// number. It holds the card exclusively, as piv-go does (one PC/SC
// transaction for the whole session), so no other program can use the
// card while Valv has it open; close it as soon as it is not needed.
//
// A Session is safe for concurrent use; card operations run one at a time.
// An operation that waits for a touch (a key with a touch policy) blocks
// the others for up to 15 seconds, the YubiKey's touch timeout.
//
// Removal of the card is noticed by a watcher on a PC/SC context of its
// own (see Removed), which works while piv-go's transaction is open.
type Session struct {
	info    Info
	version piv.Version

	mu     sync.Mutex
	yk     *piv.YubiKey // nil once closed or removed
	holder *Enrolment   // read on first use

	unlocked atomic.Bool // the PIN was verified in this session

	gone      atomic.Bool
	removed   chan struct{}
	closeOnce sync.Once
	watch     *watcher
}

// Open finds the YubiKey with the serial number among all readers and
// opens a session on it. The session starts locked.
func Open(serial uint32) (*Session, error) {
	readers, err := piv.Cards()
	if err != nil {
		if isNoService(err) {
			return nil, ErrNoService
		}
		if isNoReaders(err) {
			return nil, &NoCardError{Serial: serial}
		}
		return nil, fmt.Errorf("listing smart card readers: %w", err)
	}
	busy := false
	for _, r := range readers {
		if s := openSession(r); s != nil {
			if s.info.Serial == serial {
				return nil, ErrInUse
			}
			continue
		}
		yk, err := piv.Open(r)
		if err != nil {
			busy = busy || isBusy(err)
			continue
		}
		info, err := describe(yk, r)
		if err != nil || info.Serial != serial {
			yk.Close()
			continue
		}
		return newSession(info, yk)
	}
	return nil, &NoCardError{Serial: serial, Busy: busy}
}

func newSession(info Info, yk *piv.YubiKey) (*Session, error) {
	s := &Session{info: info, version: yk.Version(), yk: yk, removed: make(chan struct{})}
	if !register(s) {
		yk.Close()
		return nil, ErrInUse
	}
	w, err := watchRemoval(info.reader, s.markRemoved)
	if err != nil {
		unregister(s)
		yk.Close()
		return nil, fmt.Errorf("watching YubiKey %d for removal: %w", info.Serial, err)
	}
	s.watch = w
	return s, nil
}

// Info describes the card of the session.
func (s *Session) Info() Info { return s.info }

// Removed returns a channel that is closed when the card is taken out of
// its reader (or put back: a card that was out has lost its verified PIN),
// or when the smart card service stops. The app locks on it. It is
// reported within about a second: pcscd notices within half a second,
// and the watcher looks every 500 ms if pcscd does not wake it. Close
// does not close the channel.
func (s *Session) Removed() <-chan struct{} { return s.removed }

// Unlocked reports whether the PIN has been verified in this session and
// the card is still there. It does not wait for a card operation.
func (s *Session) Unlocked() bool {
	return s.unlocked.Load() && !s.gone.Load()
}

// Close ends the session and locks the card: it releases the card and
// then resets it, so that the PIN and the management key have to be
// presented again, also by other programs. (piv-go releases the card
// without a reset, and a YubiKey keeps a verified PIN until reset or
// removal; the reset is a second, short connection, so a program that
// grabs the card in the few milliseconds between the two is not stopped.)
// Closing again does nothing.
func (s *Session) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.unlocked.Store(false)
		s.watch.stop()
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.yk != nil {
			err = s.yk.Close()
			s.yk = nil
			if !s.gone.Load() {
				resetCard(s.info.reader)
			}
		}
		unregister(s)
	})
	return err
}

// markRemoved is the watcher's report: the card is gone.
func (s *Session) markRemoved() {
	if s.gone.Swap(true) {
		return
	}
	s.unlocked.Store(false)
	close(s.removed)
	// Release the dead handle without waiting for an operation in
	// progress, which fails on its own now.
	go func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.unlocked.Store(false)
		if s.yk != nil {
			s.yk.Close()
			s.yk = nil
		}
		unregister(s)
	}()
}

// card returns the piv-go handle; s.mu must be held.
func (s *Session) card() (*piv.YubiKey, error) {
	if s.gone.Load() {
		return nil, ErrRemoved
	}
	if s.yk == nil {
		return nil, ErrClosed
	}
	return s.yk, nil
}

// atLeast reports whether the firmware is at least major.minor.
func (s *Session) atLeast(major, minor int) bool {
	v := s.version
	return v.Major > major || v.Major == major && v.Minor >= minor
}

// cardErr turns a PC/SC failure of piv-go into ErrRemoved, and marks the
// session, so that the caller need not wait for the watcher.
func (s *Session) cardErr(err error) error {
	if err != nil && isRemoved(err) {
		s.markRemoved()
		return ErrRemoved
	}
	return err
}

// resetCard connects to the reader's card once more and disconnects with
// a reset. Best effort: the card may be gone or taken.
func resetCard(reader string) {
	ctx, err := pcsc.Establish()
	if err != nil {
		return
	}
	defer ctx.Release()
	if c, err := ctx.Connect(reader); err == nil {
		c.Close(true)
	}
}

// The readers of this process's open sessions: piv-go holds them
// exclusively, so List and Open must not probe them.
var sessions = struct {
	sync.Mutex
	byReader map[string]*Session
}{byReader: map[string]*Session{}}

func register(s *Session) bool {
	sessions.Lock()
	defer sessions.Unlock()
	if _, ok := sessions.byReader[s.info.reader]; ok {
		return false
	}
	sessions.byReader[s.info.reader] = s
	return true
}

func unregister(s *Session) {
	sessions.Lock()
	defer sessions.Unlock()
	if sessions.byReader[s.info.reader] == s {
		delete(sessions.byReader, s.info.reader)
	}
}

func openSession(reader string) *Session {
	sessions.Lock()
	defer sessions.Unlock()
	return sessions.byReader[reader]
}

// piv-go's PC/SC errors are matched by pcsc-lite's text, as in list.go.
func isRemoved(err error) bool {
	m := err.Error()
	return strings.Contains(m, "smart card has been removed") ||
		strings.Contains(m, "power has been removed from the smart card") ||
		strings.Contains(m, "smart card has been reset") ||
		strings.Contains(m, "no Smart Card is currently in the device")
}

func isBusy(err error) bool {
	return strings.Contains(err.Error(), "cannot be accessed because of other connections")
}
