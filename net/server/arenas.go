package server

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/shatter/shatter/net/wire"
	"github.com/shatter/shatter/sim"
)

// newArena builds arena id with its metrics hook and replay log. A
// replay log that cannot be created is logged and counted, and the arena
// plays without one: a full or read-only disk must not keep players out.
func (s *Server) newArena(id int) (*sim.Arena, error) {
	seed := s.cfg.Seed + uint64(id)
	if s.cfg.Seed == 0 {
		seed = randomSeed()
	}
	opts := sim.Options{ID: id, Config: s.cfg.Arena, Seed: seed, Clock: s.cfg.Clock, Logger: s.log, KeyframeEvery: s.cfg.KeyframeEvery}
	if s.cfg.Clips.Minutes > 0 {
		co := s.cfg.Clips
		co.Logger = s.log
		opts.Clips = sim.NewClipRing(co)
	}
	if s.cfg.RecordDir != "" {
		rec, err := s.createRecorder(id, seed)
		if err != nil {
			s.metrics.ReplayFailures.WithLabelValues("create").Inc()
			s.log.Error("cannot create the replay log; the arena plays without one", "arena", id, "err", err)
		} else {
			opts.Record = rec
			opts.OnRecordFailed = s.recordFailed
			s.log.Info("recording arena", "arena", id, "path", rec.Name())
		}
	}
	if s.cfg.Drill != nil {
		opts.Drill = func(tick uint64) { s.cfg.Drill(id, tick) }
	}
	var observe func(float64, []float64, int)
	var perSystem []float64 // reused every tick, on the arena goroutine
	opts.OnTick = func(t *sim.TickStats) {
		perSystem = perSystem[:0]
		for _, d := range t.Systems {
			perSystem = append(perSystem, d.Seconds())
		}
		observe(t.Duration.Seconds(), perSystem, t.Movers)
	}
	a, err := sim.New(opts)
	if err != nil {
		s.events.add("arena_failed", fmt.Sprintf("arena %d could not start: %v", id, err))
		return nil, err
	}
	observe = s.metrics.TickObserver(id, a.SystemNames())
	s.arenaStarted(id)
	return a, nil
}

// createRecorder creates the replay log file of an arena.
func (s *Server) createRecorder(id int, seed uint64) (*sim.Recorder, error) {
	if err := os.MkdirAll(s.cfg.RecordDir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(s.cfg.RecordDir, fmt.Sprintf("arena-%d-seed-%d-%s%s", id, seed, time.Now().UTC().Format("20060102T150405"), sim.ReplayExt))
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return sim.NewRecorder(f), nil
}

// recordFailed counts a replay log that stopped early (the arena logged
// it).
func (s *Server) recordFailed(err error) {
	reason := "write_error"
	if errors.Is(err, sim.ErrRecordBehind) {
		reason = "queue_full"
	}
	s.metrics.ReplayFailures.WithLabelValues(reason).Inc()
}

// RulesOf lists the config's rules for the welcome message, named by their
// rule tags, in field order.
func RulesOf(cfg *sim.Config) []wire.Rule {
	var rules []wire.Rule
	for _, r := range cfg.Rules() {
		rules = append(rules, wire.Rule{Name: r.Name, Value: r.Value()})
	}
	return rules
}

// randomSeed draws an arena seed. The seed is logged in the replay log's
// name and header, so a random seed never prevents a replay.
func randomSeed() uint64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("server: crypto/rand failed: " + err.Error())
	}
	return binary.LittleEndian.Uint64(b[:]) | 1
}

// NewNodeID returns a fresh node id: "node-" and 48 random bits in hex,
// short enough to read in logs and /fleet, unique enough for a fleet.
func NewNodeID() string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("server: crypto/rand failed: " + err.Error())
	}
	return fmt.Sprintf("node-%x", b)
}
