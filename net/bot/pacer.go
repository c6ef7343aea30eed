package bot

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// slotPeriod is how often the pacer's ticker fires. Each period of the
// input rate is cut into slots this long, and each player belongs to one
// slot, so that a thousand players send their inputs spread over the
// period, as independent people would, rather than in one burst.
const slotPeriod = 5 * time.Millisecond

// Pacer steps players at a fixed rate, each Step deciding and sending one
// input. One ticker drives every player; a few workers share the stepping,
// so that one slow socket write delays only its worker's share, and so that
// writes go out on more than one core.
type Pacer struct {
	// Static after NewPacer.
	period time.Duration // between two steps of one player
	slots  int
	shards []*shard
	onStep func(*Player, Action, error)

	added  atomic.Uint64 // players ever added, to place the next one
	missed atomic.Uint64
}

// shard is the players one worker steps.
type shard struct {
	// wake carries the slot to step to the worker; it holds one, so a full
	// channel means the worker is still busy with the last one.
	wake chan int

	mu      sync.Mutex // guards players
	players [][]*Player
}

// NewPacer returns a pacer that steps each player rate times a second
// with the given number of workers (at least 1). onStep, if set, is
// called on a worker after every step with its result; a player whose
// connection has ended is removed after its step returns ErrDisconnected.
func NewPacer(rate float64, workers int, onStep func(p *Player, a Action, err error)) *Pacer {
	period := time.Duration(float64(time.Second) / rate)
	slots := max(1, int(period/slotPeriod))
	p := &Pacer{period: period, slots: slots, onStep: onStep}
	for range max(1, workers) {
		p.shards = append(p.shards, &shard{wake: make(chan int, 1), players: make([][]*Player, slots)})
	}
	return p
}

// Add starts stepping a player. Safe from any goroutine, before or while
// Run runs.
func (p *Pacer) Add(pl *Player) {
	n := int((p.added.Add(1) - 1))
	sh := p.shards[n%len(p.shards)]
	slot := n / len(p.shards) % p.slots
	sh.mu.Lock()
	sh.players[slot] = append(sh.players[slot], pl)
	sh.mu.Unlock()
}

// Missed returns how many times the ticker found a worker still busy with
// an earlier slot: each time, a slot of that worker's players went without
// a step for one period. More than a few means the machine cannot keep up
// with the input rate.
func (p *Pacer) Missed() uint64 { return p.missed.Load() }

// Run steps the players until ctx is done. It starts the workers and
// returns when they all have exited, which they do when Run closes their
// wake channels. Call it once.
func (p *Pacer) Run(ctx context.Context) {
	var workers sync.WaitGroup
	for _, sh := range p.shards {
		workers.Go(func() { sh.work(p.onStep) })
	}
	defer workers.Wait()
	ticker := time.NewTicker(p.period / time.Duration(p.slots))
	defer ticker.Stop()
	for slot := 0; ; slot = (slot + 1) % p.slots {
		select {
		case <-ctx.Done():
			for _, sh := range p.shards {
				close(sh.wake)
			}
			return
		case <-ticker.C:
		}
		for _, sh := range p.shards {
			select {
			case sh.wake <- slot:
			default:
				p.missed.Add(1)
			}
		}
	}
}

// work steps the players of each slot it is woken for, until wake is
// closed.
func (sh *shard) work(onStep func(*Player, Action, error)) {
	var batch []*Player // the slot being stepped, copied so Add need not wait for the writes
	for slot := range sh.wake {
		sh.mu.Lock()
		batch = append(batch[:0], sh.players[slot]...)
		sh.mu.Unlock()
		for _, pl := range batch {
			a, err := pl.Step()
			if errors.Is(err, ErrDisconnected) {
				sh.remove(slot, pl)
			}
			if onStep != nil {
				onStep(pl, a, err)
			}
		}
	}
}

// remove stops stepping a player of slot.
func (sh *shard) remove(slot int, pl *Player) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if i := slices.Index(sh.players[slot], pl); i >= 0 {
		sh.players[slot] = slices.Delete(sh.players[slot], i, i+1)
	}
}
