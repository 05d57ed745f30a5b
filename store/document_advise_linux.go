package store

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

var pageSize = os.Getpagesize()

// adviseWillNeed asks the kernel to start reading v's pages now. v is a
// value of a read transaction: for a chunk, a slice of bbolt's memory map
// (overflow pages), which bbolt advises MADV_RANDOM, so that a cold read
// would fault in one page at a time. Only the whole pages inside v are
// advised (a small value, which may also be a copy on the heap, is left
// alone). Errors are ignored: this is only a hint.
func adviseWillNeed(v []byte) {
	if len(v) < 2*pageSize {
		return
	}
	p := unsafe.Pointer(unsafe.SliceData(v))
	skip := (pageSize - int(uintptr(p)%uintptr(pageSize))) % pageSize
	n := (len(v) - skip) &^ (pageSize - 1)
	_ = unix.Madvise(unsafe.Slice((*byte)(unsafe.Add(p, skip)), n), unix.MADV_WILLNEED)
}
