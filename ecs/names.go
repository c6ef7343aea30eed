package ecs

import (
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/mlange-42/arche/generic"
)

// NameMaxLen is the longest display name in characters, PROTOCOL.md's
// limit on a hello's name, which DistinctName keeps to.
const NameMaxLen = 16

// DistinctName returns name if taken says it is free, else the first of
// "name 2", "name 3", ... that is, with name cut short where the suffix
// would make it longer than NameMaxLen characters. Names tell marbles
// apart on the leaderboard and in the kill feed.
func DistinctName(name string, taken func(string) bool) string {
	if !taken(name) {
		return name
	}
	for i := 2; ; i++ {
		if c := suffixed(name, i); !taken(c) {
			return c
		}
	}
}

// suffixed is name with " n" at its end, cut short to keep NameMaxLen.
func suffixed(name string, n int) string {
	suffix := " " + strconv.Itoa(n)
	base := name
	for base != "" && utf8.RuneCountInString(base)+len(suffix) > NameMaxLen {
		_, size := utf8.DecodeLastRuneInString(base)
		base = base[:len(base)-size]
	}
	return base + suffix
}

// marbleNames counts the names of an arena's living marbles and joined
// sessions, so that a name is checked by a lookup, not a walk over every
// marble, and keeps the suffixed names made before, so that naming a
// zombie in an arena of thousands stays cheap and allocation-free. The
// lowest free suffix is taken, so suffixes stay dense and the kept names
// are bounded by the marbles a base name had at once; low[base] is where
// its search starts: every suffix from 2 below it is in use (lowered when
// a made name is freed). Lookups only: no map is iterated, so the names
// given stay deterministic.
type marbleNames struct {
	count    map[string]int // living marbles by name
	sessions map[string]int // joined sessions by name
	made     map[suffixKey]string
	parsed   map[string]suffixKey // the inverse of made
	low      map[string]int
}

type suffixKey struct {
	base string
	n    int
}

// newMarbleNames sizes the count of living names for the most marbles
// the arena holds, so that a name new to it does not grow the map.
func newMarbleNames(marbles int) marbleNames {
	return marbleNames{count: make(map[string]int, marbles), sessions: map[string]int{}, made: map[suffixKey]string{},
		parsed: map[string]suffixKey{}, low: map[string]int{}}
}

func (m *marbleNames) add(name string) { m.count[name]++ }

func (m *marbleNames) remove(name string) { m.drop(m.count, name) }

// drop takes one use of name out of counts; a made name no longer used
// lowers its base's search start.
func (m *marbleNames) drop(counts map[string]int, name string) {
	if n := counts[name] - 1; n > 0 {
		counts[name] = n
		return
	}
	delete(counts, name)
	if k, ok := m.parsed[name]; ok && m.count[name] == 0 && m.sessions[name] == 0 && k.n < m.low[k.base] {
		m.low[k.base] = k.n
	}
}

// NameInUse reports whether a joined session or a living marble of the
// arena goes by name.
func (a *State) NameInUse(name string) bool {
	return a.marbleNames.count[name] > 0 || a.marbleNames.sessions[name] > 0
}

// ZombieName returns a name for a new zombie drawn as base: base if no
// session or marble goes by it, else the first free of "base 2", "base 3",
// ... (DistinctName's names), made once and kept.
func (a *State) ZombieName(base string) string {
	if !a.NameInUse(base) {
		return base
	}
	m := &a.marbleNames
	for n := max(m.low[base], 2); ; n++ {
		if c := m.suffixed(base, n); !a.NameInUse(c) {
			m.low[base] = n + 1
			return c
		}
	}
}

// suffixed returns suffixed(base, n), made once and kept.
func (m *marbleNames) suffixed(base string, n int) string {
	key := suffixKey{base, n}
	c, ok := m.made[key]
	if !ok {
		c = suffixed(base, n)
		m.made[key], m.parsed[c] = c, key
	}
	return c
}

// ReserveZombieNames makes ahead the suffixed names that zombies drawn
// evenly from bases need in an arena of population marbles, so that
// naming a zombie allocates nothing while the arena plays, not even when
// one base's count reaches a new peak. Each base gets its share of the
// population plus six standard deviations of it (its zombies' count is
// about binomial), which a long-running arena does not exceed in practice;
// beyond that ZombieName makes names as before. The names given do not
// change, only when they are made.
func (a *State) ReserveZombieNames(bases []string, population int) {
	if len(bases) == 0 || population <= 0 {
		return
	}
	share := float64(population) / float64(len(bases))
	upTo := int(share+6*math.Sqrt(share)) + 4
	for _, base := range bases {
		// The search start too, so that no base is new to the map later.
		a.marbleNames.low[base] = max(a.marbleNames.low[base], 2)
		for n := 2; n <= upTo; n++ {
			a.marbleNames.suffixed(base, n)
		}
	}
}

// YieldName renames the zombie, if any, that goes by name, to a distinct
// one: a joining player's name was promised in its welcome, and zombies,
// which nobody chose, make way. Must not be called while a query is open.
func (a *State) YieldName(name string) {
	if a.marbleNames.count[name] == 0 {
		return
	}
	q := a.zombieNames.Query(a.world)
	var held *Name
	for q.Next() {
		if n := q.Get(); n.Value == name {
			held = n
			q.Close()
			break
		}
	}
	if held != nil {
		renamed := a.ZombieName(name)
		a.marbleNames.remove(held.Value)
		held.Value = renamed
		a.marbleNames.add(renamed)
	}
}

// newNameFilters makes the query of YieldName once.
func newNameFilters() (zombies *generic.Filter1[Name]) {
	return generic.NewFilter1[Name]().With(generic.T[Brain]())
}
