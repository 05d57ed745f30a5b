package main

import (
	"strings"
	"testing"
)

// TestCustomerSearchCLI: `valv customer search QUERY` prints code,
// compartment and the matched field, best first, never a name or number;
// no hit is an error; the audit export has the search without the query.
func TestCustomerSearchCLI(t *testing.T) {
	cv := newCLIVault(t)
	a := strings.TrimSpace(cv.ok(t, cv.admin, "compartment", "create", "Privatkunder"))
	asa := strings.TrimSpace(cv.ok(t, cv.admin, "customer", "add", "--compartment", a,
		"--name", "Åsa Öberg", "--personnummer", "811228-9874", "--tag", "vip"))
	muller := strings.TrimSpace(cv.ok(t, cv.admin, "customer", "add", "--compartment", a,
		"--name", "Hans Müller", "--notes", "Känner Åsa sedan länge"))

	out := cv.ok(t, cv.admin, "customer", "search", "asa")
	if out != asa+"\t"+a+"\tname\n"+muller+"\t"+a+"\tnotes\n" {
		t.Fatalf("search asa: %q", out)
	}
	for _, q := range []string{"19811228-9874", "8112289874", "811228-9874"} {
		if out := cv.ok(t, cv.admin, "customer", "search", q); out != asa+"\t"+a+"\tpersonnummer\n" {
			t.Errorf("search %s: %q", q, out)
		}
	}
	if out := cv.ok(t, cv.admin, "customer", "search", "MULLER"); out != muller+"\t"+a+"\tname\n" {
		t.Errorf("search MULLER: %q", out)
	}
	// Several words, as separate arguments.
	if out := cv.ok(t, cv.admin, "customer", "search", "åsa", "öb"); out != asa+"\t"+a+"\tname\n" {
		t.Errorf("search åsa öb: %q", out)
	}
	if out := cv.ok(t, cv.admin, "customer", "search", "--limit", "1", "asa"); out != asa+"\t"+a+"\tname\n" {
		t.Errorf("search --limit 1: %q", out)
	}
	if rc, out, errOut := cv.valv(t, cv.admin, "customer", "search", "zzz"); rc != 1 || out != "" || !strings.Contains(errOut, "no customer found") {
		t.Errorf("search without hits: %d %q %q", rc, out, errOut)
	}
	// The holder has no grant: nothing is found.
	if rc, out, _ := cv.valv(t, cv.holder, "customer", "search", "asa"); rc != 1 || out != "" {
		t.Errorf("search by a holder without grants: %d %q", rc, out)
	}

	export := cv.ok(t, cv.admin, "audit", "export", "--format", "csv")
	if strings.Count(export, ",search,") != 8 {
		t.Errorf("audit export has %d search entries, want 8:\n%s", strings.Count(export, ",search,"), export)
	}
	// (Letters outside hex digits: ids and times cannot hold them.)
	for _, q := range []string{"asa", "Åsa", "muller", "zzz", "öb"} {
		for _, line := range strings.Split(export, "\n") {
			if strings.Contains(line, ",search,") && strings.Contains(strings.ToLower(line), strings.ToLower(q)) {
				t.Errorf("audit entry holds %q: %s", q, line)
			}
		}
	}
}
