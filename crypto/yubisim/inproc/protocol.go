package inproc

import "encoding/binary"

// The wire format of pcsc-lite 1.9 (winscard_msg.h, protocol 4.4). Every
// request is a header {uint32 size; uint32 command} followed by a fixed-size
// struct of `size` bytes; SCARD_TRANSMIT and SCARD_CONTROL are followed by
// the command bytes. Replies are the same struct with its fields filled in,
// without a header. All integers are in the host's byte order, which for
// every platform Valv supports is little-endian.

const (
	protocolMajor = 4
	protocolMinor = 4

	maxReaderName   = 128 // MAX_READERNAME
	maxATRSize      = 33  // MAX_ATR_SIZE
	maxReaders      = 16  // PCSCLITE_MAX_READERS_CONTEXTS
	readerStateSize = 184 // sizeof(READER_STATE): name, 3×u32, ATR, pad, 2×u32
	maxBufferSize   = 264 // MAX_BUFFER_SIZE
	maxExtended     = 4 + 3 + (1 << 16) + 3 + 2
)

// Commands (enum pcsc_msg_commands).
const (
	cmdEstablishContext  = 0x01
	cmdReleaseContext    = 0x02
	cmdListReaders       = 0x03
	cmdConnect           = 0x04
	cmdReconnect         = 0x05
	cmdDisconnect        = 0x06
	cmdBeginTransaction  = 0x07
	cmdEndTransaction    = 0x08
	cmdTransmit          = 0x09
	cmdControl           = 0x0A
	cmdStatus            = 0x0B
	cmdGetStatusChange   = 0x0C
	cmdCancel            = 0x0D
	cmdCancelTransaction = 0x0E
	cmdGetAttrib         = 0x0F
	cmdSetAttrib         = 0x10
	cmdVersion           = 0x11
	cmdGetReadersState   = 0x12
	cmdWaitReaderState   = 0x13
	cmdStopWaiting       = 0x14
)

// Sizes of the request structs, indexed by command.
var structSize = map[uint32]int{
	cmdEstablishContext: 12, // dwScope, hContext, rv
	cmdReleaseContext:   8,  // hContext, rv
	cmdConnect:          4 + maxReaderName + 5*4,
	cmdReconnect:        24, // hCard, share, preferred, init, active, rv
	cmdDisconnect:       12, // hCard, disposition, rv
	cmdBeginTransaction: 8,  // hCard, rv
	cmdEndTransaction:   12, // hCard, disposition, rv
	cmdTransmit:         32, // hCard, sendPci{proto,len}, cbSend, recvPci{proto,len}, cbRecv, rv
	cmdControl:          24, // hCard, code, cbSend, cbRecv, returned, rv
	cmdStatus:           8,  // hCard, rv
	cmdCancel:           8,  // hContext, rv
	cmdGetAttrib:        4 + 4 + maxBufferSize + 4 + 4,
	cmdSetAttrib:        4 + 4 + maxBufferSize + 4 + 4,
	cmdVersion:          12, // major, minor, rv
	cmdGetReadersState:  0,
	cmdWaitReaderState:  0,
	cmdStopWaiting:      0,
}

// Return codes (pcsclite.h).
const (
	scardSuccess             = 0x00000000
	scardEInvalidHandle      = 0x80100003
	scardEInvalidParameter   = 0x80100004
	scardEUnknownReader      = 0x80100009
	scardESharingViolation   = 0x8010000B
	scardENoSmartcard        = 0x8010000C
	scardEInvalidValue       = 0x80100011
	scardENotTransacted      = 0x80100016
	scardEUnsupportedFeature = 0x8010001F
	scardWRemovedCard        = 0x80100069
	scardFInternalError      = 0x80100001
)

// Reader state bits and protocols.
const (
	stateAbsent     = 0x0002
	statePresent    = 0x0004
	statePowered    = 0x0010
	stateNegotiable = 0x0020

	protocolT1 = 0x0002

	shareExclusive = 1
	shareShared    = 2
	shareDirect    = 3

	leaveCard   = 0
	resetCard   = 1
	unpowerCard = 2
)

// le is the byte order of the wire structs.
var le = binary.LittleEndian

func u32(b []byte, off int) uint32       { return le.Uint32(b[off:]) }
func putU32(b []byte, off int, v uint32) { le.PutUint32(b[off:], v) }

// cString returns the NUL-terminated string at the start of b.
func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
