package bot

import (
	"iter"

	"github.com/shatter/shatter/net/client"
	"github.com/shatter/shatter/net/wire"
)

// glimpseFood is how many fragments a Glimpse remembers.
const glimpseFood = 8

// Glimpse is what a skimming player (client.Options.SkimSnaps) keeps of
// its view instead of a Table: the marbles of the latest snap's add and
// upd records, and the few fragments nearest to it of those added since
// and not deleted. It costs no table lookup per entry, which is what lets
// one load generator run thousands of players, and it still shows the
// brain what it acts on most: the marbles that move near the player, to
// flee or chase, and fragments to feed on. What it misses (a marble that
// did not move this tick, fragments beyond the few it keeps) only makes
// the player wander more than a Table's would.
//
// The zero Glimpse is an empty view. It is not safe for concurrent use.
type Glimpse struct {
	// Tick, Alive and You are as in Table.
	Tick  uint64
	Alive bool
	You   wire.UpdEntity

	marbles []glimpsed // of the latest snap
	food    [glimpseFood]glimpsed
	nfood   int
}

// glimpsed is one entity of a Glimpse.
type glimpsed struct {
	id   uint32
	mass uint32
	x, y uint16
	kind uint8
}

// Apply takes a snap's marbles and the fragments it adds, and forgets the
// fragments it deletes.
func (g *Glimpse) Apply(s *wire.Snap) {
	g.Tick, g.Alive, g.You = s.Tick, s.HasYou, s.You
	if !s.HasYou {
		g.You = wire.UpdEntity{}
	}
	g.marbles = g.marbles[:0]
	for i := range s.Add {
		a := &s.Add[i]
		e := glimpsed{id: a.ID, mass: a.Mass, x: a.X, y: a.Y, kind: a.Kind}
		switch a.Kind {
		case wire.KindPlayer, wire.KindZombie:
			g.marbles = append(g.marbles, e)
		case wire.KindFragment:
			g.remember(e)
		}
	}
	for _, u := range s.Upd {
		if u.Marble {
			// An upd has no kind; the brain treats players and zombies
			// alike.
			g.marbles = append(g.marbles, glimpsed{id: u.ID, mass: u.Mass, x: u.X, y: u.Y, kind: wire.KindPlayer})
		}
	}
	for _, id := range s.Del {
		g.forget(id)
	}
}

// remember keeps fragment e if there is room, or in place of the kept
// fragment farthest from the player if e is nearer.
func (g *Glimpse) remember(e glimpsed) {
	if g.nfood < glimpseFood {
		g.food[g.nfood] = e
		g.nfood++
		return
	}
	far, farDist := 0, int64(-1)
	for i, f := range g.food[:g.nfood] {
		if d := g.dist2(f); d > farDist {
			far, farDist = i, d
		}
	}
	if g.dist2(e) < farDist {
		g.food[far] = e
	}
}

// forget drops fragment id, if kept.
func (g *Glimpse) forget(id uint32) {
	for i := range g.food[:g.nfood] {
		if g.food[i].id == id {
			g.nfood--
			g.food[i] = g.food[g.nfood]
			return
		}
	}
}

// dist2 is e's squared distance from the player in wire units.
func (g *Glimpse) dist2(e glimpsed) int64 {
	dx, dy := int64(e.x)-int64(g.You.X), int64(e.y)-int64(g.You.Y)
	return dx*dx + dy*dy
}

// Reset empties the view and sets Tick to tick, for a new welcome.
func (g *Glimpse) Reset(tick uint64) {
	g.marbles, g.nfood = g.marbles[:0], 0
	g.Tick, g.Alive, g.You = tick, false, wire.UpdEntity{}
}

// All yields the marbles of the latest snap and the fragments kept.
func (g *Glimpse) All() iter.Seq2[uint32, client.Entity] {
	return func(yield func(uint32, client.Entity) bool) {
		for _, e := range g.marbles {
			if !yield(e.id, client.Entity{Kind: e.kind, X: e.x, Y: e.y, Mass: e.mass}) {
				return
			}
		}
		for _, e := range g.food[:g.nfood] {
			if !yield(e.id, client.Entity{Kind: e.kind, X: e.x, Y: e.y, Mass: e.mass}) {
				return
			}
		}
	}
}
