package store

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/valv-vault/valv/store/redact"
	"github.com/valv-vault/valv/store/redact/detect"
)

func TestRedactDocumentMakesArchiveCopy(t *testing.T) {
	f := newDocFixture(t)
	text := []byte("Avtal för Åsa Öberg, personnummer 811228-9874, kort 4111 1111 1111 1111.\n")
	orig, err := f.s.AddDocument(context.Background(), f.code, "avtal.txt", "text/plain", bytes.NewReader(text), nil, DocumentOptions{})
	mustNoErr(t, err)

	rep, err := f.s.ScanDocument(context.Background(), orig, DocumentOptions{})
	mustNoErr(t, err)
	if c := rep.Counts(); c[detect.Personnummer] != 1 || c[detect.Card] != 1 {
		t.Fatalf("pre-archive check found %v", rep.Summary())
	}

	copyID, rep, err := f.s.RedactDocument(context.Background(), orig, DocumentOptions{}, redactOptions())
	mustNoErr(t, err)
	if len(rep.Findings) != 2 {
		t.Errorf("removed %d values, want 2", len(rep.Findings))
	}
	got, info, err := f.export(f.s, copyID, DocumentOptions{})
	mustNoErr(t, err)
	for _, secret := range []string{"811228-9874", "4111 1111 1111 1111"} {
		if strings.Contains(string(got), secret) {
			t.Errorf("archive copy still holds %q:\n%s", secret, got)
		}
	}
	if !strings.Contains(string(got), string(f.code)) {
		t.Errorf("archive copy is not labelled with the customer code:\n%s", got)
	}
	if want := string(f.code) + "-" + strings.ToLower(orig.Short()) + "-redacted.txt"; info.Name != want {
		t.Errorf("copy named %q, want %q", info.Name, want)
	}
	kept, _, err := f.export(f.s, orig, DocumentOptions{})
	mustNoErr(t, err)
	if !bytes.Equal(kept, text) {
		t.Error("the original changed")
	}

	var actions []string
	mustNoErr(t, f.s.ExportAudit(func(e ExportedEntry) error {
		actions = append(actions, string(e.Action))
		return nil
	}))
	if !strings.Contains(strings.Join(actions, " "), string(ActionDocRedact)) {
		t.Errorf("no %s entry in the audit log: %v", ActionDocRedact, actions)
	}
}

func redactOptions() redact.Options { return redact.Options{} }
