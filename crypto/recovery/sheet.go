package recovery

import (
	"fmt"
	"strings"
	"unicode"
)

const (
	groupSize     = 4
	groupsPerLine = 5
)

// Sheet returns the text of the printable recovery sheet for the vault
// with the given name: the date, the public key, the secret key whole and
// in numbered groups of four, and how to use it with the stock age
// command line. It is plain text for a monospaced font, at most 76 columns
// wide (the secret key line; the rest fits in 72).
func (k *Key) Sheet(vaultName string) string {
	name := printable(vaultName)
	if name == "" {
		name = "(unnamed vault)"
	}
	date := "unknown"
	if !k.created.IsZero() {
		date = k.created.UTC().Format("2006-01-02") + " (UTC)"
	}
	secret := k.identity.String()

	var b strings.Builder
	fmt.Fprintf(&b, "VALV RECOVERY KEY\n\n")
	fmt.Fprintf(&b, "Vault:    %s\n", name)
	fmt.Fprintf(&b, "Created:  %s\n\n", date)
	b.WriteString("Keep this sheet locked away. Whoever holds this key can open every\n")
	b.WriteString("backup and every compartment of this vault.\n\n")
	fmt.Fprintf(&b, "Public key (not secret):\n  %s\n\n", k.Recipient())
	fmt.Fprintf(&b, "Secret key:\n  %s\n\n", secret)
	b.WriteString("The same secret key in groups, to read aloud or check a copy:\n")
	fmt.Fprintf(&b, "  %s\n", secretPrefix)
	for i, line := range groupLines(strings.TrimPrefix(secret, secretPrefix)) {
		fmt.Fprintf(&b, "  %d: %s\n", i+1, line)
	}
	b.WriteString("\nTo open a backup without Valv, on any computer with age\n")
	b.WriteString("(https://age-encryption.org, Debian package \"age\"):\n\n")
	b.WriteString("  1. Type the secret key on one line, without spaces, into a text\n")
	b.WriteString("     file named recovery.txt.\n")
	b.WriteString("  2. Run:\n\n")
	b.WriteString("       age -d -i recovery.txt FILE > OUTPUT\n\n")
	b.WriteString("     where FILE is a Valv backup (.valvbak) and OUTPUT the name\n")
	b.WriteString("     for the decrypted copy.\n\n")
	b.WriteString("The key carries a checksum: a typing mistake is reported by age, never\n")
	b.WriteString("silently accepted. Delete recovery.txt securely when you are done.\n")
	return b.String()
}

// groupLines splits s into lines of groupsPerLine groups of groupSize.
func groupLines(s string) []string {
	var lines []string
	var groups []string
	for len(s) > 0 {
		n := min(groupSize, len(s))
		groups = append(groups, s[:n])
		s = s[n:]
		if len(groups) == groupsPerLine || len(s) == 0 {
			lines = append(lines, strings.Join(groups, " "))
			groups = groups[:0]
		}
	}
	return lines
}

// printable drops control and formatting characters (line breaks, bidi
// overrides) from a name and shortens it to 60 runes.
func printable(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == unicode.ReplacementChar {
			continue
		}
		if n == 60 {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}
