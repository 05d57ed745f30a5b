// Package recovery makes and reads the vault's recovery key: an age X25519
// identity created with the vault, which is a recipient of every
// compartment key and every backup.
//
// The recovery key exists so that the vault can be opened with no Valv
// installed: its identity file is exactly what age-keygen writes, so
//
//	age -d -i recovery.txt FILE
//
// with the stock age command line opens any backup. It is shown once as a
// printable sheet ([Key.Sheet]) and may also be written as a
// passphrase-protected copy ([Key.WriteProtectedFile]): an armored age file
// encrypted with age's scrypt recipient, which "age -d" opens after asking
// for the passphrase, giving back the identity file.
//
// Files are written atomically with mode 0600 and never overwrite an
// existing file. The formats are described in SPEC.md next to this file.
package recovery

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"
)

const (
	// DefaultWorkFactor is the scrypt work factor (log2 N) of the
	// passphrase-protected copy: about a second on a current machine.
	DefaultWorkFactor = 18

	// MinWorkFactor and MaxWorkFactor bound the accepted work factors.
	// age refuses to decrypt above 22 by default.
	MinWorkFactor = 10
	MaxWorkFactor = 22

	// maxFileSize bounds what Load and LoadProtected read. An identity file
	// is under 200 bytes; its protected copy under 1 KiB.
	maxFileSize = 64 << 10

	secretPrefix = "AGE-SECRET-KEY-1"
	armorHeader  = "-----BEGIN AGE ENCRYPTED FILE-----"
	binaryHeader = "age-encryption.org/"
)

var (
	// ErrExists is returned (wrapped) when the file to write already exists.
	ErrExists = errors.New("recovery: file already exists; choose another name or move the old file away first")

	// ErrWrongPassphrase is returned by LoadProtected when the passphrase
	// does not open the file.
	ErrWrongPassphrase = errors.New("recovery: wrong passphrase for the protected recovery key (or the file is damaged)")
)

// A Key is the vault's recovery key.
type Key struct {
	identity *age.X25519Identity
	created  time.Time
}

// Generate makes a new recovery key.
func Generate() (*Key, error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, fmt.Errorf("recovery: generating key: %v", err)
	}
	return &Key{identity: id, created: time.Now().UTC().Truncate(time.Second)}, nil
}

// Recipient returns the public recipient to encrypt to.
func (k *Key) Recipient() *age.X25519Recipient { return k.identity.Recipient() }

// Identity returns the age identity that decrypts.
func (k *Key) Identity() *age.X25519Identity { return k.identity }

// Created returns when the key was generated, or the zero time if a loaded
// file did not say.
func (k *Key) Created() time.Time { return k.created }

// String describes the key by its public recipient. It never prints the
// secret key.
func (k *Key) String() string { return "recovery key " + k.Recipient().String() }

// IdentityFile returns the contents of the identity file, in the format of
// age-keygen:
//
//	# created: 2006-01-02T15:04:05Z
//	# public key: age1…
//	AGE-SECRET-KEY-1…
func (k *Key) IdentityFile() []byte {
	var b bytes.Buffer
	if !k.created.IsZero() {
		fmt.Fprintf(&b, "# created: %s\n", k.created.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(&b, "# public key: %s\n", k.Recipient())
	fmt.Fprintf(&b, "%s\n", k.identity)
	return b.Bytes()
}

// WriteFile writes the identity file to path, with mode 0600, atomically,
// refusing to overwrite an existing file (the error then wraps
// [ErrExists]). The result is what "age -d -i" reads.
func (k *Key) WriteFile(path string) error {
	data := k.IdentityFile()
	defer clear(data)
	if err := writeNewFile(path, data); err != nil {
		return fmt.Errorf("recovery: writing identity file: %w", err)
	}
	return nil
}

// ProtectedFile returns the identity file encrypted to an age scrypt
// recipient with the passphrase, ASCII-armored so it can also be printed.
// workFactor is log2 of the scrypt N parameter; 0 means
// [DefaultWorkFactor].
func (k *Key) ProtectedFile(passphrase string, workFactor int) ([]byte, error) {
	if passphrase == "" {
		return nil, errors.New("recovery: the passphrase is empty; choose a passphrase for the protected copy")
	}
	if workFactor == 0 {
		workFactor = DefaultWorkFactor
	}
	if workFactor < MinWorkFactor || workFactor > MaxWorkFactor {
		return nil, fmt.Errorf("recovery: scrypt work factor %d is outside %d–%d", workFactor, MinWorkFactor, MaxWorkFactor)
	}
	r, err := age.NewScryptRecipient(passphrase)
	if err != nil {
		return nil, fmt.Errorf("recovery: %v", err)
	}
	r.SetWorkFactor(workFactor)
	var out bytes.Buffer
	aw := armor.NewWriter(&out)
	w, err := age.Encrypt(aw, r)
	if err != nil {
		return nil, fmt.Errorf("recovery: encrypting: %v", err)
	}
	data := k.IdentityFile()
	defer clear(data)
	if _, err := w.Write(data); err != nil {
		return nil, fmt.Errorf("recovery: encrypting: %v", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("recovery: encrypting: %v", err)
	}
	if err := aw.Close(); err != nil {
		return nil, fmt.Errorf("recovery: encrypting: %v", err)
	}
	return out.Bytes(), nil
}

// WriteProtectedFile writes [Key.ProtectedFile] to path like
// [Key.WriteFile]: mode 0600, atomically, never overwriting. "age -d
// FILE" asks for the passphrase and prints the identity file.
func (k *Key) WriteProtectedFile(path, passphrase string, workFactor int) error {
	data, err := k.ProtectedFile(passphrase, workFactor)
	if err != nil {
		return err
	}
	if err := writeNewFile(path, data); err != nil {
		return fmt.Errorf("recovery: writing protected copy: %w", err)
	}
	return nil
}

// Load reads an identity file written by [Key.WriteFile] or by age-keygen.
func Load(path string) (*Key, error) {
	data, err := readSmall(path)
	if err != nil {
		return nil, err
	}
	defer clear(data)
	if looksEncrypted(data) {
		return nil, fmt.Errorf("recovery: %s is the passphrase-protected copy; open it with its passphrase", path)
	}
	k, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return k, nil
}

// LoadProtected reads a passphrase-protected copy written by
// [Key.WriteProtectedFile]. A wrong passphrase gives [ErrWrongPassphrase].
func LoadProtected(path, passphrase string) (*Key, error) {
	data, err := readSmall(path)
	if err != nil {
		return nil, err
	}
	if !looksEncrypted(data) {
		return nil, fmt.Errorf("recovery: %s is not passphrase-protected; load it as a plain recovery key file", path)
	}
	id, err := age.NewScryptIdentity(passphrase)
	if err != nil {
		return nil, fmt.Errorf("recovery: %v", err)
	}
	var src io.Reader = bytes.NewReader(data)
	if bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte(armorHeader)) {
		src = armor.NewReader(bytes.NewReader(data))
	}
	r, err := age.Decrypt(src, id)
	var noMatch *age.NoIdentityMatchError
	if errors.As(err, &noMatch) {
		return nil, ErrWrongPassphrase
	}
	if err != nil {
		return nil, fmt.Errorf("recovery: opening %s: %v", path, err)
	}
	plain, err := io.ReadAll(io.LimitReader(r, maxFileSize))
	defer clear(plain)
	if err != nil {
		return nil, fmt.Errorf("recovery: opening %s: %v (the file is damaged)", path, err)
	}
	k, err := Parse(plain)
	if err != nil {
		return nil, fmt.Errorf("%w (inside %s)", err, path)
	}
	return k, nil
}

func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("recovery: %v", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("recovery: reading %s: %v", path, err)
	}
	if len(data) > maxFileSize {
		clear(data)
		return nil, fmt.Errorf("recovery: %s is larger than %d KiB, too large for a recovery key; choose the recovery key file", path, maxFileSize>>10)
	}
	return data, nil
}

func looksEncrypted(data []byte) bool {
	t := bytes.TrimLeft(data, " \t\r\n")
	return bytes.HasPrefix(t, []byte(armorHeader)) || bytes.HasPrefix(t, []byte(binaryHeader))
}

// Parse reads the contents of an identity file: comment lines starting
// with "#", blank lines, and exactly one "AGE-SECRET-KEY-1…" line. A
// "# public key:" comment, if present, must match the key; a "# created:"
// comment, if present, sets [Key.Created]. Errors never quote the key.
func Parse(data []byte) (*Key, error) {
	var (
		id      *age.X25519Identity
		created time.Time
		pub     string
		keys    int
	)
	sc := bufio.NewScanner(bytes.NewReader(data))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
		case strings.HasPrefix(line, "# created:"):
			if t, err := time.Parse(time.RFC3339, strings.TrimSpace(strings.TrimPrefix(line, "# created:"))); err == nil {
				created = t.UTC()
			}
		case strings.HasPrefix(line, "# public key:"):
			pub = strings.TrimSpace(strings.TrimPrefix(line, "# public key:"))
		case strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "AGE-PLUGIN-"):
			return nil, fmt.Errorf("recovery: line %d is a plugin identity, not a recovery key", n)
		default:
			keys++
			if keys > 1 {
				return nil, errors.New("recovery: more than one secret key; a recovery key file holds exactly one")
			}
			var err error
			if id, err = parseSecret(line); err != nil {
				return nil, fmt.Errorf("%w, on line %d", err, n)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("recovery: reading identity file: %v", err)
	}
	if id == nil {
		return nil, errors.New("recovery: no AGE-SECRET-KEY-1 line; this is not a recovery key file")
	}
	if pub != "" && pub != id.Recipient().String() {
		return nil, errors.New("recovery: the \"# public key:\" comment does not match the secret key; the file was edited or mixed up")
	}
	return &Key{identity: id, created: created}, nil
}

// ParseTyped reads a secret key typed in from the recovery sheet: spaces,
// line breaks and letter case are ignored, and the group numbers printed
// on the sheet may be left in.
func ParseTyped(s string) (*Key, error) {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && strings.HasSuffix(f[0], ":") {
			f = f[1:] // a group number, "2:"
		}
		for _, w := range f {
			b.WriteString(w)
		}
	}
	id, err := parseSecret(strings.ToUpper(b.String()))
	if err != nil {
		return nil, err
	}
	return &Key{identity: id}, nil
}

func parseSecret(s string) (*age.X25519Identity, error) {
	if strings.HasPrefix(s, "AGE-SECRET-KEY-PQ-") {
		return nil, errors.New("recovery: this is a post-quantum age key, not a Valv recovery key")
	}
	if !strings.HasPrefix(s, secretPrefix) {
		return nil, errors.New("recovery: not an age secret key (it should start with AGE-SECRET-KEY-1)")
	}
	id, err := age.ParseX25519Identity(s)
	if err != nil {
		// age's message can quote a character of the key: do not pass it on.
		return nil, errors.New("recovery: the secret key is not valid: a character is wrong or missing (the key has a checksum, so typing mistakes are caught)")
	}
	return id, nil
}
