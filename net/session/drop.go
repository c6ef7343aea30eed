package session

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/shatter/shatter/net/metrics"
)

// DropReason says why a client message was dropped without ending its
// session. Every drop is counted in the Drops metric, labelled by the
// reason's String, and logged at debug level (throttled); see recordDrop.
type DropReason uint8

// Drop reasons.
const (
	// DropArenaInboxFull: a spawn or input found the arena's inbox full
	// (the arena is overloaded).
	DropArenaInboxFull DropReason = iota
	// DropArenaStopped: a spawn or input was sent to an arena that has
	// stopped.
	DropArenaStopped
	// DropRateLimitedInput, DropRateLimitedPing and DropRateLimitedSpawn:
	// the message was over its rate limit.
	DropRateLimitedInput
	DropRateLimitedPing
	DropRateLimitedSpawn
	// DropWSPingQueueFull: a WebSocket ping control frame came while a
	// few pongs were still waiting for the writer; it gets no pong.
	DropWSPingQueueFull
	// DropRateLimitedWSPing: a WebSocket ping control frame was over its
	// rate limit (Config.WSPingsPerSec); it gets no pong.
	DropRateLimitedWSPing
	// DropRateLimitedWatch: a watch was over its rate limit
	// (Config.WatchesPerSec).
	DropRateLimitedWatch

	numDropReasons
)

// dropLabels are the metric label values, which dashboards depend on.
var dropLabels = [numDropReasons]string{
	DropArenaInboxFull:    "arena_inbox_full",
	DropArenaStopped:      "arena_stopped",
	DropRateLimitedInput:  "rate_limited_input",
	DropRateLimitedPing:   "rate_limited_ping",
	DropRateLimitedSpawn:  "rate_limited_spawn",
	DropWSPingQueueFull:   "ws_ping_queue_full",
	DropRateLimitedWSPing: "rate_limited_ws_ping",
	DropRateLimitedWatch:  "rate_limited_watch",
}

// String returns the reason's metric label, such as "arena_inbox_full".
func (r DropReason) String() string {
	if r < numDropReasons {
		return dropLabels[r]
	}
	return "DropReason(" + strconv.Itoa(int(r)) + ")"
}

// StartDropSeries creates the Drops series of every reason at zero, so
// that they are scraped before the first drop: a dashboard draws 0, and
// rate and increase count the first drop.
func StartDropSeries(m *metrics.Metrics) {
	for _, label := range dropLabels {
		m.Drops.WithLabelValues(label)
	}
}

// recordDrop counts and logs one dropped client message. It is the only
// place that does either, so every drop is accounted for the same way.
func (c *Conn) recordDrop(r DropReason) {
	c.env.Metrics.Drops.WithLabelValues(r.String()).Inc()
	if !c.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	if ok, unlogged := c.env.dropLog.allow(r, c.clock.Now()); ok {
		var id uint32
		if s := c.seat.Load(); s != nil {
			id = s.ID
		}
		c.log.Debug("message dropped", "reason", r.String(), "session", id, "unlogged_before", unlogged)
	}
}

// dropLogInterval is the least time between two log lines about drops of
// one reason, server-wide.
const dropLogInterval = time.Second

// dropLog throttles the log lines about drops: a flood of dropped
// messages, from one client or from many, logs at most one line per reason
// per dropLogInterval, which says how many drops of that reason went
// unlogged before it. The zero value is ready to use. Guarded by mu.
type dropLog struct {
	mu       sync.Mutex
	next     [numDropReasons]time.Time // when the next line may be logged
	unlogged [numDropReasons]int       // drops not logged since the last line
}

// allow reports whether a drop of reason r at now may be logged and, if
// so, how many drops of r went unlogged before it.
func (d *dropLog) allow(r DropReason, now time.Time) (ok bool, unlogged int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if now.Before(d.next[r]) {
		d.unlogged[r]++
		return false, 0
	}
	d.next[r] = now.Add(dropLogInterval)
	unlogged, d.unlogged[r] = d.unlogged[r], 0
	return true, unlogged
}
