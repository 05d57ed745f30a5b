//go:build !linux

package store

// diskPacer does nothing outside Linux (see disk_pacer_linux.go).
type diskPacer struct{}

func startDiskPacer(string) *diskPacer   { return nil }
func (*diskPacer) reserve(int64)         {}
func (*diskPacer) stop()                 {}
func (*diskPacer) dropBehind([]mapRange) {}
