package service

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"time"

	"filippo.io/age"

	"github.com/valv-vault/valv/store"
	"github.com/valv-vault/valv/store/intake"
)

// demoIntake are the sealed intake items of the demo vault, sealed to the
// first compartment (as a front desk would with valv intake seal).
var demoIntake = []struct{ name, content string }{
	{"inskannad-fullmakt.txt", "Fullmakt\nUndertecknad av kunden vid besöket.\n"},
	{"kontoutdrag-mars.txt", "Kontoutdrag för mars.\nSaldo: 12 400 kr.\n"},
}

// sealDemoIntake seals the demo intake items to the first compartment's
// recipient in a temporary file each and imports them, so that the
// queue is not empty in demo mode.
func sealDemoIntake(sess *store.Session, dir string) error {
	comps, err := sess.Compartments()
	if err != nil || len(comps) == 0 {
		return err
	}
	first := comps[0]
	for _, c := range comps {
		if c.Name == demoCompartments[0] {
			first = c
		}
	}
	rs, err := sess.CompartmentRecipient(first.ID)
	if err != nil {
		return err
	}
	to, err := intake.ParseRecipient(rs)
	if err != nil {
		return err
	}
	for i, it := range demoIntake {
		path := filepath.Join(dir, "intake"+intake.Ext)
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		content := []byte(it.content)
		h := &intake.Header{Name: it.name, MediaType: "text/plain", Size: int64(len(content)),
			Sealed: time.Now().UTC().Add(time.Duration(i-len(demoIntake)) * time.Hour).Truncate(time.Second)}
		err = intake.Seal(f, []*age.X25519Recipient{to}, h, bytes.NewReader(content), nil)
		if err == nil {
			_, err = f.Seek(0, 0)
		}
		if err == nil {
			_, err = sess.Vault().ImportIntake(context.Background(), f, nil)
		}
		f.Close()
		os.Remove(path)
		if err != nil {
			return err
		}
	}
	return nil
}
