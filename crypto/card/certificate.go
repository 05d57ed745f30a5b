package card

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"
	"unicode/utf8"
)

// The certificate layout of age-plugin-yubikey (src/builder.rs and
// src/util.rs of str4d/age-plugin-yubikey v0.5.0), which the plugin reads
// to recognise its keys and their policies:
//
//	subject     O=age-plugin-yubikey, OU=<plugin version>, CN=<name>
//	serial      20 random bytes (top bit cleared to fit 20 DER octets)
//	validity    now until 9999-12-31 23:59:59 UTC (the plugin passes no end)
//	extension   1.3.6.1.4.1.41482.3.8 = the two raw bytes [PIN policy, touch
//	            policy] (Yubico's attestation policy extension)
//	signature   ECDSA-SHA256 by the slot's own key, on the card
const (
	// PluginVersion is the age-plugin-yubikey version written as the OU,
	// as the plugin writes its own version there.
	PluginVersion = "0.5.0"
	// pluginOrganization is the O that marks the plugin's certificates.
	pluginOrganization = "age-plugin-yubikey"

	// HolderNamePrefix starts the CN of every key holder certificate Valv
	// writes, so that Valv finds its own key among other age-plugin-yubikey
	// identities on the same card.
	HolderNamePrefix = "Valv key holder"
	// signingName is the CN of the audit signing key's certificate in 9C.
	signingName = "Valv audit signing key"

	pinPolicyOnce = 0x02
)

var policyExtension = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 41482, 3, 8}

// noExpiry is X.509's "no well-defined expiration date" (RFC 5280 4.1.2.5).
var noExpiry = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// holderName is the CN for a key holder called name.
func holderName(name string) string {
	if name == "" {
		return HolderNamePrefix
	}
	return HolderNamePrefix + " " + name
}

// checkName refuses a name that cannot go into a certificate's CN
// (X.520 allows at most 64 characters).
func checkName(name string) error {
	if !utf8.ValidString(name) {
		return errors.New("the key holder's name is not valid text")
	}
	if n := utf8.RuneCountInString(holderName(name)); n > 64 {
		return fmt.Errorf("the key holder's name is too long for the certificate: at most %d characters", 64-len(HolderNamePrefix)-1)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return errors.New("the key holder's name contains control characters")
		}
	}
	return nil
}

// selfSign makes the certificate for the key pub in a slot, signed by the
// slot's key through signer (on the card: with a touch policy, the card
// waits for a touch here).
func selfSign(signer crypto.Signer, pub *ecdsa.PublicKey, subject pkix.Name, touch Touch, usage x509.KeyUsage) (*x509.Certificate, error) {
	serial := make([]byte, 20)
	if _, err := rand.Read(serial); err != nil {
		return nil, err
	}
	serial[0] &= 0x7f // positive in 20 DER octets, as RFC 5280 wants
	now := time.Now().UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:       new(big.Int).SetBytes(serial),
		Subject:            subject,
		Issuer:             subject,
		NotBefore:          now,
		NotAfter:           noExpiry,
		KeyUsage:           usage,
		SignatureAlgorithm: x509.ECDSAWithSHA256,
		ExtraExtensions: []pkix.Extension{{
			Id:    policyExtension,
			Value: []byte{pinPolicyOnce, touch.code()},
		}},
	}
	// CreateCertificate checks the card's signature before returning.
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, signer)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// holderSubject is the age-plugin-yubikey subject for a key holder.
func holderSubject(name string) pkix.Name {
	return pkix.Name{
		Organization:       []string{pluginOrganization},
		OrganizationalUnit: []string{PluginVersion},
		CommonName:         holderName(name),
	}
}

func signingSubject() pkix.Name {
	return pkix.Name{Organization: []string{"Valv"}, CommonName: signingName}
}

// isHolderCertificate reports a certificate that Valv wrote for a key
// holder: age-plugin-yubikey's organization and Valv's CN prefix.
func isHolderCertificate(c *x509.Certificate) bool {
	return len(c.Subject.Organization) > 0 && c.Subject.Organization[0] == pluginOrganization &&
		(c.Subject.CommonName == HolderNamePrefix || len(c.Subject.CommonName) > len(HolderNamePrefix) &&
			c.Subject.CommonName[:len(HolderNamePrefix)+1] == HolderNamePrefix+" ")
}

// p256Key returns pub as a P-256 ECDSA key, or an error.
func p256Key(pub crypto.PublicKey) (*ecdsa.PublicKey, error) {
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok || k.Curve != elliptic.P256() {
		return nil, fmt.Errorf("the key is a %T, not a P-256 key", pub)
	}
	return k, nil
}
