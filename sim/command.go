package sim

import "github.com/shatter/shatter/ecs"

// Config holds every rule number of an arena, with its DESIGN.md default
// from DefaultConfig. It is the simulation's own type, offered here so that
// the network side configures arenas through sim alone.
type Config = ecs.Config

// DefaultConfig returns the rules of DESIGN.md.
func DefaultConfig() Config { return ecs.DefaultConfig() }

// Command is a session's request to its arena, made by one of Join,
// Detach, Leave, Depart, Arrive, Spawn and Input and posted with Arena.Post or
// Arena.PostControl. Commands are applied at the start of the next tick in
// arrival order, which is what the replay log records.
type Command struct {
	cmd ecs.Command
	// sink receives the session's events from a Join on. A Join for a
	// session already in the arena (a resumed connection) replaces the
	// sink; a Detach or Leave removes it.
	sink Sink
}

// Join brings a session into the arena, spectating, with sink receiving
// its events from then on. A Join for a session already there (a resumed
// connection) keeps its marble and replaces its sink. Post it on the
// control inbox.
func Join(session uint32, name string, sink Sink) Command {
	return Command{cmd: ecs.Command{Kind: ecs.CmdJoin, Session: session, Name: name}, sink: sink}
}

// Detach tells the arena the session's connection dropped: its marble
// holds its heading without boosting, and it gets no events until a Join.
// Post it on the control inbox.
func Detach(session uint32) Command {
	return Command{cmd: ecs.Command{Kind: ecs.CmdDetach, Session: session}}
}

// Leave removes a session and its marble for good. Post it on the control
// inbox.
func Leave(session uint32) Command {
	return Command{cmd: ecs.Command{Kind: ecs.CmdLeave, Session: session}}
}

// Depart removes a session and its marble for good, like Leave, and tells
// its sink what left (Sink.Departed: alive or not, name, exact mass), so
// the marble can continue on another node. Post it on the control inbox.
func Depart(session uint32) Command {
	return Command{cmd: ecs.Command{Kind: ecs.CmdDepart, Session: session}}
}

// Arrive gives a joined session a marble of the given mass, carried from
// the node it played on (a drain, or a crashed node's checkpoint); ignored
// while it has one. Post it on the control inbox after the session's Join.
// The replay log records it, so a replay reproduces the arrival.
func Arrive(session uint32, mass float64) Command {
	return Command{cmd: ecs.Command{Kind: ecs.CmdArrive, Session: session, Mass: mass}}
}

// Spawn gives the session a marble; ignored while it has one.
func Spawn(session uint32) Command {
	return Command{cmd: ecs.Command{Kind: ecs.CmdSpawn, Session: session}}
}

// Input sets the heading (radians, 0 along +x, growing toward +y) and the
// boost wish of the session's marble. seq is echoed as the frame's Ack.
// This is the door every input comes through: the angle is reduced modulo
// 2π and rounded to 1/65536 of a turn here (PROTOCOL.md), and that value
// is what the arena applies, records and hashes. A non-finite angle, which
// the network refuses, is taken as 0.
func Input(session, seq uint32, angle float64, boost bool) Command {
	return Command{cmd: ecs.Command{Kind: ecs.CmdInput, Session: session, Seq: seq, Turn: ecs.TurnOf(angle), Boost: boost}}
}

// Session returns the session the command is for.
func (c Command) Session() uint32 { return c.cmd.Session }

// String names the command's kind, for logs.
func (c Command) String() string { return c.cmd.Kind.String() }

// DistinctName returns name if taken says it is free, else the first free
// of "name 2", "name 3", ... (cut to PROTOCOL.md's 16 characters). The
// lobby makes a player's name distinct among the players of its arena
// with it; the arena gives zombies distinct names the same way.
func DistinctName(name string, taken func(string) bool) string {
	return ecs.DistinctName(name, taken)
}
