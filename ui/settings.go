package ui

import (
	"os"
	"path/filepath"
	"slices"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/lang"
)

// Settings are the window's preferences. They hold no personal data: a
// few numbers and a language code, in a small JSON file in the user's
// config folder (settings.json in ~/.config/valv on Linux).
type Settings struct {
	IdleMinutes      int    `json:"idle_minutes,omitempty"`      // lock after this long without activity
	ClipboardSeconds int    `json:"clipboard_seconds,omitempty"` // clear a copied code after this long
	Language         string `json:"language,omitempty"`          // "en", "sv", or "" for the system's
}

// The choices the settings screen offers.
var (
	idleChoices      = []int{1, 2, 5, 10, 15, 30}
	clipboardChoices = []int{10, 20, 30, 45, 60, 120}
	languageChoices  = []string{"", "en", "sv"}
)

const defaultClipboardSeconds = 30

// defaultSettingsFile is where settings are kept unless Options says;
// tests replace it ("" keeps them in memory only).
var defaultSettingsFile = func() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "valv", "settings.json")
}

// settingsStore holds the settings and the file they are saved to.
type settingsStore struct {
	path string // "" : not saved
	Settings
}

// loadSettings reads the settings file (path, or the default one). A
// missing or unreadable file, or a value out of range, gives the default:
// settings never keep the window from starting.
func loadSettings(path string) *settingsStore {
	if path == "" {
		path = defaultSettingsFile()
	}
	s := &settingsStore{path: path}
	if path != "" {
		if data, err := os.ReadFile(path); err == nil {
			s.Settings = parseSettings(data)
		}
	}
	s.Settings = s.Settings.normal()
	if s.Language != "" {
		applyLanguage(s.Language)
	}
	return s
}

// normal replaces values out of range by the defaults.
func (v Settings) normal() Settings {
	if !slices.Contains(idleChoices, v.IdleMinutes) {
		v.IdleMinutes = int(DefaultIdleTimeout.Minutes())
	}
	if !slices.Contains(clipboardChoices, v.ClipboardSeconds) {
		v.ClipboardSeconds = defaultClipboardSeconds
	}
	if !slices.Contains(languageChoices, v.Language) {
		v.Language = ""
	}
	return v
}

func (s *settingsStore) idle() time.Duration { return time.Duration(s.IdleMinutes) * time.Minute }
func (s *settingsStore) clipboard() time.Duration {
	return time.Duration(s.ClipboardSeconds) * time.Second
}

// save applies v and writes it to the settings file (writeSettings).
func (s *settingsStore) save(v Settings) error {
	s.Settings = v.normal()
	if s.path == "" {
		return nil
	}
	return writeSettings(s.path, s.Settings)
}

// systemLanguage is the LANGUAGE of the environment Valv started in.
var systemLanguage, hadSystemLanguage = os.LookupEnv("LANGUAGE")

// applyLanguage makes the window's strings Swedish ("sv"), English
// ("en") or the system locale's (""). Fyne reads the locale from the
// environment when translations are loaded, so LANGUAGE is set and the
// translations loaded again.
func applyLanguage(code string) {
	switch {
	case code != "":
		os.Setenv("LANGUAGE", code)
	case hadSystemLanguage:
		os.Setenv("LANGUAGE", systemLanguage)
	default:
		os.Unsetenv("LANGUAGE")
	}
	if err := lang.AddTranslationsFS(translations, "translations"); err != nil {
		fyne.LogError("loading Valv's translations", err)
	}
}
