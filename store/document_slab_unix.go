//go:build unix

package store

import "golang.org/x/sys/unix"

// allocSlab maps n bytes of anonymous memory outside Go's heap, or
// returns nil.
func allocSlab(n int) []byte {
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return nil
	}
	return b
}

func freeSlab(b []byte) { _ = unix.Munmap(b) }
