package ecs

import (
	"sort"

	arche "github.com/mlange-42/arche/ecs"
)

// SessionState is what the arena knows of one session.
type SessionState struct {
	ID     uint32
	Name   string
	Marble arche.Entity // zero while the session has no living marble
	Ack    uint32       // last input seq applied
	// InputTick is the tick of the last input applied; the boost wish
	// lapses Config.BoostHold after it.
	InputTick uint64
}

// Session returns the state of a session, or nil if it has not joined.
func (a *State) Session(id uint32) *SessionState {
	i := sort.Search(len(a.Sessions), func(i int) bool { return a.Sessions[i].ID >= id })
	if i < len(a.Sessions) && a.Sessions[i].ID == id {
		return &a.Sessions[i]
	}
	return nil
}

// AddSession registers a session, keeping Sessions sorted. A session that
// is already there keeps its state (a resumed connection).
func (a *State) AddSession(id uint32, name string) *SessionState {
	i := sort.Search(len(a.Sessions), func(i int) bool { return a.Sessions[i].ID >= id })
	if i < len(a.Sessions) && a.Sessions[i].ID == id {
		return &a.Sessions[i]
	}
	a.Sessions = append(a.Sessions, SessionState{})
	copy(a.Sessions[i+1:], a.Sessions[i:])
	a.Sessions[i] = SessionState{ID: id, Name: name}
	a.marbleNames.sessions[name]++
	return &a.Sessions[i]
}

// RemoveSession forgets a session and removes its marble, if any.
func (a *State) RemoveSession(id uint32) {
	s := a.Session(id)
	if s == nil {
		return
	}
	if !s.Marble.IsZero() && a.world.Alive(s.Marble) {
		a.Remove(s.Marble)
	}
	a.marbleNames.drop(a.marbleNames.sessions, s.Name)
	i := sort.Search(len(a.Sessions), func(i int) bool { return a.Sessions[i].ID >= id })
	a.Sessions = append(a.Sessions[:i], a.Sessions[i+1:]...)
}
