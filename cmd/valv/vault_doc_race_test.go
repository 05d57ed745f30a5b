//go:build race

package main

// docRace reports a build with the race detector, under which scrypt at
// work factor 18 takes several seconds per passphrase.
const docRace = true
