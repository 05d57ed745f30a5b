package card

import "errors"

// tlv is one BER-TLV element with a one-byte tag, which is all the PIV
// answers read here use.
type tlv struct {
	tag   byte
	value []byte
}

var errTLV = errors.New("malformed TLV")

// parseTLVs splits b into consecutive elements (lengths in one, two or
// three bytes).
func parseTLVs(b []byte) ([]tlv, error) {
	var out []tlv
	for len(b) > 0 {
		if len(b) < 2 {
			return nil, errTLV
		}
		tag, n, rest := b[0], int(b[1]), b[2:]
		switch {
		case n == 0x81 && len(rest) >= 1:
			n, rest = int(rest[0]), rest[1:]
		case n == 0x82 && len(rest) >= 2:
			n, rest = int(rest[0])<<8|int(rest[1]), rest[2:]
		case n >= 0x80:
			return nil, errTLV
		}
		if n > len(rest) {
			return nil, errTLV
		}
		out = append(out, tlv{tag: tag, value: rest[:n:n]})
		b = rest[n:]
	}
	return out, nil
}

// encodeTLV encodes one element (values up to 64 KiB).
func encodeTLV(tag byte, value []byte) []byte {
	n := len(value)
	var out []byte
	switch {
	case n < 0x80:
		out = []byte{tag, byte(n)}
	case n < 0x100:
		out = []byte{tag, 0x81, byte(n)}
	default:
		out = []byte{tag, 0x82, byte(n >> 8), byte(n)}
	}
	return append(out, value...)
}
