package bot

import (
	"testing"
	"time"

	"github.com/shatter/shatter/net/client"
)

// pollModes runs test three times: with the player's client reading on
// its own goroutine (poll nil), and with a client.PollGroup of two loops,
// its clients' sockets in the runtime's poller and taken out of it
// (PollOptions.Detach); a group is closed after the test.
func pollModes(t *testing.T, test func(t *testing.T, poll *client.PollGroup)) {
	t.Helper()
	t.Run("goroutine", func(t *testing.T) { test(t, nil) })
	for _, detach := range []bool{false, true} {
		t.Run(map[bool]string{false: "poll", true: "poll-detached"}[detach], func(t *testing.T) {
			g, err := client.NewPollGroup(client.PollOptions{Loops: 2, IdleWait: 20 * time.Millisecond, Detach: detach})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { g.Close() })
			test(t, g)
		})
	}
}
