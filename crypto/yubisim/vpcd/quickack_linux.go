package vpcd

import (
	"net"
	"syscall"
)

// quickAck makes the kernel acknowledge the next segments at once.
//
// Debian's vpcd (vsmartcard 3.3) sends the 2-byte length and the payload
// of a message in two send calls, without TCP_NODELAY. Nagle's algorithm
// then holds the payload until the length is acknowledged, and a delayed
// acknowledgement takes 40 ms: every APDU and ATR poll would take 44 ms.
// Linux forgets TCP_QUICKACK after a while, so it is set before every read.
func quickAck(conn net.Conn) {
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return
	}
	raw.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}
