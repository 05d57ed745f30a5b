package yubisim

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
)

// state is what a real key keeps in flash: everything that survives power
// off. The session (PIN verified, management key authenticated) is not here.
type state struct {
	serial  uint32
	version [3]byte

	pin, puk           []byte // 8 bytes, padded with FF
	pinTotal, pinLeft  int
	pukTotal, pukLeft  int
	mgmtAlg, mgmtTouch byte
	mgmtKey            []byte

	keys    map[byte]*slotKey
	objects map[uint32][]byte // object ID → stored value, the whole 53 TLV
}

// slotKey is a private key in a slot with its policies.
type slotKey struct {
	alg, pinPolicy, touchPolicy, origin byte
	priv                                crypto.PrivateKey
}

// factoryState makes a card as it leaves the (simulated) factory: default
// PIN, PUK and management key, a fresh attestation key and certificate, and
// the default data objects.
func factoryState(serial uint32, version [3]byte) (*state, error) {
	if serial == 0 {
		// Eight digits, like the serials printed on YubiKey 5s.
		n, err := rand.Int(rand.Reader, big.NewInt(90_000_000))
		if err != nil {
			return nil, err
		}
		serial = uint32(n.Int64()) + 10_000_000
	}
	st := &state{serial: serial, version: version}
	att, cert, err := newAttestation(serial, version)
	if err != nil {
		return nil, err
	}
	st.wipe(att, cert)
	return st, nil
}

// wipe restores the applet defaults, keeping the attestation key and its
// certificate (a real YubiKey's RESET keeps them too).
func (st *state) wipe(att *slotKey, attCert []byte) {
	st.pin, st.puk = bytes.Clone(defaultPIN), bytes.Clone(defaultPUK)
	st.pinTotal, st.pinLeft = defaultRetries, defaultRetries
	st.pukTotal, st.pukLeft = defaultRetries, defaultRetries
	st.mgmtAlg, st.mgmtTouch = defaultMgmtAlg(st.version), touchNever
	st.mgmtKey = bytes.Clone(defaultMgmtKey)
	st.keys = map[byte]*slotKey{}
	if att != nil {
		st.keys[slotAttestation] = att
	}
	st.objects = defaultObjects()
	if attCert != nil {
		st.objects[objAttestation] = attCert
	}
}

// errNoState says that the state file does not exist yet.
var errNoState = errors.New("yubisim: no saved state")

// stateFormat is the version of the JSON state file.
const stateFormat = 1

// stateFile is the JSON form of state. The file holds the PIN, PUK,
// management key and private keys in the clear: it is a simulator, and the
// file is written with mode 0600 for that reason only.
type stateFile struct {
	Format     int                `json:"format"`
	Serial     uint32             `json:"serial"`
	Firmware   [3]byte            `json:"firmware"`
	PIN        []byte             `json:"pin"`
	PUK        []byte             `json:"puk"`
	PINRetries [2]int             `json:"pin_retries"` // total, left
	PUKRetries [2]int             `json:"puk_retries"`
	MgmtAlg    byte               `json:"mgmt_alg"`
	MgmtTouch  byte               `json:"mgmt_touch"`
	MgmtKey    []byte             `json:"mgmt_key"`
	Keys       map[string]keyFile `json:"keys"`    // slot in hex, "9a"
	Objects    map[string][]byte  `json:"objects"` // object ID in hex, "5fc105"
}

type keyFile struct {
	Alg         byte   `json:"alg"`
	PINPolicy   byte   `json:"pin_policy"`
	TouchPolicy byte   `json:"touch_policy"`
	Origin      byte   `json:"origin"`
	PKCS8       []byte `json:"pkcs8"`
}

func (st *state) marshal() ([]byte, error) {
	f := stateFile{
		Format: stateFormat, Serial: st.serial, Firmware: st.version,
		PIN: st.pin, PUK: st.puk,
		PINRetries: [2]int{st.pinTotal, st.pinLeft},
		PUKRetries: [2]int{st.pukTotal, st.pukLeft},
		MgmtAlg:    st.mgmtAlg, MgmtTouch: st.mgmtTouch, MgmtKey: st.mgmtKey,
		Keys:    map[string]keyFile{},
		Objects: map[string][]byte{},
	}
	for slot, k := range st.keys {
		der, err := marshalPrivateKey(k.priv)
		if err != nil {
			return nil, err
		}
		f.Keys[fmt.Sprintf("%02x", slot)] = keyFile{k.alg, k.pinPolicy, k.touchPolicy, k.origin, der}
	}
	for id, v := range st.objects {
		f.Objects[fmt.Sprintf("%x", id)] = v
	}
	return json.MarshalIndent(f, "", "\t")
}

func unmarshalState(b []byte) (*state, error) {
	var f stateFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, err
	}
	if f.Format != stateFormat {
		return nil, fmt.Errorf("unknown format %d", f.Format)
	}
	st := &state{
		serial: f.Serial, version: f.Firmware, pin: f.PIN, puk: f.PUK,
		pinTotal: f.PINRetries[0], pinLeft: f.PINRetries[1],
		pukTotal: f.PUKRetries[0], pukLeft: f.PUKRetries[1],
		mgmtAlg: f.MgmtAlg, mgmtTouch: f.MgmtTouch, mgmtKey: f.MgmtKey,
		keys: map[byte]*slotKey{}, objects: map[uint32][]byte{},
	}
	if st.version[0] != 5 || len(st.pin) != 8 || len(st.puk) != 8 ||
		!retriesOK(st.pinTotal, st.pinLeft) || !retriesOK(st.pukTotal, st.pukLeft) ||
		mgmtKeyLen(st.mgmtAlg) != len(st.mgmtKey) {
		return nil, errors.New("invalid PIN, PUK, management key or version")
	}
	for s, kf := range f.Keys {
		slot, err := strconv.ParseUint(s, 16, 8)
		if err != nil || !isKeySlot(byte(slot)) && byte(slot) != slotAttestation {
			return nil, fmt.Errorf("invalid slot %q", s)
		}
		priv, err := parsePrivateKey(kf.PKCS8, kf.Alg)
		if err != nil {
			return nil, fmt.Errorf("slot %s: %v", s, err)
		}
		st.keys[byte(slot)] = &slotKey{kf.Alg, kf.PINPolicy, kf.TouchPolicy, kf.Origin, priv}
	}
	for s, v := range f.Objects {
		id, err := strconv.ParseUint(s, 16, 24)
		if err != nil {
			return nil, fmt.Errorf("invalid object %q", s)
		}
		st.objects[uint32(id)] = v
	}
	return st, nil
}

func retriesOK(total, left int) bool {
	return total >= 1 && total <= 255 && left >= 0 && left <= total
}

func loadState(path string) (*state, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNoState
	}
	if err != nil {
		return nil, err
	}
	st, err := unmarshalState(b)
	if err != nil {
		return nil, fmt.Errorf("yubisim: loading %s: %v", path, err)
	}
	return st, nil
}

// saveState replaces the file at path atomically: temporary file in the
// same directory, fsync, rename, fsync of the directory. Mode 0600.
func saveState(path string, st *state) error {
	b, err := st.marshal()
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // fails harmlessly after the rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
