// Package settings is the window's preferences file: a few numbers and a
// language code, no personal data, in settings.json in the user's config
// folder (~/.config/valv on Linux). It has no Fyne dependency, so its
// parser is fuzzed without building the window.
package settings

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
)

// Settings are the window's preferences.
type Settings struct {
	IdleMinutes      int    `json:"idle_minutes,omitempty"`      // lock after this long without activity
	ClipboardSeconds int    `json:"clipboard_seconds,omitempty"` // clear a copied code after this long
	Language         string `json:"language,omitempty"`          // "en", "sv", or "" for the system's
}

// The choices the settings screen offers, and the defaults.
var (
	IdleChoices      = []int{1, 2, 5, 10, 15, 30}
	ClipboardChoices = []int{10, 20, 30, 45, 60, 120}
	LanguageChoices  = []string{"", "en", "sv"}
)

const (
	DefaultIdleMinutes      = 5
	DefaultClipboardSeconds = 30
)

// maxFile is the largest settings file read; anything larger is damaged.
const maxFile = 4096

// DefaultFile is where settings are kept: settings.json in the user's
// config folder, or "" if there is none.
func DefaultFile() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "valv", "settings.json")
}

// Normal replaces values out of range by the defaults.
func (v Settings) Normal() Settings {
	if !slices.Contains(IdleChoices, v.IdleMinutes) {
		v.IdleMinutes = DefaultIdleMinutes
	}
	if !slices.Contains(ClipboardChoices, v.ClipboardSeconds) {
		v.ClipboardSeconds = DefaultClipboardSeconds
	}
	if !slices.Contains(LanguageChoices, v.Language) {
		v.Language = ""
	}
	return v
}

// Parse reads a settings file's contents. Anything it cannot use (not
// JSON, too large, values out of range) gives the defaults: a damaged
// file never keeps the window from starting.
func Parse(data []byte) Settings {
	var v Settings
	if len(data) > maxFile || json.Unmarshal(data, &v) != nil {
		v = Settings{}
	}
	return v.Normal()
}

// Write replaces the file at path with v, whole or not at all: a
// temporary file in the same folder (mode 0600), synced, renamed over the
// old one, and the folder synced.
func Write(path string, v Settings) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	// Temporary files left by a crash are not read; the next save
	// removes them.
	if old, _ := filepath.Glob(filepath.Join(dir, ".settings-*.tmp")); len(old) > 0 {
		for _, o := range old {
			os.Remove(o)
		}
	}
	f, err := os.CreateTemp(dir, ".settings-*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(append(data, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
