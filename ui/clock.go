package ui

import "time"

// A Clock schedules the window's timers (idle lock, hiding revealed
// numbers, search debounce). Tests use a fake one that they advance by
// hand.
type Clock interface {
	AfterFunc(d time.Duration, f func()) Timer
}

// A Timer is a scheduled call that can be cancelled.
type Timer interface {
	// Stop cancels the call; it reports whether it was still pending.
	Stop() bool
}

// realClock runs timers with package time; f runs on a timer goroutine.
type realClock struct{}

func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// restartable is a timer that starts over on each Reset, for the idle
// lock and the search debounce.
type restartable struct {
	clock Clock
	d     time.Duration
	f     func()
	t     Timer
}

// Reset (re)starts the countdown.
func (r *restartable) Reset() {
	if r.t != nil {
		r.t.Stop()
	}
	r.t = r.clock.AfterFunc(r.d, r.f)
}

// Stop cancels the countdown.
func (r *restartable) Stop() {
	if r.t != nil {
		r.t.Stop()
		r.t = nil
	}
}
