// Package media finds the removable media a backup can go to: USB sticks
// and disks, SD cards, and encrypted (device-mapper) volumes on them,
// from the mount table (/proc/self/mountinfo) and /sys. Any folder can
// still be chosen; this only offers the likely ones.
package media

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// A Medium is a mounted file system on a removable device.
type Medium struct {
	MountPoint string // the real path: print it with Printable
	Device     string // the block device's name: sdb1, dm-0, mmcblk0p1
	Disk       string // the disk it is on: sdb, mmcblk0
	Label      string // the file system's label, or the mount point's base name; control characters shown as U+FFFD
	FSType     string
	Size       int64 // bytes of the device
	Free       int64 // bytes available for writing (-1 if unknown)
	USB        bool
	ReadOnly   bool
}

// A System says where to read the mount table and /sys (tests point it
// at fixtures).
type System struct {
	Mountinfo string // /proc/self/mountinfo
	Sys       string // /sys
	ByLabel   string // /dev/disk/by-label
	// Free returns the bytes available at a mount point; nil: statfs.
	Free func(path string) (int64, error)
}

// Local is this machine.
var Local = System{Mountinfo: "/proc/self/mountinfo", Sys: "/sys", ByLabel: "/dev/disk/by-label"}

// A Mount is a line of the mount table.
type Mount struct {
	Major, Minor int
	Root         string // the mounted folder within the file system
	MountPoint   string
	Options      []string
	FSType       string
	Source       string
}

// ParseMountinfo reads /proc/self/mountinfo (proc(5)). Malformed lines
// are an error.
func ParseMountinfo(r io.Reader) ([]Mount, error) {
	var out []Mount
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		pre, post, ok := strings.Cut(line, " - ")
		f := strings.Fields(pre)
		g := strings.Fields(post)
		if !ok || len(f) < 6 || len(g) < 2 {
			return nil, fmt.Errorf("media: mountinfo line %d is malformed", n)
		}
		maj, min, ok := strings.Cut(f[2], ":")
		var m Mount
		var err1, err2 error
		m.Major, err1 = strconv.Atoi(maj)
		m.Minor, err2 = strconv.Atoi(min)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("media: mountinfo line %d: bad device number %q", n, f[2])
		}
		m.Root, m.MountPoint = unescape(f[3]), unescape(f[4])
		m.Options = strings.Split(f[5], ",")
		m.FSType, m.Source = g[0], unescape(g[1])
		out = append(out, m)
	}
	return out, sc.Err()
}

// unescape undoes the mount table's octal escapes (\040 for a space).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Find lists the mounted removable media, by mount point.
func (s System) Find() ([]Medium, error) {
	f, err := os.Open(s.Mountinfo)
	if err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	defer f.Close()
	mounts, err := ParseMountinfo(f)
	if err != nil {
		return nil, err
	}
	devs := s.blockDevices()
	labels := s.labels()
	var out []Medium
	seen := map[string]bool{}
	for _, m := range mounts {
		name, ok := devs[[2]int{m.Major, m.Minor}]
		if !ok || m.Root != "/" || seen[name] {
			continue // not a block device, or a bind mount of a folder
		}
		disk, usb, removable := s.disk(name, 0)
		if disk == "" || !(removable || usb) {
			continue
		}
		seen[name] = true
		md := Medium{MountPoint: m.MountPoint, Device: name, Disk: disk, FSType: m.FSType, USB: usb,
			ReadOnly: slices.Contains(m.Options, "ro"), Free: -1}
		md.Size = readInt(filepath.Join(s.Sys, "class", "block", name, "size")) * 512
		md.Label = labels[name]
		if md.Label == "" {
			md.Label = cleanLabel(filepath.Base(m.MountPoint))
		}
		free := s.Free
		if free == nil {
			free = statfsFree
		}
		if n, err := free(m.MountPoint); err == nil {
			md.Free = n
		}
		out = append(out, md)
	}
	slices.SortFunc(out, func(a, b Medium) int { return strings.Compare(a.MountPoint, b.MountPoint) })
	return out, nil
}

// blockDevices maps device numbers to block device names
// (/sys/class/block/*/dev holds "major:minor").
func (s System) blockDevices() map[[2]int]string {
	out := map[[2]int]string{}
	ents, _ := os.ReadDir(filepath.Join(s.Sys, "class", "block"))
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(s.Sys, "class", "block", e.Name(), "dev"))
		if err != nil {
			continue
		}
		maj, min, ok := strings.Cut(strings.TrimSpace(string(b)), ":")
		x, err1 := strconv.Atoi(maj)
		y, err2 := strconv.Atoi(min)
		if ok && err1 == nil && err2 == nil {
			out[[2]int{x, y}] = e.Name()
		}
	}
	return out
}

// disk finds the disk a block device is on (itself, the disk whose
// folder holds the partition, or for a device-mapper volume the disk
// under its first slave), and whether it is on USB (or an SD card
// reader) or marked removable.
func (s System) disk(name string, depth int) (disk string, usb, removable bool) {
	if depth > 4 {
		return "", false, false
	}
	slaves, _ := os.ReadDir(filepath.Join(s.Sys, "class", "block", name, "slaves"))
	if len(slaves) > 0 {
		return s.disk(slaves[0].Name(), depth+1)
	}
	block := filepath.Join(s.Sys, "block")
	if _, err := os.Stat(filepath.Join(block, name)); err == nil {
		disk = name
	} else {
		ents, _ := os.ReadDir(block)
		for _, e := range ents {
			if _, err := os.Stat(filepath.Join(block, e.Name(), name)); err == nil {
				disk = e.Name()
				break
			}
		}
	}
	if disk == "" {
		return "", false, false
	}
	removable = readInt(filepath.Join(block, disk, "removable")) == 1
	if p, err := filepath.EvalSymlinks(filepath.Join(block, disk, "device")); err == nil {
		usb = strings.Contains(p, "/usb") || strings.Contains(p, "/mmc")
	}
	return disk, usb, removable
}

// labels maps block device names to file system labels
// (/dev/disk/by-label/<label, \x20-escaped> → ../../sdb1).
func (s System) labels() map[string]string {
	out := map[string]string{}
	ents, _ := os.ReadDir(s.ByLabel)
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join(s.ByLabel, e.Name()))
		if err != nil {
			continue
		}
		out[filepath.Base(target)] = cleanLabel(unescapeHex(e.Name()))
	}
	return out
}

// cleanLabel makes a label fit to show: whoever formatted the medium
// chose it, so a control character, a bidirectional control or a byte
// that is not UTF-8 becomes U+FFFD.
func cleanLabel(s string) string {
	return strings.Map(func(r rune) rune {
		if unsafeRune(r) {
			return utf8.RuneError
		}
		return r
	}, strings.ToValidUTF8(s, string(utf8.RuneError)))
}

func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
}

// Printable returns a mount point (or any name from the system) as it
// can be printed: itself if it holds only printable UTF-8, else quoted
// with Go's escapes (strconv.Quote), so that a crafted name cannot send
// control sequences to a terminal or forge a line of output.
func Printable(s string) string {
	if utf8.ValidString(s) && !strings.ContainsFunc(s, unsafeRune) {
		return s
	}
	return strconv.Quote(s)
}

// unescapeHex undoes udev's \xNN escapes.
func unescapeHex(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			if v, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func readInt(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n
}

func statfsFree(path string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, err
	}
	if st.Bsize <= 0 {
		return 0, errors.New("media: statfs gave no block size")
	}
	return int64(st.Bavail) * st.Bsize, nil
}
