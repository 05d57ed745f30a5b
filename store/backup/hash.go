package backup

import (
	"crypto/sha256"
	"hash"
)

// An asyncHash computes SHA-256 in a goroutine of its own, so that
// hashing a file runs beside its encryption (SHA-256 is the slower of
// the two): Write hands over a copy of the bytes and returns. Sum waits
// for the hash of everything written. Close it if Sum is not called.
type asyncHash struct {
	ch   chan []byte
	free chan []byte
	done chan struct{}
	h    hash.Hash
	buf  []byte // bytes not yet handed over
}

const (
	hashBlock  = 256 << 10
	hashBlocks = 8
)

func newAsyncHash() *asyncHash {
	a := &asyncHash{ch: make(chan []byte, hashBlocks), free: make(chan []byte, hashBlocks+1), done: make(chan struct{}), h: sha256.New()}
	for range hashBlocks + 1 {
		a.free <- make([]byte, 0, hashBlock)
	}
	a.buf = <-a.free
	go func() {
		defer close(a.done)
		for b := range a.ch {
			a.h.Write(b)
			a.free <- b[:0]
		}
	}()
	return a
}

func (a *asyncHash) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := copy(a.buf[len(a.buf):cap(a.buf)], p)
		a.buf = a.buf[:len(a.buf)+k]
		p = p[k:]
		if len(a.buf) == cap(a.buf) {
			a.ch <- a.buf
			a.buf = <-a.free
		}
	}
	return n, nil
}

// Sum returns the SHA-256 of everything written, and stops the goroutine.
func (a *asyncHash) Sum() []byte {
	if len(a.buf) > 0 {
		a.ch <- a.buf
		a.buf = nil
	}
	close(a.ch)
	<-a.done
	return a.h.Sum(nil)
}

// Close stops the goroutine without a sum.
func (a *asyncHash) Close() {
	if a.ch != nil {
		close(a.ch)
		<-a.done
		a.ch = nil
	}
}
