package yubisim

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// AttestationOrganization is the Organization of the simulator's
// attestation certificate (object 5FFF01). The application checks it to
// mark a card as SIMULATED: keep it exactly so.
const AttestationOrganization = "Valv yubisim"

// attestationCommonName is the CommonName of that certificate.
const attestationCommonName = "SIMULATED YubiKey - software keys, not secure"

// Yubico's extensions in attestation certificates.
var (
	oidFirmware   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 41482, 3, 3}
	oidSerial     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 41482, 3, 7}
	oidPolicy     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 41482, 3, 8}
	oidFormFactor = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 41482, 3, 9}
)

// formFactorUSBAKeychain is what a YubiKey 5 NFC reports.
const formFactorUSBAKeychain = 0x01

// The validity Yubico uses for attestation certificates.
var (
	attNotBefore = time.Date(2016, 3, 14, 0, 0, 0, 0, time.UTC)
	attNotAfter  = time.Date(2052, 4, 17, 0, 0, 0, 0, time.UTC)
)

// newAttestation makes the factory attestation key and its self-signed
// certificate object. A real YubiKey has an RSA key certified by Yubico's
// CA; the simulator's P-256 key chains to nothing, so piv.Verify with
// Yubico's roots rightly refuses it.
func newAttestation(serial uint32, version [3]byte) (*slotKey, []byte, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serialExt, err := asn1.Marshal(int64(serial))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject: pkix.Name{
			Organization: []string{AttestationOrganization},
			CommonName:   attestationCommonName,
		},
		NotBefore:             attNotBefore,
		NotAfter:              attNotAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
		ExtraExtensions: []pkix.Extension{
			{Id: oidFirmware, Value: version[:]},
			{Id: oidSerial, Value: serialExt},
		},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		return nil, nil, err
	}
	k := &slotKey{algP256, pinNever, touchNever, originGenerated, priv}
	return k, certObject(der), nil
}

// certObject wraps a DER certificate as a PIV certificate object:
// 53 {70 cert, 71 00 (uncompressed), FE (no error detection code)}.
func certObject(der []byte) []byte {
	return encodeTLV(0x53, concat(encodeTLV(0x70, der), []byte{0x71, 0x01, 0x00, 0xfe, 0x00}))
}

func randomSerial() *big.Int {
	b := randomBytes(16)
	b[0] &= 0x7f
	b[0] |= 0x01 // positive and 16 bytes long
	return new(big.Int).SetBytes(b)
}

// attest is Yubico's ATTEST (INS F9, P1 slot): a certificate for the key in
// the slot, signed by the attestation key F9, with subject "YubiKey PIV
// Attestation <slot>" and the firmware, serial, policy and form factor
// extensions. As on a YubiKey, imported keys and empty slots answer 6A80.
func (c *Card) attest(cmd command) ([]byte, uint16) {
	if !isKeySlot(cmd.p1) || cmd.p2 != 0 {
		return nil, swWrongP1P2
	}
	k := c.st.keys[cmd.p1]
	att := c.st.keys[slotAttestation]
	if k == nil || k.origin != originGenerated || att == nil {
		return nil, swWrongData
	}
	signer, ok := att.priv.(crypto.Signer)
	if !ok {
		return nil, swWrongData
	}
	der, err := c.attestationCert(cmd.p1, k, signer)
	if err != nil {
		return nil, swWrongData
	}
	return der, swOK
}

func (c *Card) attestationCert(slot byte, k *slotKey, signer crypto.Signer) ([]byte, error) {
	serialExt, err := asn1.Marshal(int64(c.st.serial))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: fmt.Sprintf("YubiKey PIV Attestation %02x", slot)},
		NotBefore:    attNotBefore,
		NotAfter:     attNotAfter,
		ExtraExtensions: []pkix.Extension{
			{Id: oidFirmware, Value: c.st.version[:]},
			{Id: oidSerial, Value: serialExt},
			{Id: oidPolicy, Value: []byte{k.pinPolicy, k.touchPolicy}},
			{Id: oidFormFactor, Value: []byte{formFactorUSBAKeychain}},
		},
	}
	// The issuer is the subject of the certificate in 5FFF01, so that a
	// replaced attestation key and certificate keep the chain intact.
	parent := &x509.Certificate{Subject: pkix.Name{
		Organization: []string{AttestationOrganization},
		CommonName:   attestationCommonName,
	}}
	if v, ok := parseSingleTLV(c.st.objects[objAttestation], 0x53); ok {
		if t, err := parseTLVs(v); err == nil {
			if cert, err := x509.ParseCertificate(tlvMap(t)[0x70]); err == nil {
				parent = &x509.Certificate{RawSubject: cert.RawSubject, SubjectKeyId: cert.SubjectKeyId}
			}
		}
	}
	if x, ok := k.priv.(*ecdh.PrivateKey); ok {
		return x25519Cert(tmpl, parent, x.PublicKey(), signer)
	}
	pub := k.priv.(interface{ Public() crypto.PublicKey }).Public()
	return x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
}

// x25519Cert works around crypto/x509, which cannot put an X25519 key in a
// certificate: it makes the certificate with a placeholder Ed25519 key,
// swaps in the X25519 SubjectPublicKeyInfo and signs the result again.
func x25519Cert(tmpl, parent *x509.Certificate, pub *ecdh.PublicKey, signer crypto.Signer) ([]byte, error) {
	placeholder, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, placeholder, signer)
	if err != nil {
		return nil, err
	}
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	var cert struct {
		TBS    asn1.RawValue
		SigAlg asn1.RawValue
		Sig    asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &cert); err != nil {
		return nil, err
	}
	// TBSCertificate: [0] version, serial, signature, issuer, validity,
	// subject, subjectPublicKeyInfo, [3] extensions.
	var fields [][]byte
	for rest := cert.TBS.Bytes; len(rest) > 0; {
		var f asn1.RawValue
		if rest, err = asn1.Unmarshal(rest, &f); err != nil {
			return nil, err
		}
		fields = append(fields, f.FullBytes)
	}
	if len(fields) < 7 || !bytes.Equal(fields[6], parsed.RawSubjectPublicKeyInfo) {
		return nil, errors.New("yubisim: unexpected certificate layout")
	}
	fields[6] = spki
	tbs, err := asn1.Marshal(asn1.RawValue{Tag: asn1.TagSequence, IsCompound: true, Bytes: bytes.Join(fields, nil)})
	if err != nil {
		return nil, err
	}
	var hash crypto.Hash
	switch parsed.SignatureAlgorithm {
	case x509.ECDSAWithSHA256, x509.SHA256WithRSA:
		hash = crypto.SHA256
	case x509.ECDSAWithSHA384, x509.SHA384WithRSA:
		hash = crypto.SHA384
	case x509.ECDSAWithSHA512, x509.SHA512WithRSA:
		hash = crypto.SHA512
	case x509.PureEd25519:
	default:
		return nil, errors.New("yubisim: unexpected signature algorithm")
	}
	msg := tbs
	if hash != 0 {
		h := hash.New()
		h.Write(tbs)
		msg = h.Sum(nil)
	}
	sig, err := signer.Sign(rand.Reader, msg, hash)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(struct {
		TBS    asn1.RawValue
		SigAlg asn1.RawValue
		Sig    asn1.BitString
	}{asn1.RawValue{FullBytes: tbs}, asn1.RawValue{FullBytes: cert.SigAlg.FullBytes}, asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}})
}
