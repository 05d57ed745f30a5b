package ui

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/valv-vault/valv/store/customer"
	"github.com/valv-vault/valv/store/service"
)

// fakeService stands in for store/service: a card with a PIN and PUK,
// customers in two compartments, and a count of every audited read.
type fakeService struct {
	demo  bool
	cards []Card
	err   error

	mu        sync.Mutex
	pin, puk  string
	pinLeft   int
	pukLeft   int
	recovery  string
	unlocked  bool
	removed   chan struct{}
	comps     []Compartment
	customers map[string][]Customer // by compartment id
	docs      map[Code][]Document
	nextCode  int
	calls     map[string]int // audited calls: view, reveal, history, name, list, search
	fd        *fakeDocs      // fake_documents_test.go

	adm *fakeAdmin // the admin screens' state (fake_admin_test.go), made on first use
	ops *fakeOps   // fake_operations_test.go
}

func newFakeService() *fakeService {
	f := &fakeService{
		demo: true, cards: []Card{{Serial: 10000001, Firmware: "5.7.1", Simulated: true}},
		pin: "246810", puk: "13572468", pinLeft: 3, pukLeft: 3, recovery: "AGE-SECRET-KEY-1FAKE",
		comps:     []Compartment{{ID: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", Name: "Kunder Norr"}, {ID: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", Name: "Kunder Syd"}},
		customers: map[string][]Customer{},
		docs:      map[Code][]Document{},
		calls:     map[string]int{},
	}
	names := []string{"Anna Andersson", "Erik Eriksson", "Karin Lind", "Nils Berg", "Sara Åberg"}
	for i, n := range names {
		cid := f.comps[i%2].ID
		c := Customer{Code: fakeCode(i), Name: n, PersonalNumber: fmt.Sprintf("1980010%d-000%d", i+1, i),
			Cards: []string{"4111111111111111"}, RetainUntil: "2030-06-30", Tags: []string{"privat"}}
		f.customers[cid] = append(f.customers[cid], c)
	}
	f.nextCode = len(names)
	f.docs[fakeCode(0)] = []Document{{Name: "avtal.txt", MediaType: "text/plain", Size: 64, Added: time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)}}
	return f
}

// fakeCode is a valid customer code for i.
func fakeCode(i int) Code {
	c, err := customer.ParseCode(fmt.Sprintf("K7Q3MX%02d", i) + "0")
	if err != nil {
		// find the check symbol
		for _, ch := range "0123456789ABCDEFGHJKMNPQRSTVWXYZ*~$=U" {
			if c, err = customer.ParseCode(fmt.Sprintf("K7Q3MX%02d%c", i, ch)); err == nil {
				return c
			}
		}
		panic(err)
	}
	return c
}

func (f *fakeService) count(what string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[what]
}

func (f *fakeService) Demo() bool { return f.demo }
func (f *fakeService) DemoPIN() string {
	if f.demo {
		return f.pin
	}
	return ""
}
func (f *fakeService) DemoPUK() string {
	if f.demo {
		return f.puk
	}
	return ""
}
func (f *fakeService) Cards() ([]Card, error) { return f.cards, f.err }

func (f *fakeService) Unlock(serial uint32, pin string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.pinLeft == 0:
		return service.ErrBlocked
	case pin != f.pin:
		f.pinLeft--
		if f.pinLeft == 0 {
			return service.ErrBlocked
		}
		return &service.WrongPINError{Left: f.pinLeft}
	}
	f.pinLeft = 3
	f.unlocked = true
	f.removed = make(chan struct{})
	return nil
}

func (f *fakeService) Unblock(serial uint32, puk, newPIN string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if puk != f.puk {
		f.pukLeft--
		return &service.WrongPUKError{Left: f.pukLeft}
	}
	f.pin, f.pinLeft, f.unlocked = newPIN, 3, true
	f.removed = make(chan struct{})
	return nil
}

func (f *fakeService) UnlockRecovery(key []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if strings.TrimSpace(string(key)) != f.recovery {
		return errors.New("recovery: this is not the vault's recovery key")
	}
	f.unlocked = true
	return nil
}

func (f *fakeService) Lock() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unlocked = false
	f.calls["lock"]++
	return nil
}

func (f *fakeService) Removed() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.removed == nil {
		return nil
	}
	return f.removed
}

func (f *fakeService) check(what string) error {
	if !f.unlocked {
		return service.ErrLocked
	}
	f.calls[what]++
	return nil
}

func (f *fakeService) Compartments() ([]Compartment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check("compartments"); err != nil {
		return nil, err
	}
	return f.comps, nil
}

func (f *fakeService) Customers(cid string) ([]Code, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check("list"); err != nil {
		return nil, err
	}
	var out []Code
	for _, c := range f.customers[cid] {
		out = append(out, c.Code)
	}
	slices.Sort(out)
	return out, nil
}

func (f *fakeService) find(code Code) (Customer, string, bool) {
	for cid, cs := range f.customers {
		for _, c := range cs {
			if c.Code == code {
				return c, cid, true
			}
		}
	}
	return Customer{}, "", false
}

func (f *fakeService) record(code Code, what string, masked bool) (Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(what); err != nil {
		return Record{}, err
	}
	c, _, ok := f.find(code)
	if !ok {
		return Record{}, errors.New("store: no customer with that code in the compartments this key opens")
	}
	r := Record{Customer: c, Version: 1, Time: time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC), Masked: masked}
	if masked {
		r.Customer = c.Masked()
	}
	return r, nil
}

func (f *fakeService) CustomerName(code Code) (string, error) {
	r, err := f.record(code, "name", true)
	return r.Customer.Name, err
}

func (f *fakeService) Search(query string, limit int) ([]SearchHit, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check("search"); err != nil {
		return nil, err
	}
	needle := strings.ToUpper(strings.ReplaceAll(query, "-", ""))
	var hits []SearchHit
	for cid, cs := range f.customers {
		for _, c := range cs {
			if strings.Contains(strings.ReplaceAll(string(c.Code), "-", ""), needle) {
				hits = append(hits, SearchHit{Code: c.Code, Compartment: cid, Score: 1, Field: "code"})
			}
		}
	}
	slices.SortFunc(hits, func(a, b SearchHit) int { return strings.Compare(string(a.Code), string(b.Code)) })
	return hits, nil
}

func (f *fakeService) View(code Code) (Record, error)   { return f.record(code, "view", true) }
func (f *fakeService) Reveal(code Code) (Record, error) { return f.record(code, "reveal", false) }
func (f *fakeService) History(code Code) ([]Record, error) {
	r, err := f.record(code, "history", true)
	if err != nil {
		return nil, err
	}
	return []Record{r}, nil
}

func (f *fakeService) Documents(code Code) ([]Document, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check("documents"); err != nil {
		return nil, err
	}
	return f.docs[code], nil
}

func (f *fakeService) AddCustomer(cid string, c Customer) (Code, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check("add"); err != nil {
		return "", err
	}
	if err := c.Normalize(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		return "", err
	}
	c.Code = fakeCode(f.nextCode)
	f.nextCode++
	f.customers[cid] = append(f.customers[cid], c)
	return c.Code, nil
}

func (f *fakeService) EditCustomer(code Code, c Customer) (Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check("edit"); err != nil {
		return Record{}, err
	}
	if err := c.Normalize(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		return Record{}, err
	}
	_, cid, _ := f.find(code)
	for i := range f.customers[cid] {
		if f.customers[cid][i].Code == code {
			c.Code = code
			f.customers[cid][i] = c
		}
	}
	return Record{Customer: c, Version: 2}, nil
}

// fakeClock runs timers when the test advances it.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Duration
	timers []*fakeTimer
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Duration
	f       func()
	stopped bool
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now + d, f: f}
	c.timers = append(c.timers, t)
	return t
}

// Advance moves the clock on by d and runs the timers due, in order.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now += d
	var due []*fakeTimer
	for _, t := range c.timers {
		if !t.stopped && t.at <= c.now {
			t.stopped = true
			due = append(due, t)
		}
	}
	c.mu.Unlock()
	slices.SortStableFunc(due, func(a, b *fakeTimer) int { return int(a.at - b.at) })
	for _, t := range due {
		t.f()
	}
}
