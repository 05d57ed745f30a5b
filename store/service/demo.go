package service

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"time"

	"github.com/valv-vault/valv/crypto/card"
	"github.com/valv-vault/valv/crypto/recovery"
	"github.com/valv-vault/valv/store"
)

// The demo card's PIN and PUK after enrolment. Enrolment refuses the
// factory values (123456, 12345678), as it does for a real card; demo
// mode shows these on screen: the demo card guards nothing.
const (
	demoPIN = "246810"
	demoPUK = "13572468"

	factoryPIN = card.DemoPIN // the simulated card's factory PIN
	factoryPUK = "12345678"
)

// Demo vault contents.
const (
	demoCustomers = 200
	demoSeed      = 20260115
	demoAdmin     = "Demo Admin"
	// DemoBlankSerial is a second simulated card, blank (factory PIN and
	// PUK), to try enrolling a key holder's card with.
	DemoBlankSerial = 10000002
)

var demoCompartments = []string{"Kunder Norr", "Kunder Syd"}

// DemoPIN is the demo card's PIN, or "" outside demo mode.
func (s *Service) DemoPIN() string {
	if s.sim == nil {
		return ""
	}
	return demoPIN
}

// DemoPUK is the demo card's PUK, or "" outside demo mode.
func (s *Service) DemoPUK() string {
	if s.sim == nil {
		return ""
	}
	return demoPUK
}

// DemoRecoveryFile is the path of the demo vault's recovery key file, or
// "" outside demo mode. Close removes it with the rest.
func (s *Service) DemoRecoveryFile() string {
	if s.demoDir == "" {
		return ""
	}
	return filepath.Join(s.demoDir, "recovery-key.txt")
}

// startDemo makes a temporary folder, serves the simulated card from it
// (and a blank second card), and builds a vault in it: the card enrolled
// as the first admin (screened, NDA on file), two compartments, made-up
// customers and a few documents. The session used to build it is locked
// again.
func (s *Service) startDemo() error {
	dir, err := os.MkdirTemp("", "valv-demo-")
	if err != nil {
		return fmt.Errorf("making the demo folder: %w", err)
	}
	s.demoDir = dir
	sim, err := card.StartSimulator(dir)
	if err != nil {
		return fmt.Errorf("starting the demo card: %w", err)
	}
	s.sim = sim
	s.vaultDir = filepath.Join(dir, "vault")
	if _, err := sim.AddCard(DemoBlankSerial); err != nil {
		return err
	}

	cs, err := card.Open(card.DemoSerial)
	if err != nil {
		return fmt.Errorf("opening the demo card: %w", err)
	}
	defer cs.Close()
	e, err := cs.Enrol(card.EnrolOptions{
		PIN: factoryPIN, PUK: factoryPUK, NewPIN: demoPIN, NewPUK: demoPUK,
		Name: demoAdmin, Touch: card.TouchNever,
	})
	if err != nil {
		return fmt.Errorf("enrolling the demo card: %w", err)
	}
	key, err := recovery.Generate()
	if err != nil {
		return err
	}
	if err := key.WriteFile(s.DemoRecoveryFile()); err != nil {
		return err
	}
	signer, err := cs.Signer()
	if err != nil {
		return err
	}
	day := time.Now().UTC().Truncate(24 * time.Hour)
	v, err := store.Create(s.vaultDir, key.Identity(), store.HolderInfo{
		Name: demoAdmin, Serial: e.Serial, Slot: e.Slot, Recipient: e.Recipient,
		SigningKey: e.SigningKey, Role: store.RoleAdmin, Signer: signer,
		Staff: &store.StaffInfo{
			Name: demoAdmin, Title: "Compliance officer (demo)",
			Screening:   store.Screening{Status: store.ScreeningPassed, Date: day, By: "Demo security officer"},
			NDASigned:   day,
			NDADocument: []byte("Demo NDA: signed by the demo admin. Not a real document.\n"),
		},
	})
	if err != nil {
		return fmt.Errorf("creating the demo vault: %w", err)
	}
	s.v = v
	id, err := cs.Identity()
	if err != nil {
		return err
	}
	sess, err := v.Unlock(id, signer)
	if err != nil {
		return err
	}
	if err := fillDemo(sess); err != nil {
		sess.Lock()
		return fmt.Errorf("filling the demo vault: %w", err)
	}
	if err := sealDemoIntake(sess, dir); err != nil {
		sess.Lock()
		return fmt.Errorf("filling the demo vault: %w", err)
	}
	return sess.Lock()
}

// fillDemo makes the demo compartments, customers and documents.
func fillDemo(sess *store.Session) error {
	people := fakeCustomers(demoSeed, demoCustomers)
	per := (len(people) + len(demoCompartments) - 1) / len(demoCompartments)
	for i, name := range demoCompartments {
		cid, err := sess.CreateCompartment(name)
		if err != nil {
			return err
		}
		batch := people[i*per : min((i+1)*per, len(people))]
		codes, err := sess.AddCustomers(cid, batch)
		if err != nil {
			return err
		}
		if err := addDocument(sess, codes[0], "avtal.txt", "text/plain",
			[]byte("Avtal om förvaring av handlingar.\nUndertecknat i två exemplar.\n")); err != nil {
			return err
		}
		if err := addDocument(sess, codes[0], "id-kopia.png", "image/png", demoPNG()); err != nil {
			return err
		}
		if err := addDocument(sess, codes[1], "anteckningar.txt", "text/plain",
			[]byte("Kunden ringde om sitt ärende.\n")); err != nil {
			return err
		}
		// Two customers past their retention date, for the retention
		// list.
		for j, code := range codes[len(codes)-2:] {
			if _, err := sess.EditCustomer(code, func(c *Customer) error {
				c.RetainUntil = fmt.Sprintf("2024-0%d-1%d", 3+i, j)
				return nil
			}); err != nil {
				return err
			}
		}
		// One customer with a second version, for the history view.
		if _, err := sess.EditCustomer(codes[0], func(c *Customer) error {
			c.Notes = "Adress ändrad efter flytt."
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// demoPNG is a small picture standing in for a scanned ID.
func demoPNG() []byte {
	img := image.NewNRGBA(image.Rect(0, 0, 64, 40))
	for y := range 40 {
		for x := range 64 {
			c := color.NRGBA{R: 0xE8, G: 0xEE, B: 0xF4, A: 0xFF}
			if y < 8 || (x > 6 && x < 22 && y > 14 && y < 34) {
				c = color.NRGBA{R: 0x1E, G: 0x40, B: 0x8A, A: 0xFF}
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}
