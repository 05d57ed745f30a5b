package pivage_test

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"fmt"
	"io"

	"filippo.io/age"
	"github.com/valv-vault/valv/crypto/pivage"
)

func Example() {
	// A software key; with a YubiKey, pass the *piv.ECDSAPrivateKey that
	// piv-go's (*YubiKey).PrivateKey returns for a retired slot.
	key, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	identity, err := pivage.NewIdentity(key)
	if err != nil {
		panic(err)
	}

	// Anyone with the age1yubikey1… string can encrypt to it.
	recipient, err := pivage.ParseRecipient(identity.Recipient().String())
	if err != nil {
		panic(err)
	}
	var file bytes.Buffer
	w, err := age.Encrypt(&file, recipient)
	if err != nil {
		panic(err)
	}
	io.WriteString(w, "hello")
	w.Close()

	r, err := age.Decrypt(&file, identity)
	if err != nil {
		panic(err)
	}
	out, _ := io.ReadAll(r)
	fmt.Println(string(out))
	// Output: hello
}
