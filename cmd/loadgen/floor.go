package main

import (
	"fmt"
	"time"

	"github.com/shatter/shatter/net/floor"
)

// The write floor each single-server scenario measures just before its
// server starts (net/floor): frames the size of a typical snap, written
// for long enough that the figure holds still from run to run.
const (
	floorFrameSize = 300
	floorManyConns = 1000
	floorOneTime   = 500 * time.Millisecond
	floorManyTime  = 1500 * time.Millisecond
	// floorPacedRate is the tick rate of the paced floor's bursts:
	// DESIGN.md's, which every scenario's server runs at (the floor is
	// measured before the server says its rate).
	floorPacedRate = 30
	floorPacedTime = 2 * time.Second
)

// floorResult is the write floor measured beside a scenario: one
// connection written again and again, floorManyConns written
// round-robin without a pause, and floorManyConns written in a burst
// every tick as a fan-out writes them (floor.MeasurePaced).
type floorResult struct {
	One, Many, Paced floor.Result
	Err              error // why it could not be measured; the rest is then zero
}

// measureFloor measures the write floor on this machine, now.
func measureFloor() *floorResult {
	one, err := floor.Measure(1, floorFrameSize, floorOneTime)
	if err != nil {
		return &floorResult{Err: err}
	}
	many, err := floor.Measure(floorManyConns, floorFrameSize, floorManyTime)
	if err != nil {
		return &floorResult{Err: err}
	}
	paced, err := floor.MeasurePaced(floorManyConns, floorFrameSize, time.Second/floorPacedRate, floorPacedTime)
	if err != nil {
		return &floorResult{Err: err}
	}
	return &floorResult{One: one, Many: many, Paced: paced}
}

// cell renders the floor for the results table: the writer's CPU per
// write to one and to floorManyConns connections, and to those in bursts
// at the tick rate, wall time in brackets.
func (f *floorResult) cell() string {
	return fmt.Sprintf("%.1f / %.1f / %.1f (wall %.1f / %.1f / %.1f)",
		micros(f.One.CPUPerWrite()), micros(f.Many.CPUPerWrite()), micros(f.Paced.CPUPerWrite()),
		micros(f.One.WallPerWrite()), micros(f.Many.WallPerWrite()), micros(f.Paced.WallPerWrite()))
}

// ratioCell renders the server's CPU per snap (µs) over the floor to
// floorManyConns connections, and over the paced floor in brackets.
func (f *floorResult) ratioCell(us float64) string {
	if f == nil || f.Err != nil || f.Many.CPUPerWrite() <= 0 || us <= 0 {
		return "—"
	}
	out := fmt.Sprintf("%.1f×", us/micros(f.Many.CPUPerWrite()))
	if f.Paced.CPUPerWrite() > 0 {
		out += fmt.Sprintf(" (%.1f× paced)", us/micros(f.Paced.CPUPerWrite()))
	}
	return out
}

// line describes the floor for the summary.
func (f *floorResult) line() string {
	if f.Err != nil {
		return fmt.Sprintf("write floor not measured: %v", f.Err)
	}
	return fmt.Sprintf("write floor (%d-byte frames on loopback, measured before the server started): %.2f µs CPU (%.2f µs wall) a write to 1 connection over %d writes, %.2f µs CPU (%.2f µs wall) to %d connections round-robin over %d, %.2f µs CPU (%.2f µs wall) to %d connections in a burst %d times a second (paced) over %d",
		floorFrameSize, micros(f.One.CPUPerWrite()), micros(f.One.WallPerWrite()), f.One.Writes,
		micros(f.Many.CPUPerWrite()), micros(f.Many.WallPerWrite()), floorManyConns, f.Many.Writes,
		micros(f.Paced.CPUPerWrite()), micros(f.Paced.WallPerWrite()), floorManyConns, floorPacedRate, f.Paced.Writes)
}
