package seal_test

import (
	"crypto/rand"
	"fmt"

	"github.com/valv-vault/valv/crypto/seal"
)

func ExampleKeyring_Seal() {
	// In Valv the secret and id come from the unwrapped compartment key.
	secret := make([]byte, seal.SecretSize)
	rand.Read(secret)
	var id [16]byte
	rand.Read(id[:])

	k, err := seal.NewKeyring(secret, id)
	if err != nil {
		panic(err)
	}
	defer k.Destroy()

	sealed := k.Seal(nil, seal.Record, []byte("K7Q3-MX9R-2"), 1, []byte(`{"name":"Anna Andersson"}`))
	fmt.Println(len(sealed) - seal.Overhead)

	plain, err := k.Open(nil, seal.Record, []byte("K7Q3-MX9R-2"), 1, sealed)
	fmt.Println(string(plain), err)

	// The same bytes presented as version 2 of the record do not open.
	_, err = k.Open(nil, seal.Record, []byte("K7Q3-MX9R-2"), 2, sealed)
	fmt.Println(err != nil)
	// Output:
	// 25
	// {"name":"Anna Andersson"} <nil>
	// true
}
