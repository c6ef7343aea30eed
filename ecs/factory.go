package ecs

import arche "github.com/mlange-42/arche/ecs"

// NewMarble creates a player (session != 0) or zombie (session == 0) at
// rest; a player's starts with its grace (Fresh). Must not be called while a query is open.
func (a *State) NewMarble(session uint32, name string, x, y, mass float64) arche.Entity {
	kind, ids := KindZombie, a.zombieIDs
	if session != 0 {
		kind, ids = KindPlayer, a.playerIDs
	}
	a.noteKind(kind)
	e := a.world.NewEntity(ids...)
	*a.bodies.Get(e) = Body{Kind: kind, ID: a.newID()}
	*a.pos.Get(e) = Position{X: x, Y: y}
	*a.masses.Get(e) = Mass{Value: mass}
	*a.steering.Get(e) = Steering{Angle: a.Rand.Angle()}
	*a.names.Get(e) = Name{Value: name}
	a.marbleNames.add(name)
	if session != 0 {
		*a.pilots.Get(e) = Pilot{Session: session}
		*a.fresh.Get(e) = Fresh{
			ShieldUntil: a.Tick + a.Config.SecondsToTicks(a.Config.SpawnShield),
			SpareUntil:  a.Tick + a.Config.SecondsToTicks(a.Config.ZombieSpare),
		}
	} else {
		*a.brains.Get(e) = Brain{Phase: uint32(a.Rand.Intn(a.Config.ZombieThinkTicks))}
	}
	a.MoverCount++
	return e
}

// NewFragment creates a fragment of the given mass. Must not be called while
// a query is open.
func (a *State) NewFragment(x, y, mass float64) arche.Entity {
	id := a.newID()
	a.noteKind(KindFragment)
	e := a.world.NewEntity(a.fragmentIDs...)
	*a.bodies.Get(e) = Body{Kind: KindFragment, ID: id}
	*a.pos.Get(e) = Position{X: x, Y: y}
	*a.masses.Get(e) = Mass{Value: mass}
	a.Fragments.Insert(e, x, y)
	a.staticChange(false, id, KindFragment, x, y, mass)
	return e
}

// NewObstacle creates a spike ball. Must not be called while a query is open.
func (a *State) NewObstacle(x, y float64) arche.Entity {
	id := a.newID()
	a.noteKind(KindObstacle)
	e := a.world.NewEntity(a.obstacleIDs...)
	*a.bodies.Get(e) = Body{Kind: KindObstacle, ID: id}
	*a.pos.Get(e) = Position{X: x, Y: y}
	a.Obstacles.Insert(e, x, y)
	a.staticChange(false, id, KindObstacle, x, y, 0)
	return e
}

// MoveObstacle relocates a spike ball. Must not be called while a query is
// open.
func (a *State) MoveObstacle(e arche.Entity, x, y float64) {
	body, pos := a.bodies.Get(e), a.pos.Get(e)
	a.Obstacles.Remove(e, pos.X, pos.Y)
	a.staticChange(true, body.ID, KindObstacle, pos.X, pos.Y, 0)
	pos.X, pos.Y = x, y
	a.Obstacles.Insert(e, x, y)
	a.staticChange(false, body.ID, KindObstacle, x, y, 0)
}

// TakeFragment takes a fragment out of the fragment index at once, so that
// nothing else finds it this tick, while its entity waits for Remove after
// the query that found it. Safe during a query.
func (a *State) TakeFragment(e arche.Entity, x, y float64) {
	if a.Fragments.Remove(e, x, y) {
		a.staticChange(true, a.bodies.Get(e).ID, KindFragment, x, y, a.masses.Get(e).Value)
	}
}

// Remove deletes an entity of any kind and takes it out of the indexes and
// counts. Movers are removed only where they sit at their indexed position
// (commands before movement, collisions after the rebuild), so the mover
// grid's entry is found and blanked. A session whose marble it was is left without one. Must not be
// called while a query is open.
func (a *State) Remove(e arche.Entity) {
	body, pos := a.bodies.Get(e), a.pos.Get(e)
	switch body.Kind {
	case KindFragment:
		a.TakeFragment(e, pos.X, pos.Y)
	case KindObstacle:
		a.Obstacles.Remove(e, pos.X, pos.Y)
		a.staticChange(true, body.ID, KindObstacle, pos.X, pos.Y, 0)
	case KindPlayer:
		if s := a.Session(a.pilots.Get(e).Session); s != nil && s.Marble == e {
			s.Marble = arche.Entity{}
		}
		a.Movers.Forget(e, pos.X, pos.Y)
		a.MoverCount--
		a.marbleNames.remove(a.names.Get(e).Value)
	case KindZombie:
		a.Movers.Forget(e, pos.X, pos.Y)
		a.MoverCount--
		a.marbleNames.remove(a.names.Get(e).Value)
	}
	a.world.RemoveEntity(e)
}
