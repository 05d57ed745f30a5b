package yubisim

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// Instructions the applet knows (SP 800-73-4 and Yubico's extensions).
const (
	insVerify        = 0x20
	insChangeRef     = 0x24
	insResetRetry    = 0x2c
	insGenerate      = 0x47
	insAuthenticate  = 0x87
	insSelect        = 0xa4
	insGetResponse   = 0xc0
	insGetData       = 0xcb
	insPutData       = 0xdb
	insGetMetadata   = 0xf7
	insGetSerial     = 0xf8
	insAttest        = 0xf9
	insSetPINRetries = 0xfa
	insReset         = 0xfb
	insGetVersion    = 0xfd
	insImportKey     = 0xfe
	insSetMgmtKey    = 0xff
)

// maxChainedCommand bounds the data of a command chain (CLA 10).
const maxChainedCommand = 64 << 10

// atr is the answer to reset of a YubiKey 5 NFC over USB, advertising T=1.
var atr = []byte{
	0x3b, 0xfd, 0x13, 0x00, 0x00, 0x81, 0x31, 0xfe, 0x15, 0x80, 0x73, 0xc0,
	0x21, 0xc0, 0x57, 0x59, 0x75, 0x62, 0x69, 0x4b, 0x65, 0x79, 0x40,
}

// pivAIDPrefix selects the applet: the NIST RID and PIX prefix. Clients send
// A0 00 00 03 08, A0 00 00 03 08 00 00 10 00 or the full version AID.
var pivAIDPrefix = []byte{0xa0, 0x00, 0x00, 0x03, 0x08}

// selectResponse is the application property template a YubiKey 5 answers
// SELECT with: 4F application identifier (PIX), 79 coexistent tag allocation
// authority with the NIST RID.
var selectResponse = []byte{
	0x61, 0x11,
	0x4f, 0x06, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00,
	0x79, 0x07, 0x4f, 0x05, 0xa0, 0x00, 0x00, 0x03, 0x08,
}

// Config says which card to simulate.
type Config struct {
	Serial    uint32 // 0: a random serial
	Version   string // firmware "5.7.1" (default) or e.g. "5.4.3"; decides the default management key algorithm (3DES before 5.7, AES-192 from 5.7)
	StatePath string // "" keeps the card in memory; otherwise loaded if it exists, created if not, and rewritten atomically after every state change, like a real key's flash
}

// Card is one simulated YubiKey with its PIV applet. All methods are safe
// for concurrent use; commands are processed one at a time.
type Card struct {
	mu   sync.Mutex
	path string
	st   *state
	sess session

	dirty   bool   // st changed during the current command
	chain   []byte // data of a command chain so far
	chainOn bool   // a command chain is open
	chainHd [3]byte
	pending []byte // response bytes left for GET RESPONSE
}

// session is the volatile security state: lost on power off or reset, kept
// across re-SELECT.
type session struct {
	pinVerified bool
	pinFresh    bool // a VERIFY not yet consumed by a PIN-policy "always" key
	mgmtAuthed  bool
	witness     []byte // expected decrypted witness of a mutual authentication
	challenge   []byte // challenge of a one-way (external) authentication
}

// New makes a card. With cfg.StatePath set it loads the card saved there or,
// if the file does not exist, makes a factory-fresh card and saves it.
func New(cfg Config) (*Card, error) {
	var ver [3]byte
	if cfg.Version != "" {
		v, err := parseVersion(cfg.Version)
		if err != nil {
			return nil, err
		}
		ver = v
	}
	c := &Card{path: cfg.StatePath}
	if c.path != "" {
		st, err := loadState(c.path)
		if err == nil {
			if cfg.Serial != 0 && cfg.Serial != st.serial {
				return nil, fmt.Errorf("yubisim: %s holds serial %d, not %d", c.path, st.serial, cfg.Serial)
			}
			if cfg.Version != "" && ver != st.version {
				return nil, fmt.Errorf("yubisim: %s holds firmware %d.%d.%d, not %s", c.path, st.version[0], st.version[1], st.version[2], cfg.Version)
			}
			c.st = st
			return c, nil
		}
		if !errors.Is(err, errNoState) {
			return nil, err
		}
	}
	if cfg.Version == "" {
		ver = [3]byte{5, 7, 1}
	}
	st, err := factoryState(cfg.Serial, ver)
	if err != nil {
		return nil, err
	}
	c.st = st
	if c.path != "" {
		if err := saveState(c.path, st); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func parseVersion(s string) ([3]byte, error) {
	var v [3]byte
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return v, fmt.Errorf("yubisim: firmware version %q is not major.minor.patch", s)
	}
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 8)
		if err != nil {
			return v, fmt.Errorf("yubisim: firmware version %q: %v", s, err)
		}
		v[i] = byte(n)
	}
	if v[0] != 5 {
		return v, fmt.Errorf("yubisim: firmware %q: only YubiKey 5 (5.x.y) is simulated", s)
	}
	return v, nil
}

// ATR returns the answer to reset of a YubiKey 5 NFC.
func (c *Card) ATR() []byte { return bytes.Clone(atr) }

// PowerOn clears the session, as inserting a key does.
func (c *Card) PowerOn() { c.clearSession() }

// PowerOff clears the session, as removing a key does.
func (c *Card) PowerOff() { c.clearSession() }

// Reset clears the session, as a warm reset does. It does not wipe the
// applet: that is the RESET command (INS FB).
func (c *Card) Reset() { c.clearSession() }

func (c *Card) clearSession() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sess = session{}
	c.chain, c.chainOn, c.pending = nil, false, nil
}

// Serial returns the card's serial number.
func (c *Card) Serial() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st.serial
}

// Version returns the simulated firmware version.
func (c *Card) Version() (major, minor, patch byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st.version[0], c.st.version[1], c.st.version[2]
}

// SoftwareKey returns the private key in a slot (nil if the slot is empty),
// so that tests can check the card's cryptography independently. A real
// YubiKey can never do this.
func (c *Card) SoftwareKey(slot byte) crypto.PrivateKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k := c.st.keys[slot]; k != nil {
		return k.priv
	}
	return nil
}

func (c *Card) atLeast(major, minor, patch byte) bool {
	v := c.st.version
	return v[0] > major || v[0] == major && (v[1] > minor || v[1] == minor && v[2] >= patch)
}

// changed marks the persistent state as modified by the current command.
func (c *Card) changed() { c.dirty = true }

// Transmit processes one C-APDU and returns the R-APDU: response data, if
// any, followed by SW1 SW2. It never returns nil and never panics on
// malformed input.
func (c *Card) Transmit(capdu []byte) (rapdu []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer func() {
		// Last line of defence for a long-running vpcd process: a bug must
		// not kill the reader. 6F00 is never answered otherwise, so the
		// fuzz test treats it as a failure.
		if r := recover(); r != nil {
			c.dirty = false
			rapdu = statusWord(0x6f00)
		}
	}()

	cmd, sw := parseAPDU(capdu)
	if sw != 0 {
		return statusWord(sw)
	}
	if cmd.cla&^0x10 != 0 {
		return statusWord(swClaNotSupported)
	}
	if cmd.ins == insGetResponse {
		return c.getResponse(cmd)
	}
	c.pending = nil

	hd := [3]byte{cmd.ins, cmd.p1, cmd.p2}
	if c.chainOn && hd != c.chainHd {
		c.chain, c.chainOn = nil, false // a new command abandons the chain
	}
	if cmd.cla&0x10 != 0 {
		if len(c.chain)+len(cmd.data) > maxChainedCommand {
			c.chain, c.chainOn = nil, false
			return statusWord(swWrongLength)
		}
		c.chain = append(c.chain, cmd.data...)
		c.chainOn, c.chainHd = true, hd
		return statusWord(swOK)
	}
	if c.chainOn {
		cmd.data = append(c.chain, cmd.data...)
		c.chain, c.chainOn = nil, false
	}

	data, sw := c.dispatch(cmd)
	if c.dirty {
		c.dirty = false
		if c.path != "" {
			if err := saveState(c.path, c.st); err != nil {
				return statusWord(swMemoryFailure)
			}
		}
	}
	if sw != swOK {
		return statusWord(sw)
	}
	return c.respond(data, cmd)
}

// respond sends data in one piece if the terminal accepts it (extended
// APDUs, or up to 256 bytes), otherwise the first part with 61xx and the
// rest through GET RESPONSE.
func (c *Card) respond(data []byte, cmd command) []byte {
	if len(data) <= cmd.ne {
		return concat(data, []byte{0x90, 0x00})
	}
	c.pending = bytes.Clone(data[cmd.ne:])
	return append(bytes.Clone(data[:cmd.ne]), moreBytes(len(c.pending))...)
}

func (c *Card) getResponse(cmd command) []byte {
	if cmd.cla != 0 || len(cmd.data) != 0 {
		return statusWord(swWrongData)
	}
	if c.pending == nil {
		return statusWord(swConditionsNotMet)
	}
	if cmd.p1 != 0 || cmd.p2 != 0 {
		return statusWord(swWrongP1P2)
	}
	n := min(cmd.ne, len(c.pending))
	out := append([]byte(nil), c.pending[:n]...)
	c.pending = c.pending[n:]
	if len(c.pending) == 0 {
		c.pending = nil
		return append(out, 0x90, 0x00)
	}
	return append(out, moreBytes(len(c.pending))...)
}

func moreBytes(n int) []byte {
	if n > 0xff {
		n = 0
	}
	return []byte{0x61, byte(n)}
}

func statusWord(sw uint16) []byte { return []byte{byte(sw >> 8), byte(sw)} }

// dispatch runs one complete command and returns its data and status word.
func (c *Card) dispatch(cmd command) ([]byte, uint16) {
	switch cmd.ins {
	case insSelect:
		return c.selectApplet(cmd)
	case insGetVersion:
		return c.st.version[:], swOK
	case insGetSerial:
		s := c.st.serial
		return []byte{byte(s >> 24), byte(s >> 16), byte(s >> 8), byte(s)}, swOK
	case insVerify:
		return nil, c.verify(cmd)
	case insChangeRef:
		return nil, c.changeReference(cmd)
	case insResetRetry:
		return nil, c.resetRetry(cmd)
	case insSetPINRetries:
		return nil, c.setPINRetries(cmd)
	case insReset:
		return nil, c.resetApplet(cmd)
	case insSetMgmtKey:
		return nil, c.setMgmtKey(cmd)
	case insAuthenticate:
		if cmd.p2 == slotCardManagement {
			return c.authenticateMgmt(cmd)
		}
		return c.authenticateKey(cmd)
	case insGenerate:
		return c.generate(cmd)
	case insImportKey:
		return nil, c.importKey(cmd)
	case insGetData:
		return c.getData(cmd)
	case insPutData:
		return nil, c.putData(cmd)
	case insGetMetadata:
		if !c.atLeast(5, 3, 0) {
			return nil, swInsNotSupported
		}
		return c.metadata(cmd)
	case insAttest:
		return c.attest(cmd)
	}
	return nil, swInsNotSupported
}

// selectApplet answers SELECT by AID. Only the PIV applet exists here; the
// other YubiKey applets (management, OTP, OATH, OpenPGP, FIDO) answer 6A82,
// and a failed SELECT leaves the PIV applet selected. The PIV applet also
// counts as selected right after power on: the simulator does not model an
// "applet not selected" state.
func (c *Card) selectApplet(cmd command) ([]byte, uint16) {
	if cmd.p1 != 0x04 {
		return nil, swWrongP1P2
	}
	if !bytes.HasPrefix(cmd.data, pivAIDPrefix) {
		return nil, swFileNotFound
	}
	return bytes.Clone(selectResponse), swOK
}
