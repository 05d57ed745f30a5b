package ui

import (
	"encoding/json"
	"os"
	"path/filepath"
)

// parseSettings reads a settings file's contents. Anything it cannot use
// (not JSON, too large, values out of range) gives the defaults: a
// damaged file never keeps the window from starting.
func parseSettings(data []byte) Settings {
	var v Settings
	if len(data) > 4096 || json.Unmarshal(data, &v) != nil {
		v = Settings{}
	}
	return v.normal()
}

// writeSettings replaces the file at path with v, whole or not at all: a
// temporary file in the same folder (mode 0600), synced, renamed over the
// old one, and the folder synced.
func writeSettings(path string, v Settings) error {
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
