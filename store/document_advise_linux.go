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
	if len(v) >= 2*pageSize {
		madvise(uintptr(unsafe.Pointer(unsafe.SliceData(v))), int64(len(v)), unix.MADV_WILLNEED)
	}
}

// dropPages drops the pages that hold the file range [off, off+n) from
// this process's page tables, once a reader is done with them: they stay
// in the page cache (bbolt maps the file shared and read-only, so a later
// access faults them in again with the file's content, which no writer
// changes under a reader), but no longer count in the process's resident
// memory. A page shared with a neighbouring value is dropped too (whoever
// still reads it faults it in again, and drops it when done). m is an
// open transaction's map; a range outside it is left alone, as is one of
// fewer than two pages. Errors are ignored.
func dropPages(m txMap, off, n int64) {
	base, size := m.mapped()
	ps := int64(pageSize)
	start, end := off&^(ps-1), (off+n+ps-1)&^(ps-1)
	if base == 0 || off < 0 || n < 2*ps || end > size {
		return
	}
	_, _, _ = unix.Syscall(unix.SYS_MADVISE, base+uintptr(start), uintptr(end-start), unix.MADV_DONTNEED)
}

// madvise advises the whole pages inside [addr, addr+n). addr is in
// bbolt's map, not in Go's heap, and is passed to the kernel as a number.
func madvise(addr uintptr, n int64, advice int) {
	ps := uintptr(pageSize)
	start := (addr + ps - 1) &^ (ps - 1)
	end := (addr + uintptr(n)) &^ (ps - 1)
	if end <= start {
		return
	}
	_, _, _ = unix.Syscall(unix.SYS_MADVISE, start, end-start, uintptr(advice))
}
