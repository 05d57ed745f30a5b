package yubisim

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"
)

func TestStatePersistence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "card.json")
	c, err := New(Config{StatePath: path, Version: "5.4.3"})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode())
	}

	mustAuthMgmt(t, c)
	generate(t, c, 0x85, algP256, pinNever, touchNever)
	mustSend(t, c, insPutData, 0x3f, 0xff, []byte{0x5c, 0x03, 0x5f, 0xff, 0x00, 0x53, 0x01, 0x01})
	mustSend(t, c, insChangeRef, 0, refPIN, concat(padPIN("123456"), padPIN("24681357")))
	wantSW(t, presentPIN(t, c, "000000"), 0x63c2)
	key := c.SoftwareKey(0x85).(*ecdsa.PrivateKey)

	// A second card from the same file: same serial, key, PIN and counter;
	// a fresh session.
	c2, err := New(Config{StatePath: path})
	if err != nil {
		t.Fatal(err)
	}
	if c2.Serial() != c.Serial() {
		t.Errorf("serial %d, want %d", c2.Serial(), c.Serial())
	}
	if a, b, p := c2.Version(); a != 5 || b != 4 || p != 3 {
		t.Errorf("version %d.%d.%d", a, b, p)
	}
	if !key.Equal(c2.SoftwareKey(0x85)) {
		t.Error("key not kept")
	}
	if !c.SoftwareKey(slotAttestation).(*ecdsa.PrivateKey).Equal(c2.SoftwareKey(slotAttestation)) {
		t.Error("attestation key not kept")
	}
	_, sw := raw(t, c2, "0020008000")
	wantSW(t, sw, 0x63c2)
	wantSW(t, presentPIN(t, c2, "24681357"), swOK)
	got, _ := getObject(t, c2, 0x5f, 0xff, 0x00)
	if string(got) != "\x53\x01\x01" {
		t.Errorf("object %x", got)
	}
	digest := sha256.Sum256(nil)
	sig, _ := dynAuth(t, c2, algP256, 0x85, 0x81, digest[:])
	if !ecdsa.VerifyASN1(&key.PublicKey, digest[:], sig) {
		t.Error("signature with the reloaded key")
	}
	md := mustSend(t, c2, insGetMetadata, 0, slotCardManagement, nil)
	if md[2] != alg3DES {
		t.Errorf("management key metadata %x", md)
	}

	// Failed tries are saved before the answer.
	wantSW(t, presentPIN(t, c2, "000000"), 0x63c2)
	c3, err := New(Config{StatePath: path})
	if err != nil {
		t.Fatal(err)
	}
	_, sw = raw(t, c3, "0020008000")
	wantSW(t, sw, 0x63c2)

	if _, err := New(Config{StatePath: path, Serial: c.Serial() + 1}); err == nil {
		t.Error("New accepted another serial for a saved card")
	}
	if _, err := New(Config{StatePath: path, Version: "5.7.1"}); err == nil {
		t.Error("New accepted another version for a saved card")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}

func TestStateCorrupt(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"garbage": "not json",
		"format":  `{"format": 2}`,
		"pin":     `{"format": 1, "firmware": [5,7,1], "pin": "MTIz"}`,
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := New(Config{StatePath: path}); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
	if _, err := New(Config{StatePath: filepath.Join(dir, "missing", "card.json")}); err == nil {
		t.Error("New saved into a missing directory")
	}
}

func TestSaveFailureAnswers6581(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "card")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{StatePath: filepath.Join(dir, "card.json")})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil { // the "flash" is gone
		t.Fatal(err)
	}
	wantSW(t, presentPIN(t, c, "000000"), swMemoryFailure)
	_, sw := raw(t, c, "00fd000000") // reads still work
	wantSW(t, sw, swOK)
}
