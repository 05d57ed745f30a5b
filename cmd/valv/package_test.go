package main

import (
	"bufio"
	"bytes"
	"fmt"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestPackage runs scripts/package (what make package runs) into a
// temporary folder, unpacks Valv.tar.xz and checks the pieces: exactly a
// Makefile, the binary, the .desktop file and the icon; the binary runs
// and reports FyneApp.toml's version; the .desktop file parses, names
// the packaged binary and icon, and carries FyneApp.toml's categories;
// the icon is assets/icon.png; and the Makefile installs all three under
// DESTDIR (with its default PREFIX and with one given). xz runs at its
// fastest preset (XZ_OPT=-0): the contents are checked, not the ratio.
// It needs tar, xz, make and the fyne tool (go tool fyne); without them
// it skips, unless VALV_REQUIRE_TOOLS=1 (make test).
func TestPackage(t *testing.T) {
	requirePackageTools(t)
	root := repoRoot(t)
	dist := t.TempDir()
	cmd := exec.Command(filepath.Join(root, "scripts", "package"), dist)
	cmd.Env = append(os.Environ(), "XZ_OPT=-0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/package: %v\n%s", err, out)
	}

	unpacked := t.TempDir()
	if out, err := exec.Command("tar", "-xJf", filepath.Join(dist, "Valv.tar.xz"), "-C", unpacked).CombinedOutput(); err != nil {
		t.Fatalf("unpacking Valv.tar.xz: %v\n%s", err, out)
	}
	top := filepath.Join(unpacked, "valv")
	// fyne package uses usr/local when the packaging machine has it.
	usr := "usr/local"
	if _, err := os.Stat(filepath.Join(top, usr)); err != nil {
		usr = "usr"
	}
	const appID = "se.valv.vault" // FyneApp.toml's ID
	want := []string{
		"Makefile",
		usr + "/bin/valv",
		usr + "/share/applications/" + appID + ".desktop",
		usr + "/share/pixmaps/" + appID + ".png",
	}
	if got := regularFiles(t, top); !slices.Equal(got, want) {
		t.Fatalf("Valv.tar.xz holds %q, want %q", got, want)
	}

	meta := fyneAppToml(t, root)
	bin := filepath.Join(top, want[1])
	checkBinary(t, bin, meta["Version"])

	entry := desktopEntry(t, filepath.Join(top, want[2]))
	for key, value := range map[string]string{
		"Type": "Application", "Name": meta["Name"], "Icon": appID, "Exec": "valv",
		"GenericName": meta["GenericName"], "Comment": meta["Comment"],
	} {
		if entry[key] != value {
			t.Errorf("the .desktop file has %s=%q, want %q", key, entry[key], value)
		}
	}
	categories := strings.Split(strings.TrimSuffix(entry["Categories"], ";"), ";")
	for _, c := range []string{"Office", "Security"} {
		if !slices.Contains(categories, c) {
			t.Errorf("the .desktop file's Categories=%q lacks %s", entry["Categories"], c)
		}
	}
	// Icon= names a file in share/pixmaps (without its extension), the
	// theme-less place desktops look; Exec= names the packaged binary.
	icon := filepath.Join(top, usr, "share", "pixmaps", entry["Icon"]+".png")
	checkIcon(t, icon, filepath.Join(root, "assets", "icon.png"))
	if filepath.Base(strings.Fields(entry["Exec"] + " x")[0]) != filepath.Base(bin) {
		t.Errorf("Exec=%q does not start the packaged binary %s", entry["Exec"], filepath.Base(bin))
	}

	// make install into a DESTDIR: with the Makefile's PREFIX (/usr when
	// DESTDIR has no usr/local), and with a PREFIX given.
	for _, prefix := range []string{"", "/opt/valv"} {
		dest := t.TempDir()
		args := []string{"-C", top, "install", "DESTDIR=" + dest}
		installed := filepath.Join(dest, "usr")
		if prefix != "" {
			args = append(args, "PREFIX="+prefix)
			installed = filepath.Join(dest, prefix)
		}
		if out, err := exec.Command("make", args...).CombinedOutput(); err != nil {
			t.Fatalf("make %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		for file, mode := range map[string]os.FileMode{
			"bin/valv": 0o755,
			"share/applications/" + appID + ".desktop": 0o644,
			"share/pixmaps/" + appID + ".png":          0o644,
		} {
			fi, err := os.Stat(filepath.Join(installed, file))
			if err != nil {
				t.Errorf("make install PREFIX=%q: %v", prefix, err)
				continue
			}
			if fi.Mode().Perm() != mode {
				t.Errorf("make install PREFIX=%q: %s has mode %v, want %v", prefix, file, fi.Mode().Perm(), mode)
			}
		}
		if prefix != "" {
			checkBinary(t, filepath.Join(installed, "bin", "valv"), meta["Version"])
		}
		if left := regularFiles(t, dest); len(left) != 3 {
			t.Errorf("make install PREFIX=%q wrote %q, want the three files only", prefix, left)
		}
	}
}

// requirePackageTools skips the test (or fails it with
// VALV_REQUIRE_TOOLS=1) when a tool scripts/package needs is missing.
func requirePackageTools(t *testing.T) {
	t.Helper()
	missing := func(why string) {
		if os.Getenv("VALV_REQUIRE_TOOLS") == "1" {
			t.Fatalf("%s (scripts/deps package installs the Debian packages)", why)
		}
		t.Skip(why)
	}
	for _, tool := range []string{"tar", "xz", "make"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing(tool + " not found")
		}
	}
	if out, err := exec.Command("go", "tool", "-n", "fyne").CombinedOutput(); err != nil {
		missing(fmt.Sprintf("go tool fyne does not work: %v %s", err, out))
	}
}

// regularFiles lists the regular files under dir, relative, sorted.
func regularFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	return files
}

// checkBinary runs `bin version` and wants "valv VERSION".
func checkBinary(t *testing.T, bin, version string) {
	t.Helper()
	fi, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o111 != 0o111 {
		t.Errorf("%s has mode %v: not executable by everyone", bin, fi.Mode().Perm())
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if got, want := strings.TrimSpace(string(out)), "valv "+version; err != nil || got != want {
		t.Errorf("%s version: %q, %v; want %q", bin, got, err, want)
	}
}

// checkIcon wants path to be a PNG of the size of the source icon, with
// the same bytes.
func checkIcon(t *testing.T, path, source string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the .desktop file's icon: %v", err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(got))
	if err != nil {
		t.Fatalf("the icon %s is not a PNG: %v", path, err)
	}
	src, err := os.ReadFile(source)
	if err != nil {
		t.Fatal(err)
	}
	want, err := png.DecodeConfig(bytes.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Width != want.Width || cfg.Height != want.Height || cfg.Width < 256 || cfg.Width != cfg.Height {
		t.Errorf("the icon is %dx%d, want %dx%d (square, at least 256)", cfg.Width, cfg.Height, want.Width, want.Height)
	}
	if string(got) != string(src) {
		t.Errorf("the packaged icon differs from %s", source)
	}
}

// desktopEntry parses a .desktop file (freedesktop Desktop Entry
// Specification: groups, Key=Value lines, # comments) and returns the
// keys of its [Desktop Entry] group, which must come first. A malformed
// line or a key given twice fails the test.
func desktopEntry(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	keyRE := regexp.MustCompile(`^[A-Za-z0-9-]+(\[[A-Za-z_@.]+\])?$`)
	entry := map[string]string{}
	group := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#"):
			continue
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			if group == "" && line != "[Desktop Entry]" {
				t.Fatalf("%s:%d: the first group is %s, want [Desktop Entry]", path, n, line)
			}
			group = line
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if !ok || group == "" || !keyRE.MatchString(key) {
			t.Fatalf("%s:%d: not a Key=Value line of a group: %q", path, n, line)
		}
		if group != "[Desktop Entry]" {
			continue
		}
		if _, dup := entry[key]; dup {
			t.Fatalf("%s:%d: %s given twice", path, n, key)
		}
		entry[key] = value
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return entry
}

// fyneAppToml reads the flat key = "value" lines of FyneApp.toml
// (Name, Version, GenericName, Comment; enough for the checks here).
func fyneAppToml(t *testing.T, root string) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(root, "FyneApp.toml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	meta := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^\s*(\w+)\s*=\s*"([^"]*)"\s*$`).FindAllStringSubmatch(string(data), -1) {
		meta[m[1]] = m[2]
	}
	for _, k := range []string{"Name", "Version", "GenericName", "Comment"} {
		if meta[k] == "" {
			t.Fatalf("FyneApp.toml has no %s", k)
		}
	}
	return meta
}
