//go:build !unix

package store

// allocSlab returns nil: the chunk buffers come from Go's heap.
func allocSlab(int) []byte { return nil }

func freeSlab([]byte) {}
