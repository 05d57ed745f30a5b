package pcsctest_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-piv/piv-go/v2/piv"
	"github.com/valv-vault/valv/crypto/yubisim"
	"github.com/valv-vault/valv/crypto/yubisim/pcsctest"
)

// TestPIVGo drives the card through piv-go, libpcsclite, pcscd and vpcd:
// the path Valv uses. Firmware 5.4.3 has a 3DES default management key,
// 5.7.1 an AES-192 one.
func TestPIVGo(t *testing.T) {
	for _, tc := range []struct {
		version string
		serial  uint32
	}{{"5.7.1", 31000571}, {"5.4.3", 31000543}} {
		t.Run(tc.version, func(t *testing.T) {
			e := pcsctest.Require(t, yubisim.Config{Serial: tc.serial, Version: tc.version})
			yk := openBySerial(t, tc.serial, e.Reader(0))

			if got := yk.Version(); fmt.Sprintf("%d.%d.%d", got.Major, got.Minor, got.Patch) != tc.version {
				t.Errorf("Version = %+v, want %s", got, tc.version)
			}
			if err := yk.VerifyPIN("654321"); err == nil {
				t.Error("VerifyPIN accepted a wrong PIN")
			}
			if n, err := yk.Retries(); err != nil || n != 2 {
				t.Errorf("Retries after a wrong PIN = %d, %v; want 2", n, err)
			}
			if err := yk.VerifyPIN(piv.DefaultPIN); err != nil {
				t.Fatalf("VerifyPIN: %v", err)
			}

			slot, _ := piv.RetiredKeyManagementSlot(0x82)
			pub, err := yk.GenerateKey(piv.DefaultManagementKey, slot, piv.Key{
				Algorithm:   piv.AlgorithmEC256,
				PINPolicy:   piv.PINPolicyOnce,
				TouchPolicy: piv.TouchPolicyNever,
			})
			if err != nil {
				t.Fatalf("GenerateKey: %v", err)
			}
			ecPub := pub.(*ecdsa.PublicKey)
			soft, ok := e.Card(0).SoftwareKey(0x82).(crypto.Signer)
			if !ok || !ecPub.Equal(soft.Public()) {
				t.Fatalf("generated public key differs from the card's software key %T", e.Card(0).SoftwareKey(0x82))
			}

			priv, err := yk.PrivateKey(slot, pub, piv.KeyAuth{PIN: piv.DefaultPIN})
			if err != nil {
				t.Fatalf("PrivateKey: %v", err)
			}
			cardKey := priv.(*piv.ECDSAPrivateKey)

			peer, _ := ecdh.P256().GenerateKey(rand.Reader)
			shared, err := cardKey.ECDH(peer.PublicKey())
			if err != nil {
				t.Fatalf("ECDH: %v", err)
			}
			ecdhPub, _ := ecPub.ECDH()
			if want, _ := peer.ECDH(ecdhPub); !bytes.Equal(shared, want) {
				t.Errorf("ECDH on the card = %x, in software %x", shared, want)
			}

			digest := sha256.Sum256([]byte("valv"))
			sig, err := cardKey.Sign(rand.Reader, digest[:], crypto.SHA256)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if !ecdsa.VerifyASN1(ecPub, digest[:], sig) {
				t.Error("the card's signature does not verify")
			}

			// A certificate signed by the card key, stored and read back.
			tmpl := &x509.Certificate{
				SerialNumber: big.NewInt(1),
				Subject:      pkix.Name{CommonName: "pcsctest"},
				NotBefore:    time.Now().Add(-time.Hour),
				NotAfter:     time.Now().Add(time.Hour),
			}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, ecPub, cardKey)
			if err != nil {
				t.Fatalf("self-signing through the card: %v", err)
			}
			cert, _ := x509.ParseCertificate(der)
			if err := yk.SetCertificate(piv.DefaultManagementKey, slot, cert); err != nil {
				t.Fatalf("SetCertificate: %v", err)
			}
			got, err := yk.Certificate(slot)
			if err != nil || !bytes.Equal(got.Raw, der) {
				t.Fatalf("Certificate = %v; want the stored certificate back", err)
			}

			att, err := yk.AttestationCertificate()
			if err != nil {
				t.Fatalf("AttestationCertificate: %v", err)
			}
			if !slices.Contains(att.Subject.Organization, yubisim.AttestationOrganization) {
				t.Errorf("attestation subject %q lacks O=%s", att.Subject, yubisim.AttestationOrganization)
			}
			slotAtt, err := yk.Attest(slot)
			if err != nil {
				t.Fatalf("Attest: %v", err)
			}
			roots := x509.NewCertPool()
			roots.AddCert(att)
			a, err := (&piv.Verifier{Roots: roots}).Verify(att, slotAtt)
			if err != nil {
				t.Fatalf("verifying the attestation against the card's own root: %v", err)
			}
			if a.Serial != tc.serial || a.Slot != slot || a.PINPolicy != piv.PINPolicyOnce {
				t.Errorf("attestation = serial %d slot %v PIN policy %v", a.Serial, a.Slot, a.PINPolicy)
			}
			if _, err := piv.Verify(att, slotAtt); err == nil {
				t.Error("piv.Verify accepted a simulated card against Yubico's roots")
			}
		})
	}
}

// TestCardRemoval pulls the card out of the reader and plugs it back in.
// Unlike a USB YubiKey, whose reader disappears with it, the vpcd reader
// stays listed, empty.
func TestCardRemoval(t *testing.T) {
	const serial = 31000001
	e := pcsctest.Require(t, yubisim.Config{Serial: serial})
	yk := openBySerial(t, serial, e.Reader(0))
	if err := yk.VerifyPIN("000000"); err == nil {
		t.Fatal("VerifyPIN accepted a wrong PIN")
	}

	start := time.Now()
	if err := e.RemoveCard(0); err != nil {
		t.Fatalf("RemoveCard: %v", err)
	}
	removal := time.Since(start)
	if removal > 2*time.Second {
		t.Errorf("RemoveCard took %v, want under 2 s", removal)
	}
	if _, err := yk.Serial(); err == nil {
		t.Error("an open YubiKey still answers after its card was removed")
	} else {
		t.Logf("open handle after removal: %v", err)
	}
	yk.Close()
	if yk2, err := piv.Open(e.Reader(0)); err == nil {
		yk2.Close()
		t.Fatal("piv.Open finds a card in the reader after RemoveCard")
	} else {
		t.Logf("piv.Open after removal: %v", err)
	}
	readers, _ := piv.Cards()
	if !slices.Contains(readers, e.Reader(0)) {
		t.Errorf("reader %q no longer listed (%q): vpcd readers stay", e.Reader(0), readers)
	}

	start = time.Now()
	if err := e.InsertCard(0); err != nil {
		t.Fatalf("InsertCard: %v", err)
	}
	t.Logf("removal took %v, insertion %v", removal, time.Since(start))
	yk = openBySerial(t, serial, e.Reader(0))
	// The card kept its state, like a real key's flash.
	if n, err := yk.Retries(); err != nil || n != 2 {
		t.Errorf("Retries after re-insertion = %d, %v; want 2", n, err)
	}
	if err := yk.VerifyPIN(piv.DefaultPIN); err != nil {
		t.Errorf("VerifyPIN after re-insertion: %v", err)
	}
}

// TestStartClose runs a second, private pcscd with two cards, checks them
// from a child process and that Close leaves nothing behind.
func TestStartClose(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e, err := pcsctest.Start(ctx,
		yubisim.Config{Serial: 32000001},
		yubisim.Config{Serial: 32000002, Version: "5.4.3"})
	if err != nil {
		if os.Getenv(pcsctest.RequireEnv) == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	defer e.Close()
	if e.Reader(0) == e.Reader(1) || !strings.Contains(strings.ToLower(e.Reader(0)), "yubikey") {
		t.Errorf("reader names %q, %q", e.Reader(0), e.Reader(1))
	}
	want := fmt.Sprintf("%s|32000001|5.7.1\n%s|32000002|5.4.3\n", e.Reader(0), e.Reader(1))
	if got := runHelper(t, ctx, e); got != want {
		t.Errorf("child process sees:\n%swant:\n%s", got, want)
	}

	if err := e.RemoveCard(1); err != nil {
		t.Fatal(err)
	}
	want = fmt.Sprintf("%s|32000001|5.7.1\n%s|none|\n", e.Reader(0), e.Reader(1))
	if got := runHelper(t, ctx, e); got != want {
		t.Errorf("after RemoveCard(1), child process sees:\n%swant:\n%s", got, want)
	}

	dir := e.Dir()
	if err := e.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("Close left %s behind: %v", dir, err)
	}
}
