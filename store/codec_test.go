package store

import (
	"reflect"
	"testing"
	"time"
)

func TestCodecRoundTrip(t *testing.T) {
	r := &storedRecord{Version: 3, Time: time.Unix(1700000000, 5).UTC(), Holder: newID(), Customer: testCustomer("Åsa")}
	got, err := decodeRecord(appendRecord(nil, r))
	if err != nil || !reflect.DeepEqual(got, r) {
		t.Fatalf("record round trip: %v\n%+v\n%+v", err, got, r)
	}
	e := Entry{Seq: 7, Time: time.Unix(1700000000, 9).UTC(), Holder: newID(), Action: ActionReveal, Object: "K7Q3-MX9R-F", Count: -2}
	ge, err := decodeEntry(appendEntry(nil, &e))
	if err != nil || ge != e {
		t.Fatalf("entry round trip: %v %+v", err, ge)
	}
	for _, p := range [][]byte{nil, {2}, {1, 0xff}, append(appendEntry(nil, &e), 0)} {
		if _, err := decodeEntry(p); err == nil {
			t.Errorf("decodeEntry(%x) accepted", p)
		}
	}
}

// FuzzDecode: crafted plaintexts (which only a key holder could seal)
// give an error, never a panic or a huge allocation.
func FuzzDecode(f *testing.F) {
	f.Add(appendRecord(nil, &storedRecord{Version: 1, Customer: testCustomer("x")}))
	f.Add(appendEntry(nil, &Entry{Action: ActionView}))
	f.Add([]byte{1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, p []byte) {
		if r, err := decodeRecord(p); err == nil {
			if _, err := decodeRecord(appendRecord(nil, r)); err != nil {
				t.Fatal(err)
			}
		}
		decodeEntry(p)
		unpad(p)
	})
}
