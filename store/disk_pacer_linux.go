package store

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// A diskPacer helps the disk keep up with a long run of commits to one
// bbolt file (a large document's batches), in three ways that change
// nothing of what is written or when bbolt's commits are durable:
//
//   - Writeback started early. A bbolt commit writes all its pages into
//     the page cache and then calls fdatasync, which only then sends
//     them to the disk and waits for all of them: the disk idles while
//     bbolt writes, and the committer idles while the disk writes. The
//     pacer asks the kernel every writebackEvery to start writing the
//     file's dirty pages (sync_file_range SYNC_FILE_RANGE_WRITE, which
//     starts the writes and waits for none), so the disk writes the
//     first pages of a batch while bbolt still writes the last ones, and
//     the fdatasync waits for what is left. fdatasync still returns only
//     once every page is on the disk, before bbolt writes its meta page;
//     writing a page early is what the kernel may do on its own anyway.
//     bbolt writes through a handle of its own, inside Commit, so the
//     kernel is asked on a timer, from a goroutine of the pacer's,
//     through a handle opened here (dirty pages are the file's, whichever
//     handle wrote them).
//
//   - Blocks reserved ahead. bbolt grows its file with a sparse truncate,
//     so that every page it writes past the old end makes the file
//     system allocate a block then and there, in the write. reserve
//     allocates the blocks of the next docGrowBytes past the file's end
//     beforehand, in one call (fallocate FALLOC_FL_KEEP_SIZE: the file's
//     size does not change; bbolt's truncate later extends the file over
//     them, and they read as zeros until written). An addition that
//     fails leaves at most that much allocated past the end, which the
//     file's next growth uses.
//
//   - Drop-behind. A document's chunks are written once and seldom read
//     soon after; left in the page cache, 1 GiB of them would push out
//     pages that are read (the rest of the vault, other programs' files),
//     and each commit would take fresh pages for its writes. Once a
//     commit has returned its pages are clean, and dropBehind drops those
//     of the chunks that no later commit reads (POSIX_FADV_DONTNEED, on
//     the pacer's goroutine): the next commit's writes then reuse the
//     pages just freed, and the addition holds about two batches of page
//     cache instead of the whole document. On the development machine,
//     whose hypervisor takes back freed guest memory, writing into fresh
//     pages cost up to 3.3 CPU-s per GiB against 0.35–0.5 s into reused
//     ones.
//
// On the development machine (ext4 on a virtual disk), 1 GiB of commits
// of 16 MiB took 1.5–1.9 s with bbolt alone and 1.1–1.2 s with the
// early writeback; the reserved blocks made the writes' CPU time 0.40 s
// → 0.28 s. All of it is a hint: errors are ignored (a file system
// without these calls is only slower), and fdatasync reports any error
// of the writes.
type diskPacer struct {
	f        *os.File
	reserved int64 // blocks are reserved up to here
	drops    chan []mapRange
	quit     chan struct{}
	done     chan struct{}
}

// writebackEvery is how often the pacer starts the writeback: bbolt
// writes a few MiB to the page cache in that time.
const writebackEvery = time.Millisecond

// startDiskPacer starts a pacer for the bbolt file at path. It returns
// nil if the file does not open; a nil pacer does nothing.
func startDiskPacer(path string) *diskPacer {
	f, err := os.OpenFile(path, os.O_WRONLY, 0) // fallocate needs a handle for writing
	if err != nil {
		return nil
	}
	p := &diskPacer{
		f:     f,
		drops: make(chan []mapRange, 4),
		quit:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	go p.run()
	return p
}

func (p *diskPacer) run() {
	defer close(p.done)
	t := time.NewTicker(writebackEvery)
	defer t.Stop()
	fd := int(p.f.Fd())
	for {
		select {
		case <-p.quit:
			for {
				select {
				case rs := <-p.drops:
					p.drop(rs)
				default:
					return
				}
			}
		case rs := <-p.drops:
			p.drop(rs)
		case <-t.C:
			_ = unix.SyncFileRange(fd, 0, 0, unix.SYNC_FILE_RANGE_WRITE)
		}
	}
}

// reserve makes sure that blocks are allocated for the next n bytes
// past the file's end, reserving docGrowBytes more when they are not.
func (p *diskPacer) reserve(n int64) {
	if p == nil {
		return
	}
	st, err := p.f.Stat()
	if err != nil {
		return
	}
	end := st.Size()
	if p.reserved >= end+n {
		return
	}
	from := max(end, p.reserved)
	to := end + max(n, docGrowBytes)
	if unix.Fallocate(int(p.f.Fd()), unix.FALLOC_FL_KEEP_SIZE, from, to-from) == nil {
		p.reserved = to
	}
}

// dropBehind hands ranges of the file whose pages are clean (written by
// a commit that has returned) and that no later commit reads to the
// pacer's goroutine, which drops the whole folios inside them from the
// page cache. A range still mapped by this process stays cached (the
// kernel keeps mapped pages): the caller unmaps it first (dropPages).
// Only the committer calls it, before stop; it waits while four calls'
// ranges are still to drop (fadvise takes about a millisecond for 16
// MiB).
func (p *diskPacer) dropBehind(rs []mapRange) {
	if p == nil || len(rs) == 0 {
		return
	}
	p.drops <- rs
}

func (p *diskPacer) drop(rs []mapRange) {
	for _, r := range rs {
		_ = unix.Fadvise(int(p.f.Fd()), r.off, r.n, unix.FADV_DONTNEED)
	}
}

// stop ends the pacer.
func (p *diskPacer) stop() {
	if p == nil {
		return
	}
	close(p.quit)
	<-p.done
	p.f.Close()
}
