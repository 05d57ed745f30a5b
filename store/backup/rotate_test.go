package backup

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/valv-vault/valv/store"
)

// Rotation keeps the last N and the newest of each of M months, per
// vault, and never touches another file: not another program's, not a
// backup being written, not one whose name only looks like a backup's.
func TestRotation(t *testing.T) {
	dir := t.TempDir()
	a, b := store.ID{0xa}, store.ID{0xb}
	touch := func(name string) {
		must(t, os.WriteFile(filepath.Join(dir, name), nil, 0o600))
	}
	start := time.Date(2025, 3, 10, 2, 0, 0, 0, time.UTC)
	var names []string
	// Vault a: a backup every 5 days for a year and a bit, two in the
	// same second at the end.
	for i := range 80 {
		n := FileName(a, start.AddDate(0, 0, 5*i), 1)
		names = append(names, n)
		touch(n)
	}
	last := start.AddDate(0, 0, 5*79)
	touch(FileName(a, last, 2))
	// Vault b: three backups.
	for i := range 3 {
		touch(FileName(b, start.AddDate(0, 0, i), 1))
	}
	others := []string{"notes.txt", FileName(a, start, 1) + partialExt, "ffff-20250101T000000Z.valvbak",
		FileName(a, start, 1) + ".bak", "X" + FileName(a, start, 1)}
	for _, o := range others {
		touch(o)
	}
	must(t, os.Mkdir(filepath.Join(dir, FileName(a, start.AddDate(-1, 0, 0), 1)), 0o700)) // a folder so named

	r, err := PlanRotation(dir, a, Policy{Keep: 3, Monthly: 4})
	must(t, err)
	var kept []string
	for _, k := range r.Keep {
		kept = append(kept, filepath.Base(k.Path)+" "+k.Reason)
	}
	want := []string{
		FileName(a, last, 2) + " one of the last 3",
		names[79] + " one of the last 3",
		names[78] + " one of the last 3",
	}
	// Newest of each of the 4 most recent months: the month of the last
	// (already kept), then the three before it.
	monthsSeen := map[string]bool{last.Format("2006-01"): true}
	for i := 77; i >= 0 && len(monthsSeen) < 4; i-- {
		tm := start.AddDate(0, 0, 5*i)
		if m := tm.Format("2006-01"); !monthsSeen[m] {
			monthsSeen[m] = true
			want = append(want, names[i]+" newest of "+m)
		}
	}
	if !slices.Equal(kept, want) {
		t.Fatalf("kept\n%q\nwant\n%q", kept, want)
	}
	if len(r.Delete) != 81-len(want) {
		t.Fatalf("%d to delete", len(r.Delete))
	}
	n, err := r.Apply()
	must(t, err)
	if n != len(r.Delete) {
		t.Fatalf("Apply deleted %d of %d", n, len(r.Delete))
	}
	for _, o := range others {
		if _, err := os.Stat(filepath.Join(dir, o)); err != nil {
			t.Fatalf("rotation removed %s", o)
		}
	}
	// Vault b is untouched by a's rotation; all vaults at once keeps b's
	// three.
	r, err = PlanRotation(dir, store.ID{}, Policy{Keep: 1, Monthly: 0})
	must(t, err)
	if len(r.Keep) != 2 || len(r.Delete) != len(want)-1+2 {
		t.Fatalf("all vaults: keep %d, delete %d", len(r.Keep), len(r.Delete))
	}
	if _, err := PlanRotation(dir, a, Policy{Keep: 0, Monthly: 5}); err == nil {
		t.Fatal("a policy keeping nothing was accepted")
	}
}

// Rotate deletes the session's vault's backups the policy does not keep,
// and logs how many (backup-rotate); a dry run deletes and logs nothing;
// a session that is not an admin's may not rotate.
func TestRotateAudited(t *testing.T) {
	f := newFixture(t, 1, 1, 0, 0)
	dir := t.TempDir()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 5 {
		must(t, os.WriteFile(filepath.Join(dir, FileName(f.v.ID(), start.AddDate(0, 0, i), 1)), nil, 0o600))
	}
	other := filepath.Join(dir, FileName(store.ID{9}, start, 1))
	must(t, os.WriteFile(other, nil, 0o600))
	s := f.unlock(t)
	counts := func() []int64 {
		var c []int64
		must(t, s.ExportAudit(func(e store.ExportedEntry) error {
			if e.Action == store.ActionBackupRotate {
				c = append(c, e.Count)
			}
			return nil
		}))
		return c
	}
	r, err := Rotate(s, dir, Policy{Keep: 2}, true)
	must(t, err)
	if len(r.Delete) != 3 || len(counts()) != 0 {
		t.Fatalf("dry run: %d to delete, logged %v", len(r.Delete), counts())
	}
	r, err = Rotate(s, dir, Policy{Keep: 2}, false)
	must(t, err)
	ents, _ := os.ReadDir(dir)
	if c := counts(); len(r.Delete) != 3 || len(ents) != 3 || len(c) != 1 || c[0] != 3 {
		t.Fatalf("rotation: %d to delete, %d files left, logged %v", len(r.Delete), len(ents), c)
	}
	if _, err := os.Stat(other); err != nil {
		t.Fatal("another vault's backup was deleted")
	}
	// Nothing more to delete: still logged, with 0.
	_, err = Rotate(s, dir, Policy{Keep: 2}, false)
	must(t, err)
	if c := counts(); len(c) != 2 || c[1] != 0 {
		t.Fatalf("second rotation logged %v", c)
	}
	must(t, s.Lock())
	h := newTestHolder(t, "Hugo Handläggare", store.RoleHolder)
	as := f.unlock(t)
	_, err = as.Enrol(h.info)
	must(t, err)
	must(t, as.Lock())
	hs, err := f.v.Unlock(h.identity, h.signer)
	must(t, err)
	defer hs.Lock()
	if _, err := Rotate(hs, dir, Policy{Keep: 1}, false); !errors.Is(err, store.ErrNotAdmin) {
		t.Fatalf("a key holder who is no admin rotated: %v", err)
	}
}

func TestParseName(t *testing.T) {
	id := store.ID{1, 2, 3}
	tm := time.Date(2026, 11, 20, 10, 15, 2, 0, time.UTC)
	for _, n := range []int{1, 2, 17} {
		p, ok := ParseName(FileName(id, tm, n))
		if !ok || p.Vault != id || !p.Time.Equal(tm) || p.N != n {
			t.Fatalf("%s: %+v %v", FileName(id, tm, n), p, ok)
		}
	}
	for _, bad := range []string{"", "x.valvbak", FileName(id, tm, 1) + ".partial", FileName(id, tm, 1)[1:], "0102030000000000000000000000000-20261120T101502Z.valvbak"} {
		if _, ok := ParseName(bad); ok {
			t.Fatalf("%q parsed", bad)
		}
	}
}
