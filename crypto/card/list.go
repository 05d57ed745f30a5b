package card

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/go-piv/piv-go/v2/piv"
	"github.com/valv-vault/valv/crypto/yubisim"
)

// Info describes one card present in a reader.
type Info struct {
	Serial    uint32
	Firmware  string // "5.7.1"
	Simulated bool   // a yubisim card: software keys, not secure

	reader string
}

// String names the card the way Valv shows it everywhere.
func (i Info) String() string {
	s := fmt.Sprintf("YubiKey %d (firmware %s)", i.Serial, i.Firmware)
	if i.Simulated {
		s += " SIMULATED"
	}
	return s
}

// ErrNoService means no PC/SC service answered: pcscd is not running or not
// installed.
var ErrNoService = errors.New("the smart card service (pcscd) is not running: start it, or run Valv in demo mode")

// List returns the PIV cards present, ordered by serial. A reader whose card
// cannot be read as a PIV card (another kind of smart card, or one held open
// by another program) is left out; a card with an open [Session] in this
// process is listed.
func List() ([]Info, error) {
	readers, err := piv.Cards()
	if err != nil {
		if isNoReaders(err) {
			return nil, nil
		}
		if isNoService(err) {
			return nil, ErrNoService
		}
		return nil, fmt.Errorf("listing smart card readers: %w", err)
	}
	var cards []Info
	for _, r := range readers {
		// A card this process has open is held exclusively: report it
		// from its session instead of probing it.
		if s := openSession(r); s != nil {
			cards = append(cards, s.info)
			continue
		}
		info, err := probe(r)
		if err != nil {
			continue
		}
		cards = append(cards, info)
	}
	slices.SortFunc(cards, func(a, b Info) int { return int(int64(a.Serial) - int64(b.Serial)) })
	return cards, nil
}

func probe(reader string) (Info, error) {
	yk, err := piv.Open(reader)
	if err != nil {
		return Info{}, err
	}
	defer yk.Close()
	return describe(yk, reader)
}

// describe reads what Info shows from an open card.
func describe(yk *piv.YubiKey, reader string) (Info, error) {
	serial, err := yk.Serial()
	if err != nil {
		return Info{}, err
	}
	v := yk.Version()
	info := Info{
		Serial:   serial,
		Firmware: fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch),
		reader:   reader,
	}
	if cert, err := yk.AttestationCertificate(); err == nil {
		info.Simulated = slices.Contains(cert.Issuer.Organization, yubisim.AttestationOrganization)
	}
	return info, nil
}

// piv-go wraps PC/SC return codes in an unexported type whose message is
// pcsc-lite's text for the code (piv/pcsc_errors.go); matching the text is
// the only way in, and a test pins it.
func isNoReaders(err error) bool {
	return strings.Contains(err.Error(), "cannot find a smart card reader")
}

func isNoService(err error) bool {
	return strings.Contains(err.Error(), "resource manager is not running")
}
