package bot

import (
	"testing"
	"time"

	"github.com/shatter/shatter/net/client"
)

// pollModes runs test twice: with the player's client reading on its own
// goroutine (poll nil), and with a client.PollGroup of two loops, closed
// after the test.
func pollModes(t *testing.T, test func(t *testing.T, poll *client.PollGroup)) {
	t.Helper()
	t.Run("goroutine", func(t *testing.T) { test(t, nil) })
	t.Run("poll", func(t *testing.T) {
		g, err := client.NewPollGroup(client.PollOptions{Loops: 2, IdleWait: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { g.Close() })
		test(t, g)
	})
}
