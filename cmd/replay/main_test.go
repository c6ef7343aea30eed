package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReplayCommand(t *testing.T) {
	good := "../../testdata/replays/players.jsonl"
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	// Change one recorded angle from line 400 on: the new value comes
	// first, and the old one moves to an unknown key, which is ignored.
	lines := strings.Split(string(data), "\n")
	for i := 400; i < len(lines); i++ {
		if strings.Contains(lines[i], `"a":`) {
			lines[i] = strings.Replace(lines[i], `"a":`, `"a":0.123456789,"was":`, 1)
			break
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	if err := os.WriteFile(bad, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"matching log", []string{"-q", good}, 0, "OK: 2400 ticks, 80 checkpoints match"},
		{"diverging log", []string{"-q", bad}, 1, "DIVERGED: first differing state at tick"},
		{"missing file", []string{"nope.jsonl"}, 2, ""},
		{"no argument", nil, 2, ""},
		{"serve on an address that cannot be bound", []string{"-serve", "127.0.0.1:-1", good}, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(tt.args, &out, &errOut)
			if code != tt.wantCode || !strings.Contains(out.String(), tt.wantOut) {
				t.Fatalf("replay %v: exit %d, output %q; want exit %d and %q", tt.args, code, out.String(), tt.wantCode, tt.wantOut)
			}
		})
	}
}
