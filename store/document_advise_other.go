//go:build !linux

package store

import "os"

var pageSize = os.Getpagesize()

// adviseWillNeed is a hint that only Linux gets.
func adviseWillNeed([]byte) {}

// dropPages is a hint that only Linux gets.
func dropPages(txMap, int64, int64) {}
