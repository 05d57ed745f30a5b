package media

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A fixture disk: where it hangs in /sys/devices, its partitions and
// whether the kernel marks it removable.
type fixtureDisk struct {
	name      string
	dev       string // major:minor
	device    string // the device folder under /sys/devices
	removable bool
	parts     map[string]string // name → major:minor
}

var fixtureDisks = []fixtureDisk{
	{"nvme0n1", "259:0", "pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0", false, map[string]string{"nvme0n1p1": "259:1", "nvme0n1p2": "259:2"}},
	{"sda", "8:0", "pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0", false, map[string]string{"sda1": "8:1"}},
	// A USB stick (removable), a USB disk (not marked removable), a USB
	// stick under LUKS, and an SD card.
	{"sdb", "8:16", "pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0", true, map[string]string{"sdb1": "8:17"}},
	{"sdc", "8:32", "pci0000:00/0000:00:14.0/usb2/2-2/2-2:1.0/host7/target7:0:0/7:0:0:0", false, map[string]string{"sdc1": "8:33"}},
	{"sdd", "8:48", "pci0000:00/0000:00:14.0/usb2/2-3/2-3:1.0/host8/target8:0:0/8:0:0:0", true, map[string]string{"sdd1": "8:49"}},
	{"mmcblk0", "179:0", "pci0000:00/0000:00:14.5/mmc_host/mmc0/mmc0:aaaa", false, map[string]string{"mmcblk0p1": "179:1"}},
}

// fixtureSys builds a /sys tree shaped like the kernel's: devices under
// /sys/devices, /sys/block and /sys/class/block as symbolic links to
// them, and a device-mapper volume dm-0 on sdd1. And /dev/disk/by-label.
func fixtureSys(t *testing.T) (sys, byLabel string) {
	t.Helper()
	root := t.TempDir()
	sys = filepath.Join(root, "sys")
	write := func(p, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, p string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range fixtureDisks {
		dev := filepath.Join(sys, "devices", d.device)
		blk := filepath.Join(dev, "block", d.name)
		write(filepath.Join(blk, "dev"), d.dev)
		write(filepath.Join(blk, "size"), "62521344")
		rem := "0"
		if d.removable {
			rem = "1"
		}
		write(filepath.Join(blk, "removable"), rem)
		link("../..", filepath.Join(blk, "device")) // block/<disk>/device → the device folder
		link(blk, filepath.Join(sys, "block", d.name))
		link(blk, filepath.Join(sys, "class", "block", d.name))
		for p, n := range d.parts {
			write(filepath.Join(blk, p, "dev"), n)
			write(filepath.Join(blk, p, "size"), "62519296")
			write(filepath.Join(blk, p, "partition"), "1")
			link(filepath.Join(blk, p), filepath.Join(sys, "class", "block", p))
		}
	}
	dm := filepath.Join(sys, "devices", "virtual", "block", "dm-0")
	write(filepath.Join(dm, "dev"), "254:0")
	write(filepath.Join(dm, "size"), "62515200")
	write(filepath.Join(dm, "removable"), "0")
	link(filepath.Join(sys, "class", "block", "sdd1"), filepath.Join(dm, "slaves", "sdd1"))
	link(dm, filepath.Join(sys, "block", "dm-0"))
	link(dm, filepath.Join(sys, "class", "block", "dm-0"))

	byLabel = filepath.Join(root, "by-label")
	link("../../sdb1", filepath.Join(byLabel, `VALV\x20BACKUP`))
	link("../../dm-0", filepath.Join(byLabel, "Arkiv"))
	link("../../sda1", filepath.Join(byLabel, "data"))
	return sys, byLabel
}

func TestFindRemovableMedia(t *testing.T) {
	sys, byLabel := fixtureSys(t)
	s := System{Mountinfo: "testdata/mountinfo", Sys: sys, ByLabel: byLabel,
		Free: func(p string) (int64, error) {
			if strings.HasSuffix(p, "SD") {
				return 0, errors.New("gone")
			}
			return int64(len(p)) << 20, nil
		}}
	got, err := s.Find()
	if err != nil {
		t.Fatal(err)
	}
	want := []Medium{
		{MountPoint: "/media/anna/Arkiv", Device: "dm-0", Disk: "sdd", Label: "Arkiv", FSType: "ext4", Size: 62515200 * 512, Free: 17 << 20, USB: true},
		{MountPoint: "/media/anna/SD", Device: "mmcblk0p1", Disk: "mmcblk0", Label: "SD", FSType: "exfat", Size: 62519296 * 512, Free: -1, USB: true},
		{MountPoint: "/media/anna/VALV BACKUP", Device: "sdb1", Disk: "sdb", Label: "VALV BACKUP", FSType: "vfat", Size: 62519296 * 512, Free: 23 << 20, USB: true},
		{MountPoint: "/media/anna/disk2", Device: "sdc1", Disk: "sdc", Label: "disk2", FSType: "ext4", Size: 62519296 * 512, Free: 17 << 20, USB: true, ReadOnly: true},
	}
	if len(got) != len(want) {
		t.Fatalf("found %d media, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("medium %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestParseMountinfo(t *testing.T) {
	f, err := os.Open("testdata/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ms, err := ParseMountinfo(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 11 {
		t.Fatalf("%d mounts, want 11", len(ms))
	}
	m := ms[5]
	if m.MountPoint != "/media/anna/VALV BACKUP" || m.Major != 8 || m.Minor != 17 || m.FSType != "vfat" || m.Source != "/dev/sdb1" || m.Root != "/" {
		t.Fatalf("mount 5: %+v", m)
	}
	bad, _ := os.Open("testdata/mountinfo-bad")
	defer bad.Close()
	if _, err := ParseMountinfo(bad); err == nil {
		t.Fatal("a line without the separator parsed")
	}
}

// The machine's own table parses, and Find runs on it (which media it
// finds depends on the machine).
func TestFindLocal(t *testing.T) {
	if _, err := os.Stat(Local.Mountinfo); err != nil {
		t.Skip("no /proc")
	}
	if _, err := Local.Find(); err != nil {
		t.Fatal(err)
	}
}

func FuzzParseMountinfo(f *testing.F) {
	b, _ := os.ReadFile("testdata/mountinfo")
	f.Add(string(b))
	f.Add(`36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`)
	f.Add(`1 1 1:1 /a\ /b\04 rw - x y z`)
	f.Fuzz(func(t *testing.T, s string) {
		ParseMountinfo(strings.NewReader(s))
		unescape(s)
		unescapeHex(s)
	})
}

// TestLabelsPrintable (R2-L2): a file system label is chosen by whoever
// formatted the stick, and a mount point is made from it. Neither may
// carry terminal control sequences, line breaks or bidirectional
// overrides into what "valv backup --media" prints (a forged line, a
// retitled terminal, a name shown reversed).
func TestLabelsPrintable(t *testing.T) {
	sys, byLabel := fixtureSys(t)
	os.Remove(filepath.Join(byLabel, `VALV\x20BACKUP`))
	if err := os.Symlink("../../sdb1", filepath.Join(byLabel, `\x1b]0;owned\x07EVIL\x0a\x2fmedia\x2fx\x09\xe2\x80\xaegpj.exe`)); err != nil {
		t.Fatal(err)
	}
	mi := filepath.Join(t.TempDir(), "mountinfo")
	if err := os.WriteFile(mi, []byte(`40 27 8:17 / /media/anna/A\033[2J\012fake\134line rw - vfat /dev/sdb1 rw`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := System{Mountinfo: mi, Sys: sys, ByLabel: byLabel, Free: func(string) (int64, error) { return 1, nil }}.Find()
	if err != nil || len(got) != 1 {
		t.Fatalf("%v %+v", err, got)
	}
	if want := "/media/anna/A\x1b[2J\nfake\\line"; got[0].MountPoint != want {
		t.Errorf("mount point %q, want %q (the real path)", got[0].MountPoint, want)
	}
	for _, s := range []string{got[0].Label, Printable(got[0].MountPoint)} {
		if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\u202e' }) {
			t.Errorf("%q holds a control character", s)
		}
	}
	if Printable("/media/anna/VALV BACKUP") != "/media/anna/VALV BACKUP" {
		t.Error("a plain path is changed")
	}
}
