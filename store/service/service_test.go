package service

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/valv-vault/valv/crypto/card"
	"github.com/valv-vault/valv/store"
	"github.com/valv-vault/valv/store/customer"
)

// audited reports whether the session's audit logs hold an entry of the
// action on the object.
func audited(t *testing.T, s *Service, action store.Action, object string) bool {
	t.Helper()
	sess, err := s.session()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	err = sess.ExportAudit(func(e store.ExportedEntry) error {
		found = found || e.Action == action && e.Object == object
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// TestDemoService drives a real demo vault through the service, in one
// test because demo mode serves its card from inside the process and
// libpcsclite keeps the first socket of a process. It ends with Close,
// which must leave nothing in the temporary folder.
func TestDemoService(t *testing.T) {
	tmp := t.TempDir()
	fresh := t.TempDir() // for the first-run test's vault
	t.Setenv("TMPDIR", tmp)
	start := time.Now()
	s, err := New(Options{Demo: true})
	if errors.Is(err, card.ErrSimulatorStarted) {
		t.Skip("demo mode can start once per test process (go test -count=1):", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("demo vault built in %v", time.Since(start).Round(time.Millisecond))
	closed := false
	defer func() {
		if !closed {
			s.Close()
		}
	}()

	t.Run("card", func(t *testing.T) {
		if !s.Demo() || s.DemoPIN() == "" || s.DemoPIN() == card.DemoPIN {
			t.Errorf("Demo() = %v, DemoPIN() = %q: want a demo PIN other than the factory PIN", s.Demo(), s.DemoPIN())
		}
		cards, err := s.Cards()
		if err != nil {
			t.Fatal(err)
		}
		if len(cards) != 2 || cards[0].Serial != card.DemoSerial || !cards[0].Simulated || cards[1].Serial != DemoBlankSerial {
			t.Fatalf("cards = %+v, want the simulated demo card and the blank one", cards)
		}
	})

	t.Run("wrong PIN", func(t *testing.T) {
		err := s.Unlock(card.DemoSerial, "000000")
		var wrong *WrongPINError
		if !errors.As(err, &wrong) || wrong.Left != 2 {
			t.Fatalf("wrong PIN: %v, want 2 tries left", err)
		}
		if s.Unlocked() {
			t.Fatal("unlocked with a wrong PIN")
		}
	})

	var added Code
	t.Run("contents", func(t *testing.T) {
		if err := s.Unlock(card.DemoSerial, s.DemoPIN()); err != nil {
			t.Fatal(err)
		}
		comps, err := s.Compartments()
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		total := 0
		for _, c := range comps {
			names = append(names, c.Name)
			codes, err := s.Customers(c.ID)
			if err != nil {
				t.Fatal(err)
			}
			total += len(codes)
		}
		if !slices.Equal(names, demoCompartments) || total != demoCustomers {
			t.Fatalf("compartments %q with %d customers; want %q with %d", names, total, demoCompartments, demoCustomers)
		}
		codes, _ := s.Customers(comps[0].ID)
		var docs []Document
		for _, c := range codes {
			ds, err := s.Documents(c)
			if err != nil {
				t.Fatal(err)
			}
			docs = append(docs, ds...)
		}
		var docNames []string
		for _, d := range docs {
			docNames = append(docNames, d.Name+" "+d.MediaType)
		}
		slices.Sort(docNames)
		if want := []string{"anteckningar.txt text/plain", "avtal.txt text/plain", "id-kopia.png image/png"}; !slices.Equal(docNames, want) {
			t.Errorf("documents %q, want %q", docNames, want)
		}

		// The view is masked; the record has a personnummer.
		r, err := s.View(codes[0])
		if err != nil {
			t.Fatal(err)
		}
		if !r.Masked || r.Customer.PersonalNumber == "" || !strings.HasSuffix(r.Customer.PersonalNumber, "****") {
			t.Errorf("view not masked: masked=%v personnummer %q", r.Masked, r.Customer.PersonalNumber)
		}

		// Bad fields come back per field; nothing is added.
		_, err = s.AddCustomer(comps[1].ID, Customer{Name: "Test Testsson", PersonalNumber: "19800101-0000"})
		fe, ok := customer.AsFieldErrors(err)
		if !ok || fe.For("personnummer") == "" {
			t.Fatalf("bad personnummer: %v", err)
		}
		added, err = s.AddCustomer(comps[1].ID, Customer{Name: "Test Testsson", PersonalNumber: "19800101-0001"})
		if err != nil {
			t.Fatal(err)
		}
		hits, err := s.Search(string(added), 10)
		if err != nil || len(hits) != 1 || hits[0].Code != added || hits[0].Compartment != comps[1].ID {
			t.Fatalf("search for the new code: %+v, %v", hits, err)
		}
		// The start of a code, typed in lower case, finds it once it
		// holds a digit (words are never read as codes).
		start := strings.ReplaceAll(string(added), "-", "")
		n := 3
		for n < len(start) && !strings.ContainsAny(start[:n], "0123456789") {
			n++
		}
		hits, err = s.Search(strings.ToLower(start[:n]), 0)
		if err != nil || !slices.ContainsFunc(hits, func(h SearchHit) bool { return h.Code == added }) {
			t.Fatalf("search for the code's first %d symbols: %+v, %v", n, hits, err)
		}

		// Reveal is the audited path.
		if audited(t, s, store.ActionReveal, string(added)) {
			t.Fatal("a reveal is logged before any")
		}
		r, err = s.Reveal(added)
		if err != nil || r.Masked || r.Customer.PersonalNumber != "19800101-0001" {
			t.Fatalf("reveal: %+v %v", r, err)
		}
		if !audited(t, s, store.ActionReveal, string(added)) {
			t.Error("the reveal is not in the audit log")
		}

		// An edit is a new version in the history.
		r.Customer.Notes = "Ändrad i testet."
		if _, err := s.EditCustomer(added, r.Customer); err != nil {
			t.Fatal(err)
		}
		hist, err := s.History(added)
		if err != nil || len(hist) != 2 || hist[0].Version != 2 {
			t.Fatalf("history: %d versions, %v", len(hist), err)
		}

		if err := s.Lock(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.View(added); !errors.Is(err, ErrLocked) {
			t.Fatalf("view after Lock: %v, want ErrLocked", err)
		}
	})

	t.Run("PUK", func(t *testing.T) {
		var err error
		for range 3 {
			err = s.Unlock(card.DemoSerial, "000000")
		}
		if !errors.Is(err, ErrBlocked) {
			t.Fatalf("third wrong PIN: %v, want ErrBlocked", err)
		}
		if err := s.Unlock(card.DemoSerial, s.DemoPIN()); !errors.Is(err, ErrBlocked) {
			t.Fatalf("right PIN on a blocked card: %v", err)
		}
		var wrong *WrongPUKError
		if err := s.Unblock(card.DemoSerial, "87654321", "11223344"); !errors.As(err, &wrong) || wrong.Left != 2 {
			t.Fatalf("wrong PUK: %v", err)
		}
		if err := s.Unblock(card.DemoSerial, s.DemoPUK(), "11223344"); err != nil {
			t.Fatal(err)
		}
		if !s.Unlocked() {
			t.Fatal("not unlocked after the PUK")
		}
		s.Lock()
		if err := s.Unlock(card.DemoSerial, "11223344"); err != nil {
			t.Fatalf("the new PIN: %v", err)
		}
		s.Lock()
	})

	t.Run("recovery", func(t *testing.T) {
		if err := s.UnlockRecovery([]byte("AGE-SECRET-KEY-1NOTAKEY")); err == nil || s.Unlocked() {
			t.Fatalf("a bad recovery key unlocked: %v", err)
		} else if strings.Contains(err.Error(), "NOTAKEY") {
			t.Errorf("the error quotes the key: %v", err)
		}
		data, err := os.ReadFile(s.DemoRecoveryFile())
		if err != nil {
			t.Fatal(err)
		}
		if err := s.UnlockRecovery(data); err != nil {
			t.Fatal(err)
		}
		if comps, err := s.Compartments(); err != nil || len(comps) != 2 {
			t.Fatalf("recovery key opens %d compartments, %v", len(comps), err)
		}
		if s.Removed() != nil {
			t.Error("a recovery session reports a card")
		}
		s.Lock()
	})

	t.Run("documents", func(t *testing.T) { testDocuments(t, s, "11223344") })
	t.Run("admin", func(t *testing.T) { testAdmin(t, s, "11223344") })
	t.Run("first run", func(t *testing.T) { testFirstRun(t, s, fresh) })

	t.Run("operations", func(t *testing.T) { testOperations(t, s, "11223344") })

	t.Run("card removed", func(t *testing.T) {
		if err := s.Unlock(card.DemoSerial, "11223344"); err != nil {
			t.Fatal(err)
		}
		removed := s.Removed()
		s.sim.Reader.Remove()
		select {
		case <-removed:
		case <-time.After(10 * time.Second):
			t.Fatal("removal not reported within 10 s")
		}
		if s.Unlocked() {
			t.Error("still unlocked after the card was removed")
		}
		if _, err := s.Compartments(); !errors.Is(err, ErrLocked) {
			t.Errorf("compartments after removal: %v", err)
		}
	})

	closed = true
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "*")); len(left) != 0 {
		t.Errorf("demo mode left %q behind", left)
	}
}

// Made-up customers pass every check of package customer.
func TestFakeCustomersAreValid(t *testing.T) {
	for i, c := range fakeCustomers(1, 500) {
		if err := c.Normalize(time.Now()); err != nil {
			t.Fatalf("customer %d: %v", i, err)
		}
	}
}
