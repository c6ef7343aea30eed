package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shatter/shatter/sim"
)

func TestHeadlessPrintsTickStatistics(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"-headless", "-zombies", "60", "-fragments", "300", "-ticks", "90"}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"headless arena: 60 zombies", "ticks run: 90", "tick time: mean", "process CPU:", "per system (mean): input"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestBadFlagsAreErrors(t *testing.T) {
	for _, args := range [][]string{{"-tick-rate", "500"}, {"-log-level", "loud"}, {"-no-such-flag"},
		// Other nodes could not reach this one at a guessed loopback URL.
		{"-redis", "redis://127.0.0.1:1", "-addr", ":0"},
		{"-redis", "not a url", "-addr", "127.0.0.1:0", "-admin-addr", ""},
		{"-trusted-proxies", "10.0.0.0/8,proxy.internal", "-addr", "127.0.0.1:0", "-admin-addr", ""},
		{"-allowed-origins", "play.example.com", "-addr", "127.0.0.1:0", "-admin-addr", ""},
		{"-keyframe-every", "10ms", "-addr", "127.0.0.1:0", "-admin-addr", ""},
		// Whoever reaches a public admin listener could kick, ban and drain.
		{"-addr", "127.0.0.1:0", "-admin-addr", ":0"}} {
		if err := run(args, &bytes.Buffer{}); err == nil {
			t.Errorf("run %v: no error", args)
		}
	}
}

// TestSIGTERMStopsGracefully runs the server, sends the process SIGTERM
// (which run's signal handler takes), and expects a clean stop within 5 s
// with the replay log flushed.
func TestSIGTERMStopsGracefully(t *testing.T) {
	dir := t.TempDir()
	done := make(chan error, 1)
	go func() {
		done <- run([]string{"-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0", "-record", dir, "-log-level", "error"}, &bytes.Buffer{})
	}()
	// Wait for the arena's replay log to appear: the server is up.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if logs, _ := filepath.Glob(filepath.Join(dir, "*"+sim.ReplayExt)); len(logs) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after SIGTERM: %v", err)
		}
	case <-time.After(6 * time.Second):
		t.Fatal("server still running 6 s after SIGTERM")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("stopping took %v", d)
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "*"+sim.ReplayExt))
	if rp, err := loadLog(logs[0]); err != nil || rp.Cut != "" {
		t.Fatalf("replay log not closed after SIGTERM (err %v)", err)
	}
}

func TestParsePrefixes(t *testing.T) {
	got, err := parsePrefixes(" 10.1.2.3/8, 192.168.1.7 ,2001:db8::/32,,::ffff:10.9.9.9")
	want := "[10.0.0.0/8 192.168.1.7/32 2001:db8::/32 10.9.9.9/32]"
	if err != nil || fmt.Sprint(got) != want {
		t.Fatalf("parsePrefixes = %v, %v; want %s", got, err, want)
	}
	if got, err := parsePrefixes(""); err != nil || len(got) != 0 {
		t.Fatalf("parsePrefixes(\"\") = %v, %v; want none", got, err)
	}
}
