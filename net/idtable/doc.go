// Package idtable is the table of entities by id that a snap delta is
// applied to: the client keeps its view in one (net/client), and each bot
// of the load generator keeps a compact copy of its own (net/bot).
//
// A Table keeps its values in a dense slice, with an open-addressed index
// from uint32 id to slot (a few bytes a value, where a Go map takes tens).
// Lookups cost a short probe and hand back a pointer into the slot,
// so an update changes the value in place; a walk over every value is a
// walk over the slice, in which the caller may delete as it goes (a sweep
// of what left a view); a delete moves the last value
// into the gap, so the slice never has holes. The slice and the index keep
// their storage across deletes and Clear, so a table in steady state
// allocates nothing.
//
// Outline:
//   - table.go: Table and its methods.
package idtable
