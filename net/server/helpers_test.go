package server_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/shatter/shatter/net/server"
	"github.com/shatter/shatter/sim"
)

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// counterValue reads one sample of a metric from /metrics.
func counterValue(t *testing.T, s *server.Server, name, labels string) float64 {
	t.Helper()
	prefix := name + " " // a series without labels has no braces
	if labels != "" {
		prefix = name + "{" + labels + "} "
	}
	for _, line := range strings.Split(get(t, "http://"+s.AdminAddr()+"/metrics"), "\n") {
		if strings.HasPrefix(line, prefix) {
			v, err := strconv.ParseFloat(strings.TrimPrefix(line, prefix), 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	return 0
}

// replayLogs returns, for every replay log in dir, "end" if it was
// closed cleanly, else why it ends early.
func replayLogs(t *testing.T, dir string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*"+sim.ReplayExt))
	if err != nil {
		t.Fatal(err)
	}
	var ends []string
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		rp, err := sim.LoadReplay(f)
		f.Close()
		switch {
		case err != nil:
			ends = append(ends, err.Error())
		case rp.Cut != "":
			ends = append(ends, "cut: "+rp.Cut)
		default:
			ends = append(ends, "end")
		}
	}
	return ends
}
