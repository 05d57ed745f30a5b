package store

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIntakeCanary: sealed intake never puts a sealed file's name or
// content into the vault in the clear: not after the import (no key),
// not after listing, filing, discarding and a revocation, in no byte of
// any file of the vault folder (free pages included).
func TestIntakeCanary(t *testing.T) {
	docKnobs(t, 16<<10, 64<<10)
	f := newDocFixture(t)
	h := newTestHolder(t, "Hanna Handläggare", RoleHolder)
	hid, err := f.s.Enrol(h.info)
	mustNoErr(t, err)
	mustNoErr(t, f.s.Grant(f.cid, hid))
	rcpt := recipientOf(t, f.tv.v, f.cid)
	mustNoErr(t, f.s.Lock())
	f.tv.reopen(t)

	canaries := []string{"Kanariepass", "KanarieInnehåll", "19811228-9874", "8112289874"}
	body := func(i int) []byte {
		return bytes.Repeat([]byte("KanarieInnehåll 19811228-9874 8112289874 "+strings.Repeat("x", i)), 1000)
	}
	var items []IntakeID
	for i, name := range []string{"Kanariepass Zebulonia.pdf", "Kanariepass kasseras.jpg"} {
		rs, err := importIntake(f.tv.v, intakeFile(t, name, body(i), rcpt))
		mustNoErr(t, err)
		items = append(items, rs[0].Item)
	}
	scan := func(when string) {
		t.Helper()
		files, err := os.ReadDir(f.tv.dir)
		mustNoErr(t, err)
		for _, fi := range files {
			data := bytes.ToLower(readFile(t, filepath.Join(f.tv.dir, fi.Name())))
			for _, c := range append(canaries, "kanarie", "zebulonia") {
				if bytes.Contains(data, bytes.ToLower([]byte(c))) {
					t.Errorf("%s: %s contains %q", when, fi.Name(), c)
				}
			}
		}
	}
	mustNoErr(t, f.tv.v.Close())
	scan("after the import")
	f.tv.reopen(t)

	s := f.tv.unlock(t, f.tv.admin)
	q, err := s.IntakeQueue()
	mustNoErr(t, err)
	if len(q) != 2 {
		t.Fatalf("queue %+v", q)
	}
	mustNoErr(t, s.Revoke(f.cid, hid, nil))
	doc, err := s.FileIntake(context.Background(), items[0], f.code, nil)
	mustNoErr(t, err)
	mustNoErr(t, s.DiscardIntake(items[1]))
	got, info, err := f.export(s, doc, DocumentOptions{})
	mustNoErr(t, err)
	if !bytes.Equal(got, body(0)) || info.Name != "Kanariepass Zebulonia.pdf" {
		t.Errorf("filed document: %d bytes, %q", len(got), info.Name)
	}
	mustNoErr(t, s.Lock())
	mustNoErr(t, f.tv.v.Close())
	scan("after filing, discarding and a revocation")
}
