package main

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"filippo.io/age"

	"github.com/valv-vault/valv/crypto/card"
	"github.com/valv-vault/valv/crypto/pivage"
	"github.com/valv-vault/valv/crypto/recovery"
	"github.com/valv-vault/valv/store"
)

// The headless vault commands (compartment, grant, revoke, holder,
// customer, audit) share these flags:
//
//	--vault DIR       the vault folder (default $XDG_DATA_HOME/valv, or
//	                  ~/.local/share/valv)
//	--identity FILE   the key that unlocks: an age identity file (the
//	                  recovery key, AGE-SECRET-KEY-1…), or a software key
//	                  holder's PEM file (tests and the demo: a PKCS #8
//	                  P-256 decryption key, optionally followed by the
//	                  PKCS #8 P-256 signing key for audit checkpoints)
//
// Each command opens the vault, unlocks it, does its work (logged in the
// audit log) and locks it again, which signs audit checkpoints when the
// identity has a signing key.

// vaultFlags are the flags every vault command takes. Without --identity
// the vault is unlocked with a key holder's YubiKey (--card, or the only
// card present) and its PIN.
type vaultFlags struct {
	dir      string
	identity string
	card     cardFlags
}

func (f *vaultFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.dir, "vault", defaultVaultDir(), "vault `folder`")
	fs.StringVar(&f.identity, "identity", "", "unlock with this identity `file` (the recovery key, or a software key holder's key) instead of a YubiKey")
	f.card.register(fs)
}

// stdio is the running command's standard input and error, for PIN
// prompts; run sets it.
var stdio = struct {
	in  io.Reader
	err io.Writer
}{os.Stdin, os.Stderr}

// defaultVaultDir is $XDG_DATA_HOME/valv, or ~/.local/share/valv.
func defaultVaultDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "valv")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "valv")
	}
	return "valv"
}

// newFlagSet makes a flag set that writes its usage to stderr.
func newFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: %s\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseArgs is parseInterleaved for a command that takes exactly n
// positional arguments: any other number prints the usage and is
// errUsage.
func parseArgs(fs *flag.FlagSet, args []string, n int) ([]string, error) {
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) != n {
		fs.Usage()
		return nil, errUsage
	}
	return pos, nil
}

// parseInterleaved parses flags that may come before or after the
// positional arguments ("show CODE --reveal") and returns the latter.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, errUsage
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// listFlag is a flag that may be repeated.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ", ") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// maxIdentityFile bounds an identity file, read before parsing.
const maxIdentityFile = 64 << 10

// loadIdentity reads an identity file: the recovery key (an age X25519
// identity file) or a software key holder (PEM). Errors never quote the
// file's contents.
func loadIdentity(path string) (age.Identity, crypto.Signer, error) {
	if path == "" {
		return nil, nil, errors.New("no identity: give --identity FILE (the recovery key, or a key holder's key file)")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxIdentityFile+1))
	if err != nil {
		return nil, nil, err
	}
	defer clear(data)
	if len(data) > maxIdentityFile {
		return nil, nil, fmt.Errorf("%s is too large to be an identity file", path)
	}
	if bytes.Contains(data, []byte("-----BEGIN")) {
		return parseSoftwareHolder(path, data)
	}
	k, err := recovery.Parse(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return k.Identity(), nil, nil
}

// parseSoftwareHolder reads a software key holder's PEM file: a PKCS #8
// P-256 decryption key, then optionally the signing key.
func parseSoftwareHolder(path string, data []byte) (age.Identity, crypto.Signer, error) {
	var keys []any
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "PRIVATE KEY" {
			return nil, nil, fmt.Errorf("%s: unexpected PEM block %q; want PRIVATE KEY", path, b.Type)
		}
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		clear(b.Bytes)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: a private key does not parse", path)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 || len(keys) > 2 {
		return nil, nil, fmt.Errorf("%s: want one or two PKCS #8 private keys (decryption, then signing)", path)
	}
	var agreer pivage.KeyAgreer
	switch k := keys[0].(type) {
	case *ecdsa.PrivateKey:
		dk, err := k.ECDH()
		if err != nil {
			return nil, nil, fmt.Errorf("%s: the decryption key is not a P-256 key", path)
		}
		agreer = dk
	case *ecdh.PrivateKey:
		agreer = k
	default:
		return nil, nil, fmt.Errorf("%s: the decryption key is not a P-256 key", path)
	}
	id, err := pivage.NewIdentity(agreer)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	var signer crypto.Signer
	if len(keys) == 2 {
		s, ok := keys[1].(*ecdsa.PrivateKey)
		if !ok {
			return nil, nil, fmt.Errorf("%s: the signing key is not a P-256 key", path)
		}
		signer = s
	}
	return id, signer, nil
}

// withSession opens the vault, unlocks it with the identity file or the
// card, runs fn and locks and closes the vault again.
func withSession(f *vaultFlags, fn func(s *store.Session) error) error {
	return withSessionIO(f, stdio.in, stdio.err, func(s *store.Session, _ *pinSource) error { return fn(s) })
}

// withSessionIO is withSession for commands that ask more secrets after
// the unlock: fn gets the same PIN source, so that --pin-stdin lines are
// read in order.
func withSessionIO(f *vaultFlags, stdin io.Reader, stderr io.Writer, fn func(s *store.Session, pins *pinSource) error) (err error) {
	pins := newPINSource(f.card.pinStdin, stdin, stderr)
	v, err := store.Open(f.dir)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, v.Close()) }()
	var id age.Identity
	var signer crypto.Signer
	if f.identity != "" {
		if id, signer, err = loadIdentity(f.identity); err != nil {
			return err
		}
	} else {
		cs, err := f.card.open()
		if err != nil {
			return fmt.Errorf("%w (or unlock with the recovery key: --identity FILE)", err)
		}
		defer cs.Close()
		serial := cs.Info().Serial
		pin, err := pins.ask(fmt.Sprintf("PIN of YubiKey %d", serial))
		if err != nil {
			return err
		}
		if err := cs.VerifyPIN(pin); err != nil {
			var wrong *card.WrongPINError
			if errors.As(err, &wrong) {
				// Logged even though the vault stays locked; a card
				// that is no key holder's has nothing to log.
				_ = v.ReportFailedPIN(serial, wrong.Left)
			}
			return explainPINError(err, serial)
		}
		ident, err := cs.Identity()
		if err != nil {
			return err
		}
		if signer, err = cs.Signer(); err != nil {
			return err
		}
		id = ident
	}
	s, err := v.Unlock(id, signer)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, s.Lock()) }()
	return fn(s, pins)
}

// findCompartment resolves a compartment given as an id or an id prefix
// (at least 8 hex digits). With "" it picks the only unlocked
// compartment.
func findCompartment(s *store.Session, arg string) (store.CompartmentID, error) {
	cs, err := s.Compartments()
	if err != nil {
		return store.ID{}, err
	}
	if arg == "" {
		var open []store.CompartmentInfo
		for _, c := range cs {
			if c.Unlocked {
				open = append(open, c)
			}
		}
		switch len(open) {
		case 1:
			return open[0].ID, nil
		case 0:
			return store.ID{}, errors.New("this key opens no compartment")
		}
		return store.ID{}, errors.New("this key opens several compartments; choose one with --compartment ID (see valv compartment list)")
	}
	arg = strings.ToLower(strings.TrimSpace(arg))
	if len(arg) < 8 {
		return store.ID{}, errors.New("give at least the first 8 hex digits of the compartment id")
	}
	var found []store.CompartmentID
	for _, c := range cs {
		if strings.HasPrefix(c.ID.String(), arg) {
			found = append(found, c.ID)
		}
	}
	switch len(found) {
	case 0:
		return store.ID{}, fmt.Errorf("no compartment %s that this key can see", arg)
	case 1:
		return found[0], nil
	}
	return store.ID{}, fmt.Errorf("compartment id %s is ambiguous; give more digits", arg)
}

// findHolder resolves a key holder given as an id, an id prefix (8+ hex
// digits) or a card serial.
func findHolder(s *store.Session, arg string) (store.HolderID, error) {
	hs, err := s.Holders()
	if err != nil {
		return store.ID{}, err
	}
	arg = strings.ToLower(strings.TrimSpace(arg))
	var found []store.HolderID
	for _, h := range hs {
		if (len(arg) >= 8 && strings.HasPrefix(h.ID.String(), arg)) || strconv.FormatUint(uint64(h.Serial), 10) == arg {
			found = append(found, h.ID)
		}
	}
	switch len(found) {
	case 0:
		return store.ID{}, fmt.Errorf("no key holder %s (give a holder id, see valv holder list, or a card serial)", arg)
	case 1:
		return found[0], nil
	}
	return store.ID{}, fmt.Errorf("key holder %s is ambiguous", arg)
}
