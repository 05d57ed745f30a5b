package settings

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// The settings file's parser gives valid settings for any bytes, and
// what it gives survives a round trip.
func FuzzParseSettings(f *testing.F) {
	f.Add([]byte(`{"idle_minutes":1,"clipboard_seconds":10,"language":"sv"}`))
	f.Add([]byte(`{"idle_minutes":-5,"clipboard_seconds":1e9,"language":"xx"}`))
	f.Add([]byte(`{"idle_minutes":"5"}`))
	f.Add([]byte(`null`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		v := Parse(data)
		if v != v.Normal() {
			t.Fatalf("%+v is out of range", v)
		}
		p, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if again := Parse(p); again != v {
			t.Fatalf("round trip: %+v, then %+v", v, again)
		}
	})
}

// settingsCrashEnv names the file the crash test's child saves to.
const settingsCrashEnv = "VALV_SETTINGS_CRASH_CHILD"

// The crash test's child: saves settings over and over until killed.
func TestSettingsCrashChild(t *testing.T) {
	path := os.Getenv(settingsCrashEnv)
	if path == "" {
		t.Skip("the child of TestSettingsCrash")
	}
	for i := 0; ; i++ {
		v := Settings{IdleMinutes: IdleChoices[i%len(IdleChoices)], ClipboardSeconds: ClipboardChoices[i%len(ClipboardChoices)], Language: LanguageChoices[i%3]}
		if err := Write(path, v); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			fmt.Println("SAVED")
		}
	}
}

// TestSettingsCrash kills a process saving the settings (SIGKILL, at
// random times) and checks after each kill that the file is whole and
// valid; the next save clears the temporary files a kill left.
func TestSettingsCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	path := filepath.Join(t.TempDir(), "valv", "settings.json")
	for k := range 12 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSettingsCrashChild$")
		cmd.Env = append(os.Environ(), settingsCrashEnv+"="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		for sc.Scan() && sc.Text() != "SAVED" {
		}
		time.Sleep(time.Duration(rand.IntN(20000)) * time.Microsecond)
		cmd.Process.Kill()
		cmd.Wait()
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("kill %d: %v", k, err)
		}
		var v Settings
		if err := json.Unmarshal(data, &v); err != nil || v != v.Normal() || v.IdleMinutes == 0 {
			t.Fatalf("kill %d: the settings file is damaged: %q (%v)", k, data, err)
		}
	}
	if err := Write(path, Settings{}.Normal()); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".settings-*")); len(left) != 0 {
		t.Fatalf("temporary files left: %q", left)
	}
}
