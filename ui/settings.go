package ui

import (
	"os"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/lang"

	"github.com/valv-vault/valv/ui/settings"
)

// Settings are the window's preferences (package ui/settings).
type Settings = settings.Settings

// The choices the settings screen offers.
var (
	idleChoices      = settings.IdleChoices
	clipboardChoices = settings.ClipboardChoices
	languageChoices  = settings.LanguageChoices
)

const defaultClipboardSeconds = settings.DefaultClipboardSeconds

// defaultSettingsFile is where settings are kept unless Options says;
// tests replace it ("" keeps them in memory only).
var defaultSettingsFile = settings.DefaultFile

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
			s.Settings = settings.Parse(data)
		}
	}
	s.Settings = s.Settings.Normal()
	if s.Language != "" {
		applyLanguage(s.Language)
	}
	return s
}

func (s *settingsStore) idle() time.Duration { return time.Duration(s.IdleMinutes) * time.Minute }
func (s *settingsStore) clipboard() time.Duration {
	return time.Duration(s.ClipboardSeconds) * time.Second
}

// save applies v and writes it to the settings file (settings.Write).
func (s *settingsStore) save(v Settings) error {
	s.Settings = v.Normal()
	if s.path == "" {
		return nil
	}
	return settings.Write(s.path, s.Settings)
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
