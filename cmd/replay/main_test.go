package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/shatter/shatter/ecs"
	"github.com/shatter/shatter/sim"
)

const goodLog = "../../testdata/replays/players.replay"

// altered loads the good log, lets edit change it, and saves it in dir.
func altered(t *testing.T, dir, name string, edit func(*sim.Replay)) string {
	t.Helper()
	f, err := os.Open(goodLog)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rp, err := sim.LoadReplay(f)
	if err != nil {
		t.Fatal(err)
	}
	edit(rp)
	var b bytes.Buffer
	if err := rp.Save(&b); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReplayCommand(t *testing.T) {
	dir := t.TempDir()
	badHash := altered(t, dir, "hash.replay", func(rp *sim.Replay) { rp.Ticks[776].Hash ^= 1 })
	badInput := altered(t, dir, "input.replay", func(rp *sim.Replay) {
		for i := 1000; i < len(rp.Ticks); i++ {
			if c := rp.Ticks[i].Commands; len(c) > 0 && c[0].Kind == ecs.CmdInput {
				c[0].Turn += 9000
				t.Logf("changed an input of tick %d", rp.Ticks[i].Tick)
				return
			}
		}
		t.Fatal("no input to change")
	})
	cut := altered(t, dir, "cut.replay", func(rp *sim.Replay) {})
	data, _ := os.ReadFile(cut)
	cut = writeFile(t, dir, "cut.replay", data[:len(data)*2/3])
	future := writeFile(t, dir, "future.replay", []byte("SHATRPL\n\x09\x00rest"))
	v1 := writeFile(t, dir, "v1.jsonl", []byte(`{"format":"shatter-replay","version":1,"arena":0,"seed":22}`+"\n"))
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string // in stdout
		wantErr  string // in stderr
	}{
		{"matching log", []string{"-q", goodLog}, 0, "OK: 2400 ticks, 2400 state hashes match", ""},
		{"a recorded hash changed", []string{"-q", badHash}, 1, "DIVERGED: first differing state at tick 777 ", ""},
		{"an input changed", []string{"-q", badInput}, 1, "DIVERGED: first differing state at tick 10", ""},
		{"cut log", []string{"-q", cut}, 0, "OK: ", "was cut short"},
		{"unknown version", []string{future}, 2, "", "version 9; this build reads version 2 only"},
		{"version 1", []string{v1}, 2, "", "version 1 (JSON lines)"},
		{"not a log", []string{"main.go"}, 2, "", "not a Shatter replay log"},
		{"missing file", []string{"nope.replay"}, 2, "", "no such file"},
		{"no argument", nil, 2, "", "usage"},
		{"two modes", []string{"-json", "-dump", "5", goodLog}, 2, "", "usage"},
		{"diff without a dump", []string{"-diff", "5", goodLog}, 2, "", "usage"},
		{"dump of tick 0", []string{"-dump", "0", goodLog}, 2, "", "not a tick number"},
		{"dump past the end", []string{"-dump", "2401", goodLog}, 2, "", "past the log's last tick"},
		{"serve on an address that cannot be bound", []string{"-serve", "127.0.0.1:-1", goodLog}, 2, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(tt.args, &out, &errOut)
			if code != tt.wantCode || !strings.Contains(out.String(), tt.wantOut) || !strings.Contains(errOut.String(), tt.wantErr) {
				t.Fatalf("replay %v: exit %d, stdout %q, stderr %q; want exit %d, %q and %q", tt.args, code, out.String(), errOut.String(), tt.wantCode, tt.wantOut, tt.wantErr)
			}
		})
	}
}

func TestReplayJSONExport(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"-json", goodLog}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2400+2 {
		t.Fatalf("%d lines, want a header, 2400 ticks and an end", len(lines))
	}
	var head jsonHeader
	if err := json.Unmarshal([]byte(lines[0]), &head); err != nil || head.Format != "shatter-replay" || head.Version != 2 || head.Seed != 22 {
		t.Fatalf("header %q: %+v, %v", lines[0], head, err)
	}
	inputs := 0
	for _, l := range lines[1 : len(lines)-1] {
		var tk struct {
			Tick uint64            `json:"tick"`
			Hash string            `json:"hash"`
			Cmds []json.RawMessage `json:"cmds"`
		}
		if err := json.Unmarshal([]byte(l), &tk); err != nil || len(tk.Hash) != 16 {
			t.Fatalf("tick line %q: %+v, %v", l, tk, err)
		}
		inputs += strings.Count(l, `"k":"input"`)
	}
	if inputs < 1000 || lines[len(lines)-1] != `{"end":2400}` {
		t.Fatalf("%d inputs, last line %q", inputs, lines[len(lines)-1])
	}
}

// TestReplayDumpAndDiff dumps a tick, checks the dump is sorted and
// stable, then diffs the log against it as it is and altered: the first
// entity and component that differ are named.
func TestReplayDumpAndDiff(t *testing.T) {
	dir := t.TempDir()
	dumpOf := func(tick string) []byte {
		var out, errOut bytes.Buffer
		if code := run([]string{"-dump", tick, goodLog}, &out, &errOut); code != 0 {
			t.Fatalf("dump: exit %d: %s", code, errOut.String())
		}
		return out.Bytes()
	}
	dump := dumpOf("1500")
	if again := dumpOf("1500"); !bytes.Equal(dump, again) {
		t.Fatal("two dumps of the same tick differ")
	}
	lines := strings.Split(strings.TrimSpace(string(dump)), "\n")
	prev := -1
	var zombie, player int // line numbers of a zombie and a player
	for i, l := range lines {
		var rec struct {
			ID   int    `json:"id"`
			Kind string `json:"kind"`
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil || rec.ID <= prev {
			t.Fatalf("line %d %q: id %d after %d (%v); want ids rising", i, l, rec.ID, prev, err)
		}
		prev = rec.ID
		switch rec.Kind {
		case "zombie":
			zombie = i
		case "player":
			player = i
		}
	}
	if !strings.Contains(lines[0], `"kind":"arena"`) || !strings.Contains(lines[0], `"tick":1500`) || zombie == 0 || player == 0 {
		t.Fatalf("first line %q; zombie at line %d, player at %d", lines[0], zombie, player)
	}
	for _, want := range []string{`"Brain":`, `"Velocity":`, `"Steering":`, `"Fresh":`, `"order":`} {
		if !strings.Contains(lines[zombie], want) {
			t.Fatalf("zombie line %q lacks %s", lines[zombie], want)
		}
	}

	edit := func(line int, from, to string) []byte {
		l := slices.Clone(lines)
		if !strings.Contains(l[line], from) {
			t.Fatalf("line %q lacks %q", l[line], from)
		}
		l[line] = strings.Replace(l[line], from, to, 1)
		return []byte(strings.Join(l, "\n") + "\n")
	}
	idOf := func(line int) string {
		var rec struct{ ID int }
		json.Unmarshal([]byte(lines[line]), &rec)
		return "entity " + strconv.Itoa(rec.ID) + " "
	}
	without := append(slices.Clone(lines[:player]), lines[player+1:]...)
	tests := []struct {
		name     string
		dump     []byte
		wantCode int
		want     []string
	}{
		{"the same", dump, 0, []string{"SAME: the state after tick 1500 matches"}},
		{"a zombie's velocity", edit(zombie, `"Velocity":{"X":`, `"Velocity":{"X":1e-300,"Was":`), 1, []string{idOf(zombie) + "(zombie): component Velocity differs", "dump:   {\"X\":1e-300"}},
		{"a player's steering", edit(player, `"Boosting":`, `"Boosting":!`), 2, nil},
		{"a player's grace", edit(player, `"ShieldUntil":`, `"ShieldUntil":7`), 1, []string{idOf(player) + "(player): component Fresh differs"}},
		{"the RNG", edit(0, `"rand":`, `"rand":1`), 1, []string{"entity 0 (arena): component rand differs"}},
		{"a player missing", []byte(strings.Join(without, "\n")), 1, []string{idOf(player) + "(player): the entity differs", "dump:   absent"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, dir, "dump.jsonl", tt.dump)
			var out, errOut bytes.Buffer
			code := run([]string{"-diff", "1500", "-against", path, goodLog}, &out, &errOut)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d: %s %s", code, tt.wantCode, out.String(), errOut.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Fatalf("output %q lacks %q", out.String(), w)
				}
			}
		})
	}
}
