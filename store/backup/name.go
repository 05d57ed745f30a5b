package backup

import (
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/valv-vault/valv/store"
)

// A backup file is named
//
//	<vault id, 32 hex digits>-<UTC time, 20060102T150405Z>[-<n>].valvbak
//
// (-2, -3, … for a second backup of the same vault in the same second).
// Rotation touches only names of this form, and a file being written
// carries partialExt after it.
const (
	timeLayout = "20060102T150405Z"
	partialExt = ".partial"
)

var nameRE = regexp.MustCompile(`^([0-9a-f]{32})-(\d{8}T\d{6}Z)(?:-([1-9][0-9]{0,3}))?\.valvbak$`)

// FileName returns the name of a backup of vault taken at t; n > 1 is
// the n-th of the same second.
func FileName(vault store.ID, t time.Time, n int) string {
	s := fmt.Sprintf("%x-%s", vault[:], t.UTC().Format(timeLayout))
	if n > 1 {
		s += "-" + strconv.Itoa(n)
	}
	return s + Ext
}

// A Name is a parsed backup file name.
type Name struct {
	Vault store.ID
	Time  time.Time
	N     int // 1, or the n-th backup of the same second
}

// ParseName parses a backup file name (the base name, not a path).
func ParseName(name string) (Name, bool) {
	m := nameRE.FindStringSubmatch(name)
	if m == nil {
		return Name{}, false
	}
	id, err := store.ParseID(m[1])
	if err != nil {
		return Name{}, false
	}
	t, err := time.Parse(timeLayout, m[2])
	if err != nil {
		return Name{}, false
	}
	n := 1
	if m[3] != "" {
		n, _ = strconv.Atoi(m[3])
	}
	return Name{Vault: id, Time: t, N: n}, true
}
