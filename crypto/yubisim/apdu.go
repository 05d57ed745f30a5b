package yubisim

import (
	"encoding/binary"
	"errors"
)

// Status words the applet answers with (ISO 7816-4, SP 800-73-4, Yubico).
const (
	swOK                = 0x9000
	swWrongLength       = 0x6700
	swMemoryFailure     = 0x6581
	swVerifyFail        = 0x63c0 // | retries left
	swSecurityStatus    = 0x6982
	swAuthBlocked       = 0x6983
	swConditionsNotMet  = 0x6985
	swWrongData         = 0x6a80
	swFileNotFound      = 0x6a82
	swNotEnoughMemory   = 0x6a84
	swWrongP1P2         = 0x6a86
	swReferenceNotFound = 0x6a88
	swInsNotSupported   = 0x6d00
	swClaNotSupported   = 0x6e00
)

// command is one parsed C-APDU.
type command struct {
	cla, ins, p1, p2 byte
	data             []byte
	ne               int  // maximum response length the terminal accepts
	extended         bool // sent as an extended-length APDU
}

// parseAPDU decodes the four ISO 7816-3 cases, short and extended.
// It returns swWrongLength for anything that is not exactly one of them.
func parseAPDU(b []byte) (command, uint16) {
	if len(b) < 4 {
		return command{}, swWrongLength
	}
	c := command{cla: b[0], ins: b[1], p1: b[2], p2: b[3], ne: 256}
	body := b[4:]
	switch {
	case len(body) == 0: // case 1
	case len(body) == 1: // case 2 short
		c.ne = shortLe(body[0])
	case body[0] != 0: // case 3 or 4 short
		lc := int(body[0])
		switch len(body) {
		case 1 + lc:
		case 2 + lc:
			c.ne = shortLe(body[1+lc])
		default:
			return command{}, swWrongLength
		}
		c.data = body[1 : 1+lc]
	case len(body) == 3: // case 2 extended
		c.extended = true
		c.ne = extendedLe(body[1:3])
	case len(body) > 3: // case 3 or 4 extended
		c.extended = true
		c.ne = 65536
		lc := int(binary.BigEndian.Uint16(body[1:3]))
		if lc == 0 {
			return command{}, swWrongLength
		}
		switch len(body) {
		case 3 + lc:
		case 5 + lc:
			c.ne = extendedLe(body[3+lc:])
		default:
			return command{}, swWrongLength
		}
		c.data = body[3 : 3+lc]
	default:
		return command{}, swWrongLength
	}
	return c, 0
}

func shortLe(b byte) int {
	if b == 0 {
		return 256
	}
	return int(b)
}

func extendedLe(b []byte) int {
	if n := int(binary.BigEndian.Uint16(b)); n != 0 {
		return n
	}
	return 65536
}

// tlv is one BER-TLV element as the PIV applet uses them: tags of up to
// three bytes, definite lengths of up to three bytes.
type tlv struct {
	tag   uint32
	value []byte
}

var errTLV = errors.New("yubisim: malformed TLV")

// parseTLVs splits b into consecutive TLV elements (one level, no nesting).
func parseTLVs(b []byte) ([]tlv, error) {
	var out []tlv
	for len(b) > 0 {
		tag := uint32(b[0])
		b = b[1:]
		if tag&0x1f == 0x1f {
			for i := 0; ; i++ {
				if len(b) == 0 || i == 2 {
					return nil, errTLV
				}
				tag = tag<<8 | uint32(b[0])
				more := b[0]&0x80 != 0
				b = b[1:]
				if !more {
					break
				}
			}
		}
		if len(b) == 0 {
			return nil, errTLV
		}
		n := int(b[0])
		b = b[1:]
		if n > 0x80 {
			k := n & 0x7f
			if k > 3 || len(b) < k {
				return nil, errTLV
			}
			n = 0
			for _, x := range b[:k] {
				n = n<<8 | int(x)
			}
			b = b[k:]
		} else if n == 0x80 {
			return nil, errTLV
		}
		if len(b) < n {
			return nil, errTLV
		}
		out = append(out, tlv{tag, b[:n:n]})
		b = b[n:]
	}
	return out, nil
}

// parseSingleTLV parses b as exactly one TLV element with the given tag.
func parseSingleTLV(b []byte, tag uint32) ([]byte, bool) {
	t, err := parseTLVs(b)
	if err != nil || len(t) != 1 || t[0].tag != tag {
		return nil, false
	}
	return t[0].value, true
}

// tlvMap indexes elements by tag; with repeated tags the first one wins.
func tlvMap(ts []tlv) map[uint32][]byte {
	m := make(map[uint32][]byte, len(ts))
	for _, t := range ts {
		if _, ok := m[t.tag]; !ok {
			m[t.tag] = t.value
		}
	}
	return m
}

// encodeTLV encodes one element. Tags are written with as many bytes as
// they need (0x7f49 is two bytes, 0x5fc102 three).
func encodeTLV(tag uint32, value []byte) []byte {
	var out []byte
	switch {
	case tag > 0xffff:
		out = append(out, byte(tag>>16), byte(tag>>8), byte(tag))
	case tag > 0xff:
		out = append(out, byte(tag>>8), byte(tag))
	default:
		out = append(out, byte(tag))
	}
	n := len(value)
	switch {
	case n < 0x80:
		out = append(out, byte(n))
	case n <= 0xff:
		out = append(out, 0x81, byte(n))
	case n <= 0xffff:
		out = append(out, 0x82, byte(n>>8), byte(n))
	default:
		out = append(out, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(out, value...)
}

// concat joins byte slices into a new one.
func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
