package backup

import (
	"archive/tar"
	"bytes"
	"testing"

	"filippo.io/age"
)

// FuzzRead feeds arbitrary tar streams (inside a valid age file, so the
// fuzzer reaches the container and manifest checks) to the reader.
func FuzzRead(f *testing.F) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		f.Fatal(err)
	}
	var seed bytes.Buffer
	tw := tar.NewWriter(&seed)
	for _, e := range []struct{ name, body string }{
		{"directory.valv", "not bbolt"},
		{ManifestName, `{"format":"valv backup","version":1,"files":[{"name":"directory.valv","size":9}],"by":"recovery"}`},
	} {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: e.name, Size: int64(len(e.body)), Mode: 0o600})
		tw.Write([]byte(e.body))
	}
	tw.Close()
	f.Add(seed.Bytes())
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0}, 1024))
	f.Fuzz(func(t *testing.T, plain []byte) {
		var enc bytes.Buffer
		w, err := age.Encrypt(&enc, id.Recipient())
		if err != nil {
			t.Fatal(err)
		}
		w.Write(plain)
		w.Close()
		rep, err := read(&enc, ReadOptions{Identities: []age.Identity{id}, AllowUnsigned: true}, nil)
		if err == nil && (rep.Manifest == nil || len(rep.Manifest.Files) == 0) {
			t.Fatal("a backup without files verified")
		}
	})
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"format":"valv backup","version":1,"files":[{"name":"directory.valv"}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		parseManifest(b)
	})
}
