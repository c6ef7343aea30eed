package sim

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Dump plays the log up to tick and writes the arena's state after it as
// JSON lines: the arena's own state first (id 0), then every entity with
// all its components, by entity id, keys sorted. Two builds' dumps of the
// same log and tick can be compared with diff; Diff does it for one of
// them.
func (rp *Replay) Dump(tick uint64, w io.Writer) error {
	lines, err := rp.dumpLines(tick)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	for _, l := range lines {
		bw.Write(l.text)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// dumpLine is one line of a dump: an entity's id and its JSON.
type dumpLine struct {
	id   uint32
	text []byte
}

func (rp *Replay) dumpLines(tick uint64) ([]dumpLine, error) {
	if tick > rp.LastTick {
		return nil, fmt.Errorf("tick %d is past the log's last tick, %d", tick, rp.LastTick)
	}
	if tick < rp.FirstTick() {
		return nil, fmt.Errorf("tick %d is before the log's start, tick %d (a clip)", tick, rp.FirstTick())
	}
	a, err := rp.run(tick, nil)
	if err != nil {
		return nil, err
	}
	var lines []dumpLine
	for _, r := range a.state.Dump() {
		r.Components["id"] = r.ID
		text, err := json.Marshal(r.Components)
		if err != nil {
			return nil, fmt.Errorf("entity %d: %v", r.ID, err)
		}
		lines = append(lines, dumpLine{id: r.ID, text: text})
	}
	return lines, nil
}

// StateDiff is where a replayed state first differs from a dump: the
// lowest entity id (0 for the arena's own state) whose record differs,
// and the first of its components, by name, that does. An entity that
// only one side has has an empty Component and "absent" on the other.
type StateDiff struct {
	Tick       uint64
	ID         uint32
	Kind       string // the entity's kind, as whichever side has it says
	Component  string
	Dump, Here string // the component's JSON in the dump and in this replay
}

func (d *StateDiff) String() string {
	what := "component " + d.Component
	if d.Component == "" {
		what = "the entity"
	}
	return fmt.Sprintf("tick %d: entity %d (%s): %s differs\n  dump:   %s\n  replay: %s", d.Tick, d.ID, d.Kind, what, d.Dump, d.Here)
}

// Diff plays the log up to tick and compares the state with dump, a Dump
// of that tick (by another build, say). It returns nil if they match, or
// where they first differ. A dump that is not Dump's JSON lines is an
// error.
func (rp *Replay) Diff(tick uint64, dump io.Reader) (*StateDiff, error) {
	want, err := parseDump(dump)
	if err != nil {
		return nil, err
	}
	lines, err := rp.dumpLines(tick)
	if err != nil {
		return nil, err
	}
	got := map[uint32]map[string]json.RawMessage{}
	for _, l := range lines {
		rec, _, err := parseDumpLine(l.text)
		if err != nil {
			return nil, err
		}
		got[l.id] = rec
	}
	for _, id := range sortedKeys(want, got) {
		w, g := want[id], got[id]
		if d := diffRecord(w, g); d != nil {
			d.Tick, d.ID = tick, id
			return d, nil
		}
	}
	return nil, nil
}

// diffRecord compares one entity's records; either may be nil (absent).
func diffRecord(want, got map[string]json.RawMessage) *StateDiff {
	kind := func(r map[string]json.RawMessage) string {
		var k string
		json.Unmarshal(r["kind"], &k)
		return k
	}
	switch {
	case want == nil:
		return &StateDiff{Kind: kind(got), Dump: "absent", Here: "present"}
	case got == nil:
		return &StateDiff{Kind: kind(want), Dump: "present", Here: "absent"}
	}
	for _, k := range sortedKeys(want, got) {
		w, g := want[k], got[k]
		if !bytes.Equal(w, g) {
			d := &StateDiff{Kind: kind(want), Component: k, Dump: string(w), Here: string(g)}
			if w == nil {
				d.Dump = "absent"
			}
			if g == nil {
				d.Here = "absent"
			}
			return d
		}
	}
	return nil
}

// parseDump reads a Dump's lines, by entity id.
func parseDump(r io.Reader) (map[uint32]map[string]json.RawMessage, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	out := map[uint32]map[string]json.RawMessage{}
	for n := 1; sc.Scan(); n++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		rec, id, err := parseDumpLine(sc.Bytes())
		if err != nil {
			return nil, fmt.Errorf("dump line %d: %v", n, err)
		}
		if _, dup := out[id]; dup {
			return nil, fmt.Errorf("dump line %d: entity %d again", n, id)
		}
		out[id] = rec
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the dump is empty")
	}
	return out, nil
}

// parseDumpLine reads one line of a dump, its values compacted so that
// two dumps compare by their bytes.
func parseDumpLine(line []byte) (map[string]json.RawMessage, uint32, error) {
	var rec map[string]json.RawMessage
	if err := json.Unmarshal(line, &rec); err != nil {
		return nil, 0, fmt.Errorf("not a dump record: %v", err)
	}
	var id uint32
	if err := json.Unmarshal(rec["id"], &id); err != nil {
		return nil, 0, fmt.Errorf("no entity id: %s", strings.TrimSpace(string(line)))
	}
	for k, v := range rec {
		var b bytes.Buffer
		if err := json.Compact(&b, v); err == nil {
			rec[k] = b.Bytes()
		}
	}
	return rec, id, nil
}

// sortedKeys lists the keys of a and b, each once, in order: what a diff
// walks so that it names the first difference whatever the maps' order.
func sortedKeys[K cmp.Ordered, V any](a, b map[K]V) []K {
	keys := make([]K, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
