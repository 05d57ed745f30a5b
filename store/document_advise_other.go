//go:build !linux

package store

// adviseWillNeed is a hint that only Linux gets.
func adviseWillNeed([]byte) {}
