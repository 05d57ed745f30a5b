package store

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"testing"
)

// FuzzAnchorRecord feeds crafted anchor records (as an intruder can write
// them into directory.valv) to the checks an unlock runs: none may panic,
// and none may be accepted without the verifier's signature.
func FuzzAnchorRecord(f *testing.F) {
	sk, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	seed, _ := json.Marshal(anchorRecord{Statement: anchorStatement{Recovery: "age1x", Admins: []anchorAdmin{{ID: ID{1}, Key: []byte{0x30}}}},
		Signatures: []anchorSig{{Holder: ID{1}, Signature: []byte{1, 2}}}})
	f.Add(seed)
	f.Add([]byte(`{"statement":{"epoch":0,"recovery_signer":"AAAA"},"signatures":[{"holder":"recovery","signature":""}]}`))
	f.Fuzz(func(t *testing.T, p []byte) {
		var r anchorRecord
		if json.Unmarshal(p, &r) != nil {
			return
		}
		_ = r.Statement.wellFormed()
		_ = r.Statement.message(ID{9})
		if _, _, err := verifyAnchors([]anchorRecord{r, r}, ID{9}, ID{1}, &sk.PublicKey); err == nil {
			t.Fatal("a record not signed by the verifier was accepted")
		}
		if _, _, err := verifyAnchors([]anchorRecord{r}, ID{9}, Recovery, sk.Public()); err == nil {
			t.Fatal("a record not signed by the verifier was accepted")
		}
	})
}
