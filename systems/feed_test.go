package systems_test

import (
	"testing"

	"github.com/shatter/shatter/ecs"
)

// TestSpikeHitRecorded checks that a spike-ball hit is recorded for the
// kill feed and the marble's flags: who, by name, and the mass it lost.
func TestSpikeHitRecorded(t *testing.T) {
	f := newCollision(t, nil)
	f.a.NewObstacle(1000, 1000)
	m := f.player(1, "Opal", 1050, 1000, 200)
	f.step()
	want := ecs.SpikeHit{ID: f.body.Get(m).ID, Name: "Opal", Loss: f.a.Config.ObstacleLoss * 200}
	if got := f.a.SpikeHits; len(got) != 1 || got[0] != want {
		t.Fatalf("SpikeHits = %+v, want [%+v]", got, want)
	}
}

// TestInputMarksSteered checks that a marble counts as steered (its
// heading shows on the wire) from its session's first applied input on,
// and not before.
func TestInputMarksSteered(t *testing.T) {
	f := newInput(t, nil)
	f.send(join(1, "a"), spawn(1))
	f.step()
	e := f.a.Session(1).Marble
	if f.steer.Get(e).Steered {
		t.Fatal("a new marble is steered before any input")
	}
	f.send(input(1, 1, 1, false))
	f.step()
	if !f.steer.Get(e).Steered {
		t.Error("the marble is not steered after an input")
	}
}
