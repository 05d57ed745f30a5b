//go:build !race

package main

const docRace = false
