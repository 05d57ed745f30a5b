package ui

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// loadStrings merges every translations/*.<language>.json file (one per
// group of screens), failing on a key defined twice.
func loadStrings(t *testing.T, language string) map[string]string {
	t.Helper()
	names, err := fs.Glob(translations, "translations/*."+language+".json")
	if err != nil || len(names) == 0 {
		t.Fatalf("no translation files for %s: %v", language, err)
	}
	all := map[string]string{}
	for _, name := range names {
		data, err := translations.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]string
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for k, v := range m {
			if _, dup := all[k]; dup {
				t.Errorf("%s: key %q is defined in another file too", name, k)
			}
			all[k] = v
		}
	}
	return all
}

// Every key used in the code has an English and a Swedish string, with
// the same placeholders, and no translation file has keys the code does
// not use.
func TestEveryKeyTranslated(t *testing.T) {
	en, sv := loadStrings(t, "en"), loadStrings(t, "sv")
	used := map[string]bool{}
	call := regexp.MustCompile(`\bT\("([^"]+)"`)
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range call.FindAllStringSubmatch(string(src), -1) {
			used[m[1]] = true
		}
	}
	if len(used) < 50 {
		t.Fatalf("found only %d keys in the code; the pattern is wrong", len(used))
	}
	placeholder := regexp.MustCompile(`\{\{\.[A-Za-z]+\}\}`)
	for key := range used {
		e, okE := en[key]
		s, okS := sv[key]
		if !okE || !okS || e == "" || s == "" {
			t.Errorf("key %q: English %v, Swedish %v", key, okE, okS)
			continue
		}
		pe, ps := placeholder.FindAllString(e, -1), placeholder.FindAllString(s, -1)
		slices.Sort(pe)
		slices.Sort(ps)
		if !slices.Equal(pe, ps) {
			t.Errorf("key %q: placeholders %v in English, %v in Swedish", key, pe, ps)
		}
	}
	for _, m := range []map[string]string{en, sv} {
		for key := range m {
			if !used[key] {
				t.Errorf("key %q is translated but not used", key)
			}
		}
	}
}

// The window speaks Swedish when the system locale is Swedish.
func TestSwedishFromLocale(t *testing.T) {
	useLanguage(t, "sv")
	svc := newFakeService()
	w, _ := newTestWindow(t, svc)
	shows(t, w, "Lås upp valvet")
	enter(w.unlock.pin, "000000")
	shows(t, w, "Fel PIN-kod — 2 försök kvar.")
}
