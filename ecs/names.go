package ecs

import (
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
		suffix := " " + strconv.Itoa(i)
		base := name
		for utf8.RuneCountInString(base)+len(suffix) > NameMaxLen {
			_, size := utf8.DecodeLastRuneInString(base)
			base = base[:len(base)-size]
		}
		if c := base + suffix; !taken(c) {
			return c
		}
	}
}

// NameInUse reports whether a joined session or a living marble of the
// arena goes by name.
func (a *State) NameInUse(name string) bool {
	for i := range a.Sessions {
		if a.Sessions[i].Name == name {
			return true
		}
	}
	q := a.moverNames.Query(a.world)
	for q.Next() {
		if q.Get().Value == name {
			q.Close()
			return true
		}
	}
	return false
}

// YieldName renames the zombie, if any, that goes by name, to a distinct
// one: a joining player's name was promised in its welcome, and zombies,
// which nobody chose, make way. Must not be called while a query is open.
func (a *State) YieldName(name string) {
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
		held.Value = DistinctName(name, a.NameInUse)
	}
}

// nameFilters are the queries of NameInUse and YieldName, made once.
func newNameFilters() (movers, zombies *generic.Filter1[Name]) {
	movers = generic.NewFilter1[Name]().With(generic.T[Mover]())
	zombies = generic.NewFilter1[Name]().With(generic.T[Brain]())
	return movers, zombies
}
