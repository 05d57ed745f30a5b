package recovery

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"filippo.io/age"
	"filippo.io/age/armor"
)

const testWorkFactor = MinWorkFactor // fast; the default is tested once

func mustGenerate(t testing.TB) *Key {
	t.Helper()
	k, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// ageCLI returns the path of Debian's age command, or skips the test
// (fails it if VALV_REQUIRE_TOOLS=1).
func ageCLI(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("age")
	if err != nil {
		if os.Getenv("VALV_REQUIRE_TOOLS") == "1" {
			t.Fatalf("the age command is required (apt-get install age): %v", err)
		}
		t.Skipf("the age command is not installed: %v", err)
	}
	return p
}

func encryptTo(t *testing.T, msg []byte, rs ...age.Recipient) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := age.Encrypt(&b, rs...)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(msg)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestIdentityFileFormat(t *testing.T) {
	k := mustGenerate(t)
	lines := strings.Split(string(k.IdentityFile()), "\n")
	if len(lines) != 4 || lines[3] != "" {
		t.Fatalf("identity file has lines %q", lines)
	}
	if !regexp.MustCompile(`^# created: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`).MatchString(lines[0]) {
		t.Errorf("line 1 = %q", lines[0])
	}
	if lines[1] != "# public key: "+k.Recipient().String() {
		t.Errorf("line 2 = %q", lines[1])
	}
	if lines[2] != k.Identity().String() || !strings.HasPrefix(lines[2], "AGE-SECRET-KEY-1") {
		t.Errorf("line 3 is not the secret key")
	}
	// The age library reads it as one X25519 identity.
	ids, err := age.ParseIdentities(bytes.NewReader(k.IdentityFile()))
	if err != nil || len(ids) != 1 {
		t.Fatalf("age.ParseIdentities: %v, %d identities", err, len(ids))
	}
	if _, ok := ids[0].(*age.X25519Identity); !ok {
		t.Fatalf("age parsed a %T", ids[0])
	}
}

func TestWriteFileAndLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "recovery.txt")
	k := mustGenerate(t)
	if err := k.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Identity().String() != k.Identity().String() || !got.Created().Equal(k.Created()) {
		t.Error("Load returned a different key")
	}

	// No overwrite, and the first file is untouched.
	before, _ := os.ReadFile(path)
	err = mustGenerate(t).WriteFile(path)
	if !errors.Is(err, ErrExists) {
		t.Fatalf("second WriteFile: %v, want ErrExists", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatal("the existing file was changed")
	}
	// A dangling symlink counts as existing.
	link := filepath.Join(dir, "link.txt")
	os.Symlink(filepath.Join(dir, "nowhere"), link)
	if err := k.WriteFile(link); !errors.Is(err, ErrExists) {
		t.Errorf("WriteFile over a symlink: %v", err)
	}
	assertNoTempFiles(t, dir)
}

func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func TestWriteFileConcurrent(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "recovery.txt")
	keys := make([]*Key, 8)
	for i := range keys {
		keys[i] = mustGenerate(t)
	}
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	for i, k := range keys {
		wg.Go(func() { errs[i] = k.WriteFile(path) })
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner == -1:
			winner = i
		case err == nil:
			t.Fatalf("writers %d and %d both succeeded", winner, i)
		case !errors.Is(err, ErrExists):
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	if winner == -1 {
		t.Fatal("no writer succeeded")
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Identity().String() != keys[winner].Identity().String() {
		t.Fatal("the file does not hold the winner's key")
	}
	assertNoTempFiles(t, dir)
}

func TestLinkRenameFallback(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.WriteFile(a, []byte("a"), 0o600)
	os.WriteFile(b, []byte("b"), 0o600)
	if err := linkRename(a, b); !errors.Is(err, ErrExists) {
		t.Fatalf("linkRename onto an existing file: %v", err)
	}
	if got, _ := os.ReadFile(b); string(got) != "b" {
		t.Fatal("existing file changed")
	}
	c := filepath.Join(dir, "c")
	if err := linkRename(a, c); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(a); !errors.Is(err, fs.ErrNotExist) {
		t.Error("source still exists")
	}
	if got, _ := os.ReadFile(c); string(got) != "a" {
		t.Error("target has the wrong contents")
	}
}

func TestWriteFileMissingDir(t *testing.T) {
	err := mustGenerate(t).WriteFile(filepath.Join(t.TempDir(), "no", "such", "dir", "recovery.txt"))
	if err == nil {
		t.Fatal("WriteFile into a missing folder succeeded")
	}
}

// TestAgeCLIDecrypts is the point of the recovery key: Debian's stock age
// opens what Valv encrypted, with the identity file Valv wrote.
func TestAgeCLIDecrypts(t *testing.T) {
	ageBin := ageCLI(t)
	dir := t.TempDir()
	k := mustGenerate(t)
	idPath := filepath.Join(dir, "recovery.txt")
	if err := k.WriteFile(idPath); err != nil {
		t.Fatal(err)
	}
	other, _ := age.GenerateX25519Identity()
	msg := []byte("backup manifest: 3 compartments\n")
	file := filepath.Join(dir, "vault-20260101T000000Z.valvbak")
	os.WriteFile(file, encryptTo(t, msg, other.Recipient(), k.Recipient()), 0o600)

	out, err := exec.Command(ageBin, "-d", "-i", idPath, file).Output()
	if err != nil {
		t.Fatalf("age -d -i recovery.txt: %v", err)
	}
	if !bytes.Equal(out, msg) {
		t.Fatalf("age printed %q", out)
	}
}

func TestProtectedRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "recovery.age")
	k := mustGenerate(t)
	const pass = "correct horse battery staple"
	if err := k.WriteProtectedFile(path, pass, testWorkFactor); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if !bytes.HasPrefix(data, []byte("-----BEGIN AGE ENCRYPTED FILE-----\n")) {
		t.Fatalf("protected copy is not armored: %.40q", data)
	}
	if bytes.Contains(data, []byte("AGE-SECRET-KEY")) {
		t.Fatal("protected copy contains the key in the clear")
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
	got, err := LoadProtected(path, pass)
	if err != nil {
		t.Fatal(err)
	}
	if got.Identity().String() != k.Identity().String() {
		t.Fatal("LoadProtected returned a different key")
	}
	if _, err := LoadProtected(path, "wrong"); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "passphrase") {
		t.Fatalf("Load of the protected copy: %v", err)
	}
	if err := k.WriteProtectedFile(path, pass, testWorkFactor); !errors.Is(err, ErrExists) {
		t.Fatalf("overwrite: %v", err)
	}

	// A plain identity file is not a protected copy.
	plain := filepath.Join(dir, "recovery.txt")
	k.WriteFile(plain)
	if _, err := LoadProtected(plain, pass); err == nil {
		t.Fatal("LoadProtected accepted a plain identity file")
	}

	// Binary (unarmored) copies are read too.
	bin := filepath.Join(dir, "recovery.bin.age")
	r, _ := age.NewScryptRecipient(pass)
	r.SetWorkFactor(testWorkFactor)
	os.WriteFile(bin, encryptTo(t, k.IdentityFile(), r), 0o600)
	if got, err := LoadProtected(bin, pass); err != nil || got.Identity().String() != k.Identity().String() {
		t.Fatalf("binary protected copy: %v", err)
	}

	// A file encrypted to a key, not a passphrase.
	x := filepath.Join(dir, "x.age")
	os.WriteFile(x, encryptTo(t, k.IdentityFile(), k.Recipient()), 0o600)
	if _, err := LoadProtected(x, pass); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("file for a key: %v", err)
	}
}

func TestProtectedDefaultWorkFactor(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("scrypt at work factor 18 takes a second, and over ten under the race detector")
	}
	k := mustGenerate(t)
	data, err := k.ProtectedFile("passphrase", 0)
	if err != nil {
		t.Fatal(err)
	}
	hdr, err := io.ReadAll(armor.NewReader(bytes.NewReader(data)))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^-> scrypt [A-Za-z0-9+/]{22} 18$`).Match(hdr) {
		t.Fatalf("header has no scrypt stanza with work factor 18:\n%.200s", hdr)
	}
}

func TestProtectedRejects(t *testing.T) {
	k := mustGenerate(t)
	if _, err := k.ProtectedFile("", 0); err == nil {
		t.Error("empty passphrase accepted")
	}
	for _, wf := range []int{-1, 1, MinWorkFactor - 1, MaxWorkFactor + 1} {
		if _, err := k.ProtectedFile("p", wf); err == nil {
			t.Errorf("work factor %d accepted", wf)
		}
	}
}

func TestParseErrors(t *testing.T) {
	k := mustGenerate(t)
	secret := k.Identity().String()
	other := mustGenerate(t)
	// Change one character of the data part: the checksum catches it.
	i := len(secret) - 10
	c := byte('q')
	if secret[i] == 'Q' {
		c = 'p'
	}
	typo := secret[:i] + strings.ToUpper(string(c)) + secret[i+1:]
	cases := map[string]string{
		"empty":              "",
		"comments only":      "# created: 2026-01-01T00:00:00Z\n# public key: " + k.Recipient().String() + "\n",
		"two keys":           secret + "\n" + other.Identity().String() + "\n",
		"typo":               typo + "\n",
		"truncated":          secret[:len(secret)-1] + "\n",
		"wrong public key":   "# public key: " + other.Recipient().String() + "\n" + secret + "\n",
		"plugin identity":    "AGE-PLUGIN-YUBIKEY-1FESMCQYZ8EYCUAGF34XAM\n",
		"recipient":          k.Recipient().String() + "\n",
		"lower case":         strings.ToLower(secret) + "\n",
		"post-quantum":       "AGE-SECRET-KEY-PQ-1QQQQ\n",
		"garbage":            "hello world\n",
		"binary":             "\x00\x01\x02",
		"key with text next": secret + " extra\n",
	}
	for name, data := range cases {
		_, err := Parse([]byte(data))
		if err == nil {
			t.Errorf("%s: Parse succeeded", name)
			continue
		}
		if leaks(err.Error(), secret) || leaks(err.Error(), typo) {
			t.Errorf("%s: error quotes the key: %v", name, err)
		}
	}
	// Comments, blank lines and surrounding spaces are fine.
	ok := "\n# a comment\n\n  " + secret + "  \n# trailing comment\n"
	if got, err := Parse([]byte(ok)); err != nil || got.Identity().String() != secret {
		t.Errorf("Parse with comments: %v", err)
	}
	// age-keygen's own output format.
	keygen := fmt.Sprintf("# created: %s\n# public key: %s\n%s\n", time.Now().Format(time.RFC3339), k.Recipient(), secret)
	if _, err := Parse([]byte(keygen)); err != nil {
		t.Errorf("age-keygen format: %v", err)
	}
}

// leaks reports whether msg contains any 6-character piece of the data
// part of secret.
func leaks(msg, secret string) bool {
	data := strings.TrimPrefix(secret, "AGE-SECRET-KEY-1")
	for i := 0; i+6 <= len(data); i++ {
		if strings.Contains(strings.ToUpper(msg), data[i:i+6]) {
			return true
		}
	}
	return false
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "missing.txt")); err == nil || !errors.Is(err, fs.ErrNotExist) && !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
	big := filepath.Join(dir, "big.txt")
	os.WriteFile(big, bytes.Repeat([]byte("# "), maxFileSize), 0o600)
	if _, err := Load(big); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("big file: %v", err)
	}
	if _, err := LoadProtected(big, "p"); err == nil {
		t.Error("LoadProtected of a big file succeeded")
	}
	if _, err := Load(dir); err == nil {
		t.Error("Load of a folder succeeded")
	}
}

func TestStringHidesSecret(t *testing.T) {
	k := mustGenerate(t)
	secret := k.Identity().String()
	for _, f := range []string{"%v", "%+v", "%s", "%#v"} {
		if s := fmt.Sprintf(f, k); leaks(s, secret) {
			t.Errorf("%s prints the secret key: %s", f, s)
		}
	}
}

func TestSheet(t *testing.T) {
	k := mustGenerate(t)
	k.created = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	sheet := k.Sheet("Kundregister\x1b[31m Norr\u202e")
	secret := k.Identity().String()
	for _, want := range []string{
		"Vault:    Kundregister[31m Norr\n",
		"Created:  2026-03-14 (UTC)",
		k.Recipient().String(),
		"  " + secret + "\n",
		"age -d -i recovery.txt FILE",
	} {
		if !strings.Contains(sheet, want) {
			t.Errorf("sheet lacks %q", want)
		}
	}
	if strings.ContainsAny(sheet, "\x1b\u202e") {
		t.Error("sheet contains control characters from the vault name")
	}
	for _, line := range strings.Split(sheet, "\n") {
		if max := 72; utf8.RuneCountInString(line) > max && line != "  "+secret {
			t.Errorf("line longer than %d columns: %q", max, line)
		}
	}

	// The grouped form, typed back in, gives the key.
	start := strings.Index(sheet, "groups, to read aloud")
	end := strings.Index(sheet, "To open a backup")
	block := sheet[strings.Index(sheet[start:], "\n")+start+1 : end]
	var numbered int
	for _, line := range strings.Split(block, "\n") {
		if regexp.MustCompile(`^  \d: ([0-9A-Z]{4} ){0,4}[0-9A-Z]{1,4}$`).MatchString(line) {
			numbered++
		}
	}
	if numbered != 3 {
		t.Errorf("want 3 numbered group lines, got %d in\n%s", numbered, block)
	}
	got, err := ParseTyped(block)
	if err != nil {
		t.Fatalf("ParseTyped(grouped block): %v", err)
	}
	if got.Identity().String() != secret {
		t.Fatal("grouped block gives another key")
	}

	if s := (&Key{identity: k.identity}).Sheet(""); !strings.Contains(s, "Created:  unknown") || !strings.Contains(s, "(unnamed vault)") {
		t.Error("sheet without date or name")
	}
	long := k.Sheet(strings.Repeat("å", 100))
	if !strings.Contains(long, strings.Repeat("å", 60)+"…\n") {
		t.Error("long vault name not shortened")
	}
}

func TestParseTyped(t *testing.T) {
	k := mustGenerate(t)
	secret := k.Identity().String()
	for _, typed := range []string{
		secret,
		strings.ToLower(secret),
		"  " + secret[:20] + "\n" + secret[20:40] + " " + secret[40:] + "\n",
	} {
		got, err := ParseTyped(typed)
		if err != nil {
			t.Fatalf("ParseTyped: %v", err)
		}
		if got.Identity().String() != secret {
			t.Fatal("different key")
		}
	}
	if _, err := ParseTyped(secret[:len(secret)-2]); err == nil {
		t.Error("a short key was accepted")
	}
}
