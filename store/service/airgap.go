package service

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// SysClassNet is where Linux lists the network interfaces.
const SysClassNet = "/sys/class/net"

// Interface flags of /sys/class/net/*/flags (linux/if.h).
const (
	iffUp       = 0x1
	iffLoopback = 0x8
)

// An Interface is a network interface that is not loopback and is
// switched on.
type Interface struct {
	Name     string
	Link     bool // operstate up (or unknown, as tunnels report): it can carry traffic
	Wireless bool
}

// AirGapStatus is what the window shows about the machine's network:
// Valv is meant for a computer with no network at all.
type AirGapStatus struct {
	// Up lists the interfaces, other than loopback, that are switched on,
	// by name.
	Up []Interface
	// Unknown is set when the interfaces could not be read (no /sys).
	Unknown bool
}

// Isolated reports whether no interface can carry traffic.
func (a AirGapStatus) Isolated() bool {
	return !a.Unknown && !slices.ContainsFunc(a.Up, func(i Interface) bool { return i.Link })
}

// CheckAirGap reads the interfaces under dir (SysClassNet, or a copy of
// its layout in tests): for each, its flags (hex) and operstate. It opens
// no socket.
func CheckAirGap(dir string) AirGapStatus {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return AirGapStatus{Unknown: true}
	}
	var st AirGapStatus
	for _, e := range entries {
		name := e.Name()
		p := filepath.Join(dir, name)
		flags, err := readSmallFile(filepath.Join(p, "flags"))
		if err != nil {
			continue // not an interface folder
		}
		f, err := strconv.ParseUint(strings.TrimPrefix(flags, "0x"), 16, 32)
		if err != nil || f&iffLoopback != 0 || f&iffUp == 0 {
			continue
		}
		oper, _ := readSmallFile(filepath.Join(p, "operstate"))
		i := Interface{Name: name, Link: oper == "up" || oper == "unknown"}
		if _, err := os.Stat(filepath.Join(p, "wireless")); err == nil {
			i.Wireless = true
		} else if _, err := os.Stat(filepath.Join(p, "phy80211")); err == nil {
			i.Wireless = true
		}
		st.Up = append(st.Up, i)
	}
	slices.SortFunc(st.Up, func(a, b Interface) int { return strings.Compare(a.Name, b.Name) })
	return st
}

// readSmallFile reads a one-line /sys attribute.
func readSmallFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b := make([]byte, 64)
	n, err := f.Read(b)
	if n == 0 && err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b[:n])), nil
}

// AirGap reports the machine's network interfaces (SysClassNet).
func (s *Service) AirGap() AirGapStatus { return CheckAirGap(SysClassNet) }
