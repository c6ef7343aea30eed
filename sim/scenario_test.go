package sim

import (
	"math"

	"github.com/shatter/shatter/ecs"
)

// scenario is a scripted match used to make the replay logs in
// testdata/replays: a config, a seed, a length, and a driver that posts
// commands before each tick, as sessions would.
type scenario struct {
	name  string
	seed  uint64
	ticks int
	cfg   ecs.Config
	// drive posts the commands for the coming tick, given the latest frame.
	drive func(a *Arena, f *Frame, sinks map[uint32]*countingSink)
}

var scenarios = []scenario{
	{
		name:  "zombies",
		seed:  11,
		ticks: 3000,
		cfg:   ecs.DefaultConfig(),
	},
	{
		name:  "players",
		seed:  22,
		ticks: 2400,
		cfg:   playersConfig(),
		drive: drivePlayers,
	},
	{
		name:  "movers500",
		seed:  33,
		ticks: 600,
		cfg:   ecs.DefaultConfig().ForPopulation(500, 3000, 60),
	},
}

// playersConfig is a small, crowded arena where scripted players meet
// zombies, each other and low-threshold spike balls within a few hundred
// ticks.
func playersConfig() ecs.Config {
	cfg := ecs.DefaultConfig()
	cfg.ArenaWidth, cfg.ArenaHeight = 1200, 1200
	cfg.MinPopulation = 16
	cfg.FragmentCount = 500
	cfg.ObstacleCount = 12
	cfg.ObstacleMinMass = 45
	return cfg
}

// drivePlayers scripts eight players: they join and spawn, steer toward
// the nearest thing they could eat (fragment or lighter marble) as the
// frame shows it, boost now and then, respawn after dying; one leaves and
// a new session takes its place, one drops its connection and resumes.
func drivePlayers(a *Arena, f *Frame, sinks map[uint32]*countingSink) {
	post := func(c ecs.Command) {
		var sink Sink
		if c.Kind == ecs.CmdJoin {
			if sinks[c.Session] == nil {
				sinks[c.Session] = &countingSink{}
			}
			sink = sinks[c.Session]
		}
		if err := a.Post(Command{cmd: c, sink: sink}); err != nil {
			panic(err)
		}
	}
	next := f.Tick + 1
	switch next {
	case 1:
		for s := uint32(1); s <= 8; s++ {
			post(ecs.Command{Kind: ecs.CmdJoin, Session: s, Name: "player" + string(rune('0'+s))})
			post(ecs.Command{Kind: ecs.CmdSpawn, Session: s})
		}
		return
	case 600:
		post(ecs.Command{Kind: ecs.CmdLeave, Session: 3})
	case 700:
		post(ecs.Command{Kind: ecs.CmdJoin, Session: 9, Name: "late"})
		post(ecs.Command{Kind: ecs.CmdSpawn, Session: 9})
	case 800:
		post(ecs.Command{Kind: ecs.CmdDetach, Session: 5})
	case 900:
		post(ecs.Command{Kind: ecs.CmdJoin, Session: 5, Name: "player5"})
	}
	for i := range f.Players {
		p := &f.Players[i]
		detached := p.Session == 5 && next > 800 && next < 900
		if detached || (p.Session == 3 && next >= 600) {
			continue
		}
		if !p.Alive {
			if next%20 == uint64(p.Session) {
				post(ecs.Command{Kind: ecs.CmdSpawn, Session: p.Session})
			}
			continue
		}
		if next%3 != uint64(p.Session)%3 {
			continue
		}
		angle, ok := towardFood(f, &p.Entity)
		if !ok {
			angle = float64(next%360) * math.Pi / 180
		}
		boost := (next/90)%3 == uint64(p.Session)%3
		post(ecs.Command{Kind: ecs.CmdInput, Session: p.Session, Seq: uint32(next), Turn: ecs.TurnOf(angle), Boost: boost})
	}
}

// towardFood returns the heading from me to the nearest fragment or lighter
// marble within 300 units in the frame.
func towardFood(f *Frame, me *Entity) (float64, bool) {
	best := math.Inf(1)
	var bx, by float32
	c0, r0, c1, r1 := f.Span(float64(me.X), float64(me.Y), 300)
	for r := r0; r <= r1; r++ {
		for c := c0; c <= c1; c++ {
			for _, e := range f.Cell(c, r) {
				edible := e.Kind == ecs.KindFragment || (e.Kind.IsMover() && e.ID != me.ID && float64(e.Mass)*1.25 < float64(me.Mass))
				if !edible {
					continue
				}
				if d := math.Hypot(float64(e.X-me.X), float64(e.Y-me.Y)); d < best {
					best, bx, by = d, e.X, e.Y
				}
			}
		}
	}
	if math.IsInf(best, 1) {
		return 0, false
	}
	return math.Atan2(float64(by-me.Y), float64(bx-me.X)), true
}

// countingSink counts a session's events.
type countingSink struct {
	frames, deaths, boards int
	lastDeath              Died
	lastBoard              *Board
}

func (s *countingSink) FrameReady(uint64) { s.frames++ }
func (s *countingSink) Died(d Died)       { s.deaths++; s.lastDeath = d }
func (s *countingSink) Departed(Departed) {}
func (s *countingSink) Feed(*Feed)        {}
func (s *countingSink) Board(b *Board) {
	s.boards++
	s.lastBoard = b
}

// runScenario plays a scenario through the inbox, as a server would,
// recording to rec if not nil, and returns the sinks of its sessions and
// the arena, closed.
func runScenario(sc scenario, rec *Recorder) (map[uint32]*countingSink, *Arena, error) {
	sinks, a, err := driveScenario(sc, Options{Record: rec}, nil)
	if err != nil {
		return nil, nil, err
	}
	return sinks, a, a.Close()
}

// driveScenario plays sc with opts (Config and Seed are the scenario's),
// draining its replay log and clip ring as a headless driver must; each,
// if not nil, runs after every tick. The arena is left open.
func driveScenario(sc scenario, opts Options, each func(a *Arena)) (map[uint32]*countingSink, *Arena, error) {
	opts.Config, opts.Seed = sc.cfg, sc.seed
	a, err := New(opts)
	if err != nil {
		return nil, nil, err
	}
	sinks := map[uint32]*countingSink{}
	for range sc.ticks {
		if sc.drive != nil {
			f := a.Acquire()
			sc.drive(a, f, sinks)
			f.Release()
		}
		if err := a.Step(); err != nil {
			return nil, nil, err
		}
		if opts.Record != nil {
			opts.Record.Drain()
		}
		if a.clips != nil {
			a.clips.cur.Drain()
		}
		if each != nil {
			each(a)
		}
	}
	return sinks, a, nil
}
