package fleet_test

import (
	"testing"
	"time"

	"github.com/shatter/shatter/net/fleet"
	"github.com/shatter/shatter/net/fleet/fleettest"
)

// TestMemory runs the conformance suite on the memory directory in
// testing/synctest bubbles, with the TTLs of production (a 3 s lease): the
// bubble's clock makes every wait instant.
func TestMemory(t *testing.T) {
	fleettest.Run(t, func(t *testing.T) fleet.Directory { return fleet.NewMemory() }, fleettest.Config{
		TTL:      3 * time.Second,
		Synctest: true,
		Restart:  func(t *testing.T, d fleet.Directory) { fleet.FlushMemory(d) },
	})
}
