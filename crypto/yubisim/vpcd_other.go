//go:build !linux

package yubisim

import "net"

// quickAck is a no-op outside Linux; see vpcd_linux.go.
func quickAck(net.Conn) {}
