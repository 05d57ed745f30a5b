package pcsc

import "fmt"

// StatusError is a status word other than 9000 from the card.
type StatusError struct {
	SW uint16
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("pcsc: the card answered status %04X", e.SW)
}

// Transmitter sends one APDU and returns the response with its status word.
type Transmitter interface {
	Transmit(apdu []byte) ([]byte, error)
}

// Do sends the short APDU CLA=00 INS P1 P2 [Lc data] (no Le) through t,
// collects a response split with 61xx through GET RESPONSE, and returns
// the data, or a *StatusError for a status word other than 9000.
func Do(t Transmitter, ins, p1, p2 byte, data []byte) ([]byte, error) {
	if len(data) > 255 {
		return nil, fmt.Errorf("pcsc: %d bytes of data do not fit a short APDU", len(data))
	}
	cmd := []byte{0x00, ins, p1, p2}
	if len(data) > 0 {
		cmd = append(cmd, byte(len(data)))
		cmd = append(cmd, data...)
	}
	var out []byte
	for range 64 { // a YubiKey object is at most 3052 bytes: 12 parts
		resp, err := t.Transmit(cmd)
		if err != nil {
			return nil, err
		}
		n := len(resp)
		out = append(out, resp[:n-2]...)
		sw := uint16(resp[n-2])<<8 | uint16(resp[n-1])
		switch {
		case sw == 0x9000:
			return out, nil
		case sw>>8 == 0x61:
			cmd = []byte{0x00, 0xc0, 0x00, 0x00, byte(sw)}
		default:
			return nil, &StatusError{SW: sw}
		}
	}
	return nil, fmt.Errorf("pcsc: the card kept answering 61xx")
}
