package bot_test

import (
	"fmt"
	"maps"

	"github.com/shatter/shatter/net/bot"
	"github.com/shatter/shatter/net/client"
	"github.com/shatter/shatter/net/wire"
)

// A marble of mass 50 with a zombie of mass 80 a hundred units to its east
// runs west, boosting: the zombie could bust it and is within boost range.
func ExampleBrain_Decide() {
	brain := bot.NewBrain(1, bot.DefaultRules()) // a 3000 x 3000 arena
	q := func(units float64) uint16 { return uint16(units / 3000 * 65535) }
	you := wire.UpdEntity{ID: 1, X: q(1500), Y: q(1500), Mass: 50}
	view := map[uint32]client.Entity{
		1: {Kind: wire.KindPlayer, X: q(1500), Y: q(1500), Mass: 50},
		7: {Kind: wire.KindZombie, X: q(1600), Y: q(1500), Mass: 80, Name: "Flint"},
	}
	a := brain.Decide(0, true, you, maps.All(view))
	fmt.Printf("%s %d: heading %.2f rad, boost %v\n", a.Goal, a.Target, a.Angle, a.Boost)
	// Output: flee 7: heading 3.14 rad, boost true
}
