package main

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestWindowDrawsUnderXvfb builds the real binary, starts it in demo mode on
// a virtual X display, and checks from a screenshot that the window drew.
// The screenshot is kept in test-output/ at the top of the repository.
// With VALV_REQUIRE_DISPLAY=1 (make test) missing tools fail the test
// instead of skipping it.
func TestWindowDrawsUnderXvfb(t *testing.T) {
	for _, tool := range []string{"Xvfb", "xdotool", "import"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("VALV_REQUIRE_DISPLAY") == "1" {
				t.Fatalf("%s not found (scripts/deps test installs it)", tool)
			}
			t.Skipf("%s not found; run scripts/deps test", tool)
		}
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "valv")
	build := exec.Command("go", "build", "-tags=x11", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	display := startXvfb(t)
	home := filepath.Join(tmp, "home")
	demoTmp := filepath.Join(tmp, "tmp")
	for _, d := range []string{home, demoTmp} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	var logs bytes.Buffer
	app := exec.Command(bin, "--demo")
	app.Env = append(os.Environ(), "DISPLAY="+display, "HOME="+home, "TMPDIR="+demoTmp,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "XDG_DATA_HOME="+filepath.Join(home, ".local/share"),
		"LANG=en_US.UTF-8")
	app.Stdout, app.Stderr = &logs, &logs
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- app.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			app.Process.Kill()
			<-exited
		}
	}()

	wid := waitForWindow(t, display, exited, &logs)
	x, y, w, h := windowGeometry(t, display, wid)
	shot := filepath.Join(outputDir(t), "window-demo.png")

	// The window maps before its first frame: poll until it drew.
	deadline := time.Now().Add(60 * time.Second)
	var differ, total, colours int
	for {
		img := screenshot(t, display, shot)
		differ, total, colours = drawnPixels(img, image.Rect(x, y, x+w, y+h))
		// More than 5% of the window differs from the background, in enough
		// colours to be drawn text and widgets rather than a blank fill.
		if differ*20 > total && colours >= 16 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("window %dx%d at %d,%d did not draw within 60 s (%d of %d pixels differ from the background, %d colours); screenshot %s\n%s",
				w, h, x, y, differ, total, colours, shot, logs.String())
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("window %dx%d drew %d of %d pixels in %d colours; screenshot %s", w, h, differ, total, colours, shot)

	// SIGTERM quits cleanly and demo mode leaves nothing behind.
	app.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Errorf("valv exited with %v after SIGTERM\n%s", err, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("valv did not exit within 15 s of SIGTERM\n%s", logs.String())
	}
	if left, _ := os.ReadDir(demoTmp); len(left) != 0 {
		t.Errorf("demo mode left %d entries in its temporary folder, first %q", len(left), left[0].Name())
	}
}

// startXvfb starts a virtual display on a free number and returns it as
// ":N". The server is killed when the test ends.
func startXvfb(t *testing.T) string {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	x := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "1280x800x24", "-nolisten", "tcp")
	x.ExtraFiles = []*os.File{w}
	var logs bytes.Buffer
	x.Stderr = &logs
	if err := x.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() { x.Process.Kill(); x.Wait() })
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case n := <-line:
		if _, err := strconv.Atoi(n); err != nil {
			t.Fatalf("Xvfb did not report a display: %q\n%s", n, logs.String())
		}
		return ":" + n
	case <-time.After(30 * time.Second):
		t.Fatalf("Xvfb did not start within 30 s\n%s", logs.String())
	}
	return ""
}

func waitForWindow(t *testing.T, display string, exited <-chan error, logs *bytes.Buffer) string {
	deadline := time.Now().Add(90 * time.Second)
	for {
		out, _ := xcmd(display, "xdotool", "search", "--onlyvisible", "--name", "^Valv$").Output()
		if f := strings.Fields(string(out)); len(f) > 0 {
			return f[0]
		}
		select {
		case err := <-exited:
			t.Fatalf("valv exited before its window appeared: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no window named Valv within 90 s\n%s", logs.String())
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func windowGeometry(t *testing.T, display, wid string) (x, y, w, h int) {
	out, err := xcmd(display, "xdotool", "getwindowgeometry", "--shell", wid).Output()
	if err != nil {
		t.Fatalf("xdotool getwindowgeometry: %v", err)
	}
	vals := map[string]int{}
	for _, l := range strings.Fields(string(out)) {
		k, v, ok := strings.Cut(l, "=")
		if n, err := strconv.Atoi(v); ok && err == nil {
			vals[k] = n
		}
	}
	if vals["WIDTH"] < 100 || vals["HEIGHT"] < 100 {
		t.Fatalf("window geometry %q is too small", out)
	}
	return vals["X"], vals["Y"], vals["WIDTH"], vals["HEIGHT"]
}

func screenshot(t *testing.T, display, path string) image.Image {
	if out, err := xcmd(display, "import", "-window", "root", "png:"+path).CombinedOutput(); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	return img
}

// drawnPixels counts the pixels inside r that differ from the background,
// taken from the screen's bottom-right corner, which the window does not
// cover, and the distinct colours inside r.
func drawnPixels(img image.Image, r image.Rectangle) (differ, total, colours int) {
	seen := map[[3]uint32]bool{}
	b := img.Bounds()
	bg := img.At(b.Max.X-1, b.Max.Y-1)
	r = r.Intersect(b)
	br, bgg, bb, _ := bg.RGBA()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			seen[[3]uint32{cr, cg, cb}] = true
			if cr != br || cg != bgg || cb != bb {
				differ++
			}
			total++
		}
	}
	return differ, total, len(seen)
}

func xcmd(display, name string, args ...string) *exec.Cmd {
	c := exec.Command(name, args...)
	c.Env = append(os.Environ(), "DISPLAY="+display)
	return c
}

// outputDir is test-output/ at the top of the repository, where make test
// keeps screenshots.
func outputDir(t *testing.T) string {
	dir := os.Getenv("VALV_TEST_OUTPUT")
	if dir == "" {
		out, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(filepath.Dir(strings.TrimSpace(string(out))), "test-output")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(fmt.Errorf("making the test output folder: %w", err))
	}
	return dir
}
