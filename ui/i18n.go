package ui

import (
	"embed"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/lang"
)

// The window's strings, in English and Swedish: translations/*.en.json
// and translations/*.sv.json (valv.*.json for the common screens, one
// file per further group of screens), one key per string. Fyne picks the
// language from the system locale (Swedish for sv_SE), English otherwise.
//
//go:embed translations
var translations embed.FS

func init() {
	if err := lang.AddTranslationsFS(translations, "translations"); err != nil {
		fyne.LogError("loading Valv's translations", err)
	}
}

// T returns the string of key in the window's language, with data (a
// map or struct) filled into its {{.Field}} placeholders. A key missing
// from the translations shows as itself, which TestEveryKeyTranslated
// catches.
func T(key string, data ...any) string {
	return lang.LocalizeKey(key, key, data...)
}

// arg is the template data of a string with one placeholder {{.N}}.
func arg(n any) map[string]any { return map[string]any{"N": n} }
