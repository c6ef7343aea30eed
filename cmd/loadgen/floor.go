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
)

// floorResult is the write floor measured beside a scenario: one
// connection written again and again, and floorManyConns written
// round-robin as a fan-out writes.
type floorResult struct {
	One, Many floor.Result
	Err       error // why it could not be measured; the rest is then zero
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
	return &floorResult{One: one, Many: many}
}

// cell renders the floor for the results table: the writer's CPU per
// write to one and to floorManyConns connections, wall time in brackets.
func (f *floorResult) cell() string {
	return fmt.Sprintf("%.1f / %.1f (wall %.1f / %.1f)",
		micros(f.One.CPUPerWrite()), micros(f.Many.CPUPerWrite()), micros(f.One.WallPerWrite()), micros(f.Many.WallPerWrite()))
}

// line describes the floor for the summary.
func (f *floorResult) line() string {
	if f.Err != nil {
		return fmt.Sprintf("write floor not measured: %v", f.Err)
	}
	return fmt.Sprintf("write floor (%d-byte frames on loopback, measured before the server started): %.2f µs CPU (%.2f µs wall) a write to 1 connection over %d writes, %.2f µs CPU (%.2f µs wall) to %d connections round-robin over %d",
		floorFrameSize, micros(f.One.CPUPerWrite()), micros(f.One.WallPerWrite()), f.One.Writes,
		micros(f.Many.CPUPerWrite()), micros(f.Many.WallPerWrite()), floorManyConns, f.Many.Writes)
}
