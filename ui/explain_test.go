package ui

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/valv-vault/valv/crypto/card"
	"github.com/valv-vault/valv/crypto/recovery"
	"github.com/valv-vault/valv/store"
	"github.com/valv-vault/valv/store/backup"
	"github.com/valv-vault/valv/store/customer"
	"github.com/valv-vault/valv/store/service"
)

// engineErrors builds the errors the window can meet as the engine makes
// them: from a real demo vault (its simulated card is served from inside
// the test process), a damaged and a missing vault, and, where the
// engine's error needs a broken disk or another process, the store's own
// error values wrapped as the store wraps them.
func engineErrors(t *testing.T) map[string]error {
	t.Helper()
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // the demo vault's folder
	s, err := service.New(service.Options{Demo: true})
	if errors.Is(err, card.ErrSimulatorStarted) {
		t.Skip("demo mode can start once per test process (go test -count=1):", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	errs := map[string]error{}
	keep := func(name string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: the engine gave no error", name)
		}
		errs[name] = err
	}

	// Locked.
	_, err = s.View(customer.NewCode())
	keep("locked", err)
	keep("wrong PIN", s.Unlock(card.DemoSerial, "000000"))
	keep("card not inserted", s.Unlock(12345678, "123456"))
	keep("card not enrolled", s.Unlock(service.DemoBlankSerial, card.DemoPIN))
	keep("not a recovery key", s.UnlockRecovery([]byte("hello")))
	other, err := recovery.Generate()
	if err != nil {
		t.Fatal(err)
	}
	keep("another vault's recovery key", s.UnlockRecovery(other.IdentityFile()))

	// Unlocked.
	if err := s.Unlock(card.DemoSerial, s.DemoPIN()); err != nil {
		t.Fatal(err)
	}
	comps, err := s.Compartments()
	if err != nil || len(comps) == 0 {
		t.Fatalf("compartments: %v, %v", comps, err)
	}
	codes, err := s.Customers(comps[0].ID)
	if err != nil || len(codes) == 0 {
		t.Fatalf("customers: %v, %v", codes, err)
	}
	_, err = s.View(customer.NewCode())
	keep("no customer", err)
	_, err = s.AddCustomer(comps[0].ID, service.Customer{Code: codes[0], Name: "Test Testsson"})
	keep("taken code", err)
	text := "Avtal 2026\n"
	id, err := s.AddDocument(context.Background(), codes[0], "avtal.txt", strings.NewReader(text), int64(len(text)), nil, "en lång lösenfras")
	if err != nil {
		t.Fatal(err)
	}
	doc := service.Document{ID: id, Customer: codes[0], Name: "avtal.txt", Size: int64(len(text))}
	_, err = s.OpenDocument(context.Background(), doc, "")
	keep("passphrase needed", err)
	_, err = s.OpenDocument(context.Background(), doc, "fel lösenfras")
	keep("wrong passphrase", err)
	_, err = s.OpenDocument(context.Background(), service.Document{ID: id, Size: service.MaxPreview + 1}, "")
	keep("too large to preview", err)
	staff, err := s.AddStaff("Nils Nyanställd", "Handläggare")
	if err != nil {
		t.Fatal(err)
	}
	keep("not screened", s.CheckEnrolment(staff))
	if err := s.Screen(staff, service.Screening{Status: service.ScreeningPassed, Date: time.Now(), By: "Säk"}); err != nil {
		t.Fatal(err)
	}
	keep("no NDA", s.CheckEnrolment(staff))

	// Vault folders that do not open (opened before any card is asked).
	unlockIn := func(dir string) error {
		o, err := service.New(service.Options{VaultDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		defer o.Close()
		return o.Unlock(1, "123456")
	}
	keep("no vault", unlockIn(filepath.Join(tmp, "none")))
	garbage := filepath.Join(tmp, "garbage")
	if err := os.MkdirAll(garbage, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(garbage, store.DirectoryFile), make([]byte, 8192), 0o600); err != nil {
		t.Fatal(err)
	}
	keep("damaged file", unlockIn(garbage))
	bad := filepath.Join(tmp, "valv-backup.tar")
	if err := os.WriteFile(bad, []byte("not a backup"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = backup.VerifyFile(bad, backup.ReadOptions{Identities: []age.Identity{other.Identity()}})
	keep("backup does not verify", err)

	// Errors that need another process, a full or locked-down disk, an
	// intake file or a non-admin card: the store's values as it returns
	// them.
	keep("vault in use", store.ErrLocked)
	keep("disk full", fmt.Errorf("store: adding document: %w", &fs.PathError{Op: "write", Path: "/vault/c1.valv", Err: syscall.ENOSPC}))
	keep("permission", &fs.PathError{Op: "open", Path: "/vault/" + store.DirectoryFile, Err: syscall.EACCES})
	keep("not admin", store.ErrNotAdmin)
	keep("card removed", card.ErrRemoved)
	keep("intake for another vault", store.ErrIntakeNotForVault)
	keep("intake damaged", fmt.Errorf("%w: it is truncated: 10 bytes of the 20 its envelope announces", store.ErrIntakeDamaged))
	keep("something new", errors.New("store: something nobody foresaw"))
	return errs
}

// explain words every class of engine error in English and in Swedish:
// what happened and what to do. An error of no class keeps the engine's
// English words in a translated frame.
func TestExplainEngineErrors(t *testing.T) {
	errs := engineErrors(t)
	tests := []struct {
		name   string
		en, sv string // part of the sentence
	}{
		{"locked", "The vault is locked. Unlock it again.", "Valvet är låst."},
		{"wrong PIN", "Wrong PIN — 2 tries left.", "Fel PIN-kod — 2 försök kvar."},
		{"card not inserted", "The YubiKey is not inserted. Insert it", "YubiKey-nyckeln sitter inte i."},
		{"card not enrolled", "This YubiKey is not registered in this vault.", "Denna YubiKey är inte registrerad i valvet."},
		{"not a recovery key", "This is not a recovery key.", "Detta är ingen återställningsnyckel."},
		{"another vault's recovery key", "This recovery key belongs to another vault.", "Återställningsnyckeln hör till ett annat valv."},
		{"no customer", "There is no customer with this code", "Det finns ingen kund med denna kod"},
		{"taken code", "This customer code is already in use.", "Kundkoden används redan."},
		{"passphrase needed", "This document has its own passphrase", "Dokumentet har en egen lösenfras"},
		{"wrong passphrase", "That passphrase does not open this document.", "Lösenfrasen öppnar inte dokumentet."},
		{"too large to preview", "too large to show inside Valv", "för stort för att visas i Valv"},
		{"not screened", "has not passed the security screening", "inte godkänd i säkerhetsprövningen"},
		{"no NDA", "no signed NDA on file", "inget undertecknat sekretessavtal"},
		{"no vault", "There is no vault in this folder.", "Det finns inget valv i denna mapp."},
		{"damaged file", "The file " + store.DirectoryFile + " did not open or does not check out", "Filen " + store.DirectoryFile + " gick inte att öppna"},
		{"backup does not verify", "The backup does not check out", "Säkerhetskopian håller inte vid kontrollen"},
		{"vault in use", "The vault is open in another Valv window", "Valvet är öppet i ett annat Valv-fönster"},
		{"disk full", "The disk is full, so this was not saved.", "Disken är full, så detta sparades inte."},
		{"permission", "not allowed to read or write the file " + store.DirectoryFile, "får inte läsa eller skriva filen " + store.DirectoryFile},
		{"not admin", "Only an admin can do this.", "Bara en administratör kan göra detta."},
		{"card removed", "The YubiKey was taken out.", "YubiKey-nyckeln togs ut."},
		{"intake for another vault", "This intake file was sealed for another vault.", "Inlämningsfilen är förseglad för ett annat valv."},
		{"intake damaged", "The intake file is damaged", "Inlämningsfilen är skadad"},
		{"something new", "Valv could not do this: something nobody foresaw", "Valv kunde inte utföra detta. Meddelandet från Valv, på engelska: something nobody foresaw"},
	}
	if len(tests) != len(errs) {
		t.Errorf("%d errors built, %d checked", len(errs), len(tests))
	}
	for _, language := range []string{"en", "sv"} {
		t.Run(language, func(t *testing.T) {
			useLanguage(t, language)
			for _, tt := range tests {
				err, ok := errs[tt.name]
				if !ok {
					t.Errorf("%s: no such error built", tt.name)
					continue
				}
				want := tt.en
				if language == "sv" {
					want = tt.sv
				}
				got := explain(err)
				if !strings.Contains(got, want) {
					t.Errorf("%s: explain(%q) = %q, want %q", tt.name, err, got, want)
				}
				if tt.name != "something new" && strings.Contains(got, strings.TrimPrefix(err.Error(), "store: ")) {
					t.Errorf("%s: the engine's English shows: %q", tt.name, got)
				}
			}
		})
	}
}

// In Swedish, a personnummer whose check digit is wrong shows the
// Swedish reason under the personnummer field, and nothing under the
// others; what was typed stays.
func TestCustomerFormSwedishReason(t *testing.T) {
	useLanguage(t, "sv")
	svc := newFakeService()
	w, _ := newTestWindow(t, svc)
	unlock(t, w, svc)
	test.Tap(findButton(t, w, "Lägg till kund"))
	form := w.body.Objects[0]
	name, pnr, cards := formEntry(t, form, 0), formEntry(t, form, 1), formEntry(t, form, 6)
	test.Type(name, "Greta Garbo")
	test.Type(pnr, "19800101-0000")
	test.Type(cards, "4111 1111 1111 1111\n4111 1111")
	test.Tap(findButton(t, w, "Spara"))
	shows(t, w, "Några fält behöver rättas. Inget sparades.")
	want := "Kontrollsiffran (den sista siffran) stämmer inte. Kontrollera att inget är felskrivet."
	if got := errorUnder(t, form, pnr); got != want {
		t.Errorf("under the personnummer: %q, want %q", got, want)
	}
	if got, want := errorUnder(t, form, cards), "Rad 2: Ett kortnummer har 13 till 19 siffror."; got != want {
		t.Errorf("under the cards: %q, want %q", got, want)
	}
	if got := errorUnder(t, form, name); got != "" {
		t.Errorf("under the name: %q, want nothing", got)
	}
	if pnr.Text != "19800101-0000" || name.Text != "Greta Garbo" {
		t.Error("a refused form lost what was typed")
	}
}

// errorUnder returns the text of the error label under entry e of the
// form, "" if it is hidden.
func errorUnder(t *testing.T, form fyne.CanvasObject, e *widget.Entry) string {
	t.Helper()
	var found *widget.Label
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		switch v := o.(type) {
		case *fyne.Container:
			if len(v.Objects) == 2 && v.Objects[0] == e {
				found, _ = v.Objects[1].(*widget.Label)
				return
			}
			for _, c := range v.Objects {
				walk(c)
			}
		case fyne.Widget:
			r := test.TempWidgetRenderer(t, v)
			for _, c := range r.Objects() {
				walk(c)
			}
		}
	}
	walk(form)
	if found == nil {
		t.Fatal("no error label under the entry")
	}
	if !found.Visible() {
		return ""
	}
	return found.Text
}

// Every reason the store gives a field has a translation for it, so that
// no English message of the store shows in the Swedish form.
func TestEveryFieldReasonTranslated(t *testing.T) {
	useLanguage(t, "sv")
	fields := map[string][]customer.Reason{
		"name":                {customer.ReasonRequired, customer.ReasonTooLong, customer.ReasonUTF8, customer.ReasonControl, customer.ReasonOneLine},
		"personnummer":        {customer.ReasonFormat, customer.ReasonPlus, customer.ReasonLuhn, customer.ReasonDate, customer.ReasonCoordinationDate, customer.ReasonFuture, customer.ReasonTooOld},
		"organisationsnummer": {customer.ReasonChars, customer.ReasonLength, customer.ReasonOrgThirdDigit, customer.ReasonOrgLegalForm, customer.ReasonLuhn},
		"cards":               {customer.ReasonChars, customer.ReasonLength, customer.ReasonNotCard, customer.ReasonLuhn, customer.ReasonTooMany},
		"accounts": {customer.ReasonFormat, customer.ReasonChars, customer.ReasonClearingLength, customer.ReasonClearingFive,
			customer.ReasonClearingCheck, customer.ReasonClearing, customer.ReasonAccountCheck, customer.ReasonIBANChars,
			customer.ReasonIBANCountry, customer.ReasonIBANLength, customer.ReasonIBANFormat, customer.ReasonIBANChecksum, customer.ReasonTooMany},
		"email":        {customer.ReasonFormat, customer.ReasonEmailDomain},
		"phone":        {customer.ReasonChars, customer.ReasonLength},
		"retain_until": {customer.ReasonDate},
		"code":         {customer.ReasonCodeCheck, customer.ReasonLength, customer.ReasonChars},
		"addresses":    {customer.ReasonTooLong, customer.ReasonTooMany, customer.ReasonControl},
		"tags":         {customer.ReasonTooLong, customer.ReasonTooMany},
		"notes":        {customer.ReasonTooLong, customer.ReasonUTF8},
	}
	for field, reasons := range fields {
		for _, r := range reasons {
			e := customer.FieldError{Field: field + "[0]", Message: "ENGLISH", Reason: r, Min: 1, Max: 9}
			if got := fieldText(e); got == "ENGLISH" || strings.Contains(got, "fielderr.") || strings.Contains(got, "<no value>") {
				t.Errorf("%s/%s: %q", field, r, got)
			}
		}
	}
	if got := fieldText(customer.FieldError{Field: "code", Message: "the same code as line 2", Reason: customer.ReasonDuplicate}); got != "the same code as line 2" {
		t.Errorf("a reason without translation: %q", got)
	}
}
