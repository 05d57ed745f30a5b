package card

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valv-vault/valv/crypto/card/pcsc"
)

// pollInterval bounds each wait for a reader change: the watcher looks at
// the reader at least this often even if pcscd never wakes it, and stop
// returns within it even if SCardCancel came too early to cancel anything.
const pollInterval = 500 * time.Millisecond

// A watcher waits for the card in one reader to go away.
//
// It uses a PC/SC context of its own and SCardGetStatusChange, which
// pcscd answers whatever connection or transaction another context holds:
// piv-go keeps one transaction open for a whole session, so anything sent
// through piv-go would have to queue behind a card operation (a touch can
// take 15 s). The card is "gone" when the reader reports no card, when
// the reader or the service disappears, or when pcsc-lite's event counter
// for the reader moves: a card pulled out and pushed back in between two
// looks has lost its verified PIN and its PC/SC handles.
type watcher struct {
	mu       sync.Mutex // guards ctx against Cancel after Release
	ctx      *pcsc.Context
	released bool
	stopped  atomic.Bool
	done     chan struct{}
}

// watchRemoval starts watching reader and calls gone once, from the
// watcher's goroutine, when the card goes away.
func watchRemoval(reader string, gone func()) (*watcher, error) {
	ctx, err := pcsc.Establish()
	if err != nil {
		return nil, err
	}
	first, err := ctx.WaitChange(reader, 0, 0)
	if err != nil {
		ctx.Release()
		return nil, err
	}
	w := &watcher{ctx: ctx, done: make(chan struct{})}
	go w.run(reader, first, gone)
	return w, nil
}

func (w *watcher) run(reader string, known pcsc.State, gone func()) {
	defer close(w.done)
	defer func() {
		w.mu.Lock()
		w.released = true
		w.ctx.Release()
		w.mu.Unlock()
	}()
	events := known.Events()
	for !w.stopped.Load() {
		if !known.Present() || known.Events() != events {
			gone()
			return
		}
		next, err := w.ctx.WaitChange(reader, known, pollInterval)
		switch {
		case errors.Is(err, pcsc.ErrTimeout):
		case errors.Is(err, pcsc.ErrCancelled):
			return
		case err != nil:
			if !w.stopped.Load() {
				gone() // the reader or pcscd went away
			}
			return
		default:
			known = next
		}
	}
}

// stop ends the watch and waits for the goroutine. Safe to call on a nil
// watcher and more than once.
func (w *watcher) stop() {
	if w == nil {
		return
	}
	w.stopped.Store(true)
	w.mu.Lock()
	if !w.released {
		w.ctx.Cancel()
	}
	w.mu.Unlock()
	<-w.done
}
