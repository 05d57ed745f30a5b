package pcsctest_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-piv/piv-go/v2/piv"
	"github.com/valv-vault/valv/crypto/yubisim"
	"github.com/valv-vault/valv/crypto/yubisim/pcsctest"
)

// defaultMgmtKey is the factory management key. pkcs11-tool runs with its
// default module, OpenSC's own, wherever the architecture puts it.
const defaultMgmtKey = "010203040506070801020304050607080102030405060708"

// client runs an independent PC/SC client against e's pcscd and returns
// its output; a missing client is a skip unless VALV_REQUIRE_CARD=1.
func client(t *testing.T, e *pcsctest.Env, name string, args ...string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv(pcsctest.RequireEnv) == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(e.Environ(), "HOME="+t.TempDir()) // no caches or settings from the user
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s\npcscd log:\n%s", name, strings.Join(args, " "), err, out, e.Log())
	}
	return string(out)
}

// TestIndependentClients: Yubico's ykman and OpenSC, which send more and
// other APDUs than piv-go, work with the card.
func TestIndependentClients(t *testing.T) {
	const serial = 34000001
	e := pcsctest.Require(t, yubisim.Config{Serial: serial})
	reader := e.Reader(0)

	// ykman 4.0.9 shows no serial under "piv info": it reads it from the
	// management application, which the simulator does not have.
	out := client(t, e, "ykman", "--reader", reader, "piv", "info")
	if !strings.Contains(out, "PIV version: 5.7.1") || !strings.Contains(out, "PIN tries remaining: 3/3") {
		t.Errorf("ykman piv info:\n%s", out)
	}

	pubPath := filepath.Join(t.TempDir(), "pub.pem")
	client(t, e, "ykman", "--reader", reader, "piv", "keys", "generate",
		"-a", "ECCP256", "-m", defaultMgmtKey, "9a", pubPath)
	pemBytes, err := os.ReadFile(pubPath)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		t.Fatalf("ykman wrote no PEM:\n%s", pemBytes)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	soft, ok := e.Card(0).SoftwareKey(0x9a).(crypto.Signer)
	if !ok || !soft.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(pub) {
		t.Fatal("the public key ykman wrote is not the card's key in 9A")
	}

	client(t, e, "ykman", "--reader", reader, "piv", "certificates", "generate",
		"--subject", "CN=test", "-m", defaultMgmtKey, "-P", piv.DefaultPIN, "9a", pubPath)
	yk := openBySerial(t, serial, reader)
	cert, err := yk.Certificate(piv.SlotAuthentication)
	if err != nil {
		t.Fatalf("reading the certificate ykman made: %v", err)
	}
	if cert.Subject.CommonName != "test" {
		t.Errorf("certificate subject %q, want CN=test", cert.Subject)
	}
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		t.Errorf("the certificate ykman had the card sign: %v", err)
	}
	yk.Close()

	// OpenSC's PIV driver, through its PKCS#11 module.
	out = client(t, e, "pkcs11-tool", "-L")
	m := regexp.MustCompile(`Slot \d+ \((0x[0-9a-f]+)\): ` + regexp.QuoteMeta(reader) + `\n\s+token label`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("pkcs11-tool -L lists no token in %q:\n%s", reader, out)
	}
	out = client(t, e, "pkcs11-tool", "--slot", m[1], "-O")
	for _, want := range []string{"Certificate Object", "subject:    DN: CN=test", "Public Key Object; EC"} {
		if !strings.Contains(out, want) {
			t.Errorf("pkcs11-tool -O lacks %q:\n%s", want, out)
		}
	}
}
