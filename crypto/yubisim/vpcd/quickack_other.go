//go:build !linux

package vpcd

import "net"

// quickAck is a no-op outside Linux; see vpcd_linux.go.
func quickAck(net.Conn) {}
