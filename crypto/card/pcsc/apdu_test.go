package pcsc

import (
	"bytes"
	"errors"
	"testing"
)

// script answers each APDU with the next response and records the APDUs.
type script struct {
	sent    [][]byte
	answers [][]byte
}

func (s *script) Transmit(apdu []byte) ([]byte, error) {
	s.sent = append(s.sent, apdu)
	if len(s.answers) == 0 {
		return nil, errors.New("no more answers")
	}
	a := s.answers[0]
	s.answers = s.answers[1:]
	return a, nil
}

func TestDoCollectsGetResponse(t *testing.T) {
	s := &script{answers: [][]byte{{1, 2, 0x61, 0x02}, {3, 4, 0x90, 0x00}}}
	got, err := Do(s, 0xcb, 0x3f, 0xff, []byte{0x5c, 0x01, 0x7e})
	if err != nil || !bytes.Equal(got, []byte{1, 2, 3, 4}) {
		t.Fatalf("Do = % x, %v", got, err)
	}
	want := [][]byte{{0x00, 0xcb, 0x3f, 0xff, 0x03, 0x5c, 0x01, 0x7e}, {0x00, 0xc0, 0x00, 0x00, 0x02}}
	for i := range want {
		if !bytes.Equal(s.sent[i], want[i]) {
			t.Errorf("APDU %d = % x, want % x", i, s.sent[i], want[i])
		}
	}
}

func TestDoStatusError(t *testing.T) {
	_, err := Do(&script{answers: [][]byte{{0x6a, 0x82}}}, 0xcb, 0x3f, 0xff, nil)
	var se *StatusError
	if !errors.As(err, &se) || se.SW != 0x6a82 {
		t.Fatalf("Do = %v, want status 6A82", err)
	}
	if _, err := Do(&script{}, 0xdb, 0, 0, make([]byte, 256)); err == nil {
		t.Error("256 bytes of data in a short APDU")
	}
}
