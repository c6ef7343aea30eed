// Package metrics defines the server's Prometheus metrics in one place, so
// that every name, label and bucket is reviewed together and every
// collector is registered on the server's own registry (never the global
// one), which keeps servers in tests independent.
package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/shatter/shatter/net/fleet"
	"github.com/shatter/shatter/net/wire"
)

// Metrics are the server's collectors.
type Metrics struct {
	Registry *prometheus.Registry

	TickSeconds      *prometheus.HistogramVec // arena, system ("total" for the whole tick)
	ArenaPopulation  *prometheus.GaugeVec     // arena: players+zombies
	Sessions         prometheus.Gauge
	SessionsStarted  prometheus.Counter
	BytesOut         prometheus.Counter
	ArenaBytesOut    *prometheus.CounterVec // arena: BytesOut split by the arena of the session
	MessagesOut      *prometheus.CounterVec // type
	BytesIn          prometheus.Counter
	MessagesIn       *prometheus.CounterVec // type
	SnapshotsSkipped prometheus.Counter
	Closes           *prometheus.CounterVec // reason
	Errors           *prometheus.CounterVec // code
	Drops            *prometheus.CounterVec // reason: messages dropped without closing
	Panics           *prometheus.CounterVec // where: panics recovered (an arena's, a session's, the lobby's goroutines and timers)
	ReplayFailures   *prometheus.CounterVec // reason: replay logs that stopped or never started

	// The fleet directory, as this node sees it.
	FleetHeartbeatSeconds prometheus.Histogram   // one heartbeat's round trip
	FleetErrors           *prometheus.CounterVec // op: directory calls that failed
	FleetSeats            *prometheus.CounterVec // event: reserved (for others), used, refused, expired
	FleetMoves            *prometheus.CounterVec // why: players sent to another node
	FleetNodes            prometheus.Gauge       // live nodes in the directory
	FleetPlayers          prometheus.Gauge       // players connected across the live nodes
	FleetCapacity         prometheus.Gauge       // seats across the live nodes

	// NodeInfo names this node (node, url); see SetNode.
	NodeInfo *prometheus.GaugeVec
}

// New creates the collectors on a fresh registry, with the Go runtime and
// process collectors beside them.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		TickSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "shatter_tick_seconds", Help: "Duration of arena ticks and of each system within them.",
			Buckets: []float64{25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3},
		}, []string{"arena", "system"}),
		ArenaPopulation: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "shatter_arena_marbles", Help: "Players and zombies in each arena.",
		}, []string{"arena"}),
		Sessions:        prometheus.NewGauge(prometheus.GaugeOpts{Name: "shatter_sessions", Help: "Open WebSocket sessions."}),
		SessionsStarted: prometheus.NewCounter(prometheus.CounterOpts{Name: "shatter_sessions_started_total", Help: "WebSocket sessions accepted."}),
		BytesOut:        prometheus.NewCounter(prometheus.CounterOpts{Name: "shatter_bytes_out_total", Help: "Message payload bytes sent to clients."}),
		ArenaBytesOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shatter_arena_bytes_out_total", Help: "Message payload bytes sent to the seated sessions of each arena.",
		}, []string{"arena"}),
		MessagesOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shatter_messages_out_total", Help: "Messages sent to clients, by type.",
		}, []string{"type"}),
		BytesIn: prometheus.NewCounter(prometheus.CounterOpts{Name: "shatter_bytes_in_total", Help: "Message payload bytes received from clients."}),
		MessagesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shatter_messages_in_total", Help: "Messages received from clients, by type.",
		}, []string{"type"}),
		SnapshotsSkipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shatter_snapshots_skipped_total", Help: "Ticks a session skipped because its client read too slowly for every snapshot.",
		}),
		Closes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shatter_session_closes_total", Help: "Sessions ended, by reason.",
		}, []string{"reason"}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shatter_errors_sent_total", Help: "Error messages sent to clients, by code.",
		}, []string{"code"}),
		Drops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shatter_messages_dropped_total", Help: "Client messages dropped without closing the session, by reason.",
		}, []string{"reason"}),
		Panics: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shatter_panics_total", Help: "Panics recovered without ending the process, by where: arena (the arena stopped, its sessions were closed with 1011), session (that session alone was closed with 1011), session_end, or one of the lobby's goroutines and timers.",
		}, []string{"where"}),
		ReplayFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shatter_replay_failures_total", Help: "Arenas that play without a replay log, by reason: create (the file could not be made), queue_full (the disk fell behind the tick), write_error.",
		}, []string{"reason"}),
		FleetHeartbeatSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "shatter_fleet_heartbeat_seconds", Help: "Round trip of this node's heartbeats to the fleet directory.",
			Buckets: []float64{100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3},
		}),
		FleetErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shatter_fleet_errors_total", Help: "Fleet directory calls that failed (Redis unreachable, frozen or timing out), by operation.",
		}, []string{"op"}),
		FleetSeats: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shatter_fleet_seats_total", Help: "Seats this node reserved on other nodes (reserved), used when players arrived here (used), refused as bad (refused), or reserved here and never claimed (expired).",
		}, []string{"event"}),
		FleetMoves: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shatter_fleet_moves_total", Help: "Players this node sent to another node, by why (full, resume, drain).",
		}, []string{"why"}),
		FleetNodes: prometheus.NewGauge(prometheus.GaugeOpts{Name: "shatter_fleet_nodes", Help: "Live nodes in the fleet directory, this one included."}),
		FleetPlayers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "shatter_fleet_players", Help: "Players connected across the fleet's live nodes (the sum of their leases' online counts, the board's online), as this node last read the directory.",
		}),
		FleetCapacity: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "shatter_fleet_capacity", Help: "Seats across the fleet's live nodes (each node's max arenas times max players), as this node last read the directory.",
		}),
		NodeInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "shatter_node_info", Help: "Always 1, labelled with this node's fleet id and public URL: join on instance to name nodes in dashboards.",
		}, []string{"node", "url"}),
	}
	reg.MustRegister(m.TickSeconds, m.ArenaPopulation, m.Sessions, m.SessionsStarted, m.BytesOut, m.ArenaBytesOut, m.MessagesOut,
		m.BytesIn, m.MessagesIn, m.SnapshotsSkipped, m.Closes, m.Errors, m.Drops, m.Panics, m.ReplayFailures,
		m.FleetHeartbeatSeconds, m.FleetErrors, m.FleetSeats, m.FleetMoves, m.FleetNodes, m.FleetPlayers,
		m.FleetCapacity, m.NodeInfo,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(cpuModeCollectors()...)
	m.startAtZero()
	return m
}

// startAtZero creates, at zero, the series of the label values that are a
// closed set known here, so that they are scraped before their first
// event: a dashboard draws 0 instead of no data, and rate and increase
// count the first event (a series that appears at 1 hides it).
func (m *Metrics) startAtZero() {
	for _, code := range wire.ErrorCodes() {
		m.Errors.WithLabelValues(string(code))
	}
	for _, why := range []string{fleet.WhyFull, fleet.WhyResume, fleet.WhyDrain} {
		m.FleetMoves.WithLabelValues(why)
	}
	for _, event := range []string{"reserved", "used", "refused", "expired"} {
		m.FleetSeats.WithLabelValues(event)
	}
	for _, reason := range []string{"create", "queue_full", "write_error"} {
		m.ReplayFailures.WithLabelValues(reason)
	}
	// The two places whose panics end players' play; the lobby's
	// goroutines and timers appear with their first.
	for _, where := range []string{"arena", "session"} {
		m.Panics.WithLabelValues(where)
	}
}

// SetNode names this node in NodeInfo: its fleet id and public URL.
func (m *Metrics) SetNode(id, url string) {
	m.NodeInfo.Reset()
	m.NodeInfo.WithLabelValues(id, url).Set(1)
}

// TickObserver returns an allocation-free observer of an arena's ticks:
// the label lookups are done once here, not on every tick.
func (m *Metrics) TickObserver(arena int, systems []string) func(total float64, perSystem []float64, marbles int) {
	id := strconv.Itoa(arena)
	totalObs := m.TickSeconds.WithLabelValues(id, "total")
	sysObs := make([]prometheus.Observer, len(systems))
	for i, name := range systems {
		sysObs[i] = m.TickSeconds.WithLabelValues(id, name)
	}
	pop := m.ArenaPopulation.WithLabelValues(id)
	return func(total float64, perSystem []float64, marbles int) {
		totalObs.Observe(total)
		for i, s := range perSystem {
			sysObs[i].Observe(s)
		}
		pop.Set(float64(marbles))
	}
}

// ForgetArena deletes every series labelled with a stopped arena, so that
// a long-lived server that starts and stops arenas does not keep their
// series (and scrape them) for ever. Call it once the arena's Run has
// returned: an observer of TickObserver must not be used after it.
func (m *Metrics) ForgetArena(arena int) {
	id := prometheus.Labels{"arena": strconv.Itoa(arena)}
	m.TickSeconds.DeletePartialMatch(id)
	m.ArenaPopulation.DeletePartialMatch(id)
	m.ArenaBytesOut.DeletePartialMatch(id)
}
