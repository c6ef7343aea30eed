package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/shatter/shatter/sim"
)

// The operator's console: the page the admin listener serves at "/" (the
// bundle web/build.mjs puts in WebDir/console) and its live stream, GET
// /events. One goroutine, the console watcher, reads the fleet once a
// second into a frame every stream shares, and notes what changed in the
// event log; each stream sends the latest frame with the events it has
// not sent yet.

const (
	// maxEventStreams bounds the open /events streams; more get 503.
	maxEventStreams = 32
	// eventLogSize is how many recent events the log keeps (and a new
	// stream gets first).
	eventLogSize = 200
	// consolePeriod is how often the watcher reads the fleet and the
	// streams send a message.
	consolePeriod = time.Second
	// streamWriteTimeout bounds writing one message to a stream: a
	// client that stops reading loses its stream, not a goroutine.
	streamWriteTimeout = 10 * time.Second
)

// ConsoleEvent is one entry of the console's event log: something that
// happened in the fleet or on this node.
type ConsoleEvent struct {
	seq  uint64
	At   string `json:"at"`   // RFC 3339, milliseconds, UTC
	Kind string `json:"kind"` // node_joined, node_left, node_draining, node_dead, arena_started, arena_stopped, arena_failed, directory, or an action's name
	Text string `json:"text"`
}

// eventLog is a bounded ring of the latest events, numbered in order so
// that each stream knows which it has sent. Safe for concurrent use.
type eventLog struct {
	mu   sync.Mutex
	ring []ConsoleEvent // the latest len(ring) events, oldest first once full
	next uint64         // the number the next event gets
}

func newEventLog(size int) *eventLog { return &eventLog{ring: make([]ConsoleEvent, 0, size)} }

// add notes an event that happens now.
func (l *eventLog) add(kind, text string) {
	ev := ConsoleEvent{At: time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00"), Kind: kind, Text: text}
	l.mu.Lock()
	defer l.mu.Unlock()
	ev.seq = l.next
	l.next++
	if len(l.ring) < cap(l.ring) {
		l.ring = append(l.ring, ev)
		return
	}
	copy(l.ring, l.ring[1:])
	l.ring[len(l.ring)-1] = ev
}

// since returns the events numbered from seq on that the ring still
// holds, oldest first, and the number to ask for next time.
func (l *eventLog) since(seq uint64) ([]ConsoleEvent, uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := []ConsoleEvent{}
	for _, ev := range l.ring {
		if ev.seq >= seq {
			out = append(out, ev)
		}
	}
	return out, l.next
}

// NoteEvent adds an event to the console's log (actions taken by an
// operator, for instance); every open stream sends it within a second.
func (s *Server) NoteEvent(kind, text string) { s.events.add(kind, text) }

// consoleFrame is what the watcher read in one round: the body of a
// stream's message but for its events.
type consoleFrame struct {
	Self       string         `json:"self"`
	At         string         `json:"at"`
	Nodes      []NodeStatus   `json:"nodes"`
	FleetError string         `json:"fleet_error,omitempty"` // why Nodes is empty: the directory could not be read
	Arenas     []ArenaStatus  `json:"arenas"`
	BytesOut   float64        `json:"bytes_out"` // this node's message bytes sent since it started (rates are the page's)
	Board      []consoleBoard `json:"board"`
}

type consoleBoard struct {
	Name string  `json:"name"`
	Mass float64 `json:"mass"`
}

// consoleState is the latest frame and how streams wait for the next.
type consoleState struct {
	mu      sync.Mutex
	frame   *consoleFrame
	updated chan struct{} // closed and replaced when frame changes
	streams chan struct{} // one slot per open stream, maxEventStreams deep
}

func newConsoleState() *consoleState {
	return &consoleState{updated: make(chan struct{}), streams: make(chan struct{}, maxEventStreams)}
}

// latest returns the current frame (nil before the first) and a channel
// closed when there is a newer one.
func (c *consoleState) latest() (*consoleFrame, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.frame, c.updated
}

func (c *consoleState) publish(f *consoleFrame) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.frame = f
	close(c.updated)
	c.updated = make(chan struct{})
}

// watchConsole is the console watcher: once a second it reads the fleet
// into a new frame and notes nodes joining, draining, leaving and dying.
// Owned by the server (Serve); exits when ctx ends (Shutdown).
func (s *Server) watchConsole(ctx context.Context) {
	t := time.NewTicker(consolePeriod)
	defer t.Stop()
	var known map[string]NodeStatus // nil until the directory was read once
	fleetDown := false
	for {
		f := s.consoleRound(ctx)
		if f.FleetError == "" {
			known = s.noteNodeChanges(known, f.Nodes)
			if fleetDown {
				s.events.add("directory", "fleet directory reachable again")
			}
		} else if !fleetDown {
			s.events.add("directory", "fleet directory unreachable: "+f.FleetError)
		}
		fleetDown = f.FleetError != ""
		s.console.publish(f)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// consoleRound reads one frame.
func (s *Server) consoleRound(ctx context.Context) *consoleFrame {
	self, _ := s.lobby.Node()
	f := &consoleFrame{Self: self, At: time.Now().UTC().Format(time.RFC3339Nano), Nodes: []NodeStatus{}, Arenas: s.arenaStatuses(), Board: s.consoleBoard()}
	if f.Arenas == nil {
		f.Arenas = []ArenaStatus{}
	}
	nodes, err := s.lobby.Nodes(ctx)
	if err != nil {
		f.FleetError = err.Error()
	}
	for _, n := range nodes {
		f.Nodes = append(f.Nodes, nodeStatus(n))
	}
	var m dto.Metric
	if s.metrics.BytesOut.Write(&m) == nil && m.Counter != nil {
		f.BytesOut = m.Counter.GetValue()
	}
	return f
}

// leaseLapsedAge: a node last seen with a heartbeat older than this when
// it left the directory is taken as dead (its lease lapsed), a fresher
// one as having left (it removed its lease on the way out).
const leaseLapsedAge = 2 * time.Second

// noteNodeChanges compares the nodes now listed with those known from the
// last round, notes what changed, and returns them as the new known set.
// The first round (known nil) notes nothing: those nodes were there
// before the console watched.
func (s *Server) noteNodeChanges(known map[string]NodeStatus, nodes []NodeStatus) map[string]NodeStatus {
	now := make(map[string]NodeStatus, len(nodes))
	for _, n := range nodes {
		now[n.ID] = n
		if known == nil {
			continue
		}
		old, ok := known[n.ID]
		switch {
		case !ok:
			s.events.add("node_joined", fmt.Sprintf("node %s joined (%s, %s)", n.ID, n.URL, n.State))
		case old.State != n.State && n.State == "draining":
			s.events.add("node_draining", fmt.Sprintf("node %s is draining (%d players)", n.ID, n.Players))
		case old.State != n.State:
			s.events.add("node_"+n.State, fmt.Sprintf("node %s is %s", n.ID, n.State))
		}
	}
	gone := []string{}
	for id := range known {
		if _, ok := now[id]; !ok {
			gone = append(gone, id)
		}
	}
	sort.Strings(gone)
	for _, id := range gone {
		if age := known[id].HeartbeatAgeMs; age > float64(leaseLapsedAge.Milliseconds()) {
			s.events.add("node_dead", fmt.Sprintf("node %s is dead: its lease lapsed (last heartbeat %.1f s before)", id, age/1000))
		} else {
			s.events.add("node_left", fmt.Sprintf("node %s left the fleet", id))
		}
	}
	return now
}

// consoleBoard is the fleet's leaderboard, or this node's arenas' boards
// merged when it is a fleet of one.
func (s *Server) consoleBoard() []consoleBoard {
	out := []consoleBoard{}
	if b := s.lobby.FleetBoard(); b != nil {
		for _, r := range b.Top {
			out = append(out, consoleBoard{Name: r.Name, Mass: r.Mass})
		}
		return out
	}
	for _, a := range s.lobby.Arenas() {
		if b := a.Board(); b != nil {
			for _, r := range b.Top {
				out = append(out, consoleBoard{Name: r.Name, Mass: float64(r.Mass)})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Mass > out[j].Mass })
	if len(out) > 10 {
		out = out[:10]
	}
	return out
}

// arenaStarted and arenaStopped are the lobby's arena hooks (newArena,
// Config.ArenaStopped): they note the event for the console.
func (s *Server) arenaStarted(id int) {
	s.events.add("arena_started", fmt.Sprintf("arena %d started", id))
}

func (s *Server) arenaStopped(id int, err error) {
	s.metrics.ForgetArena(id)
	var fault *sim.Fault
	switch {
	case errors.As(err, &fault):
		s.events.add("arena_failed", fmt.Sprintf("arena %d stopped by a fault: %v", id, err))
	case err != nil && !errors.Is(err, context.Canceled):
		s.events.add("arena_failed", fmt.Sprintf("arena %d stopped: %v", id, err))
	default:
		s.events.add("arena_stopped", fmt.Sprintf("arena %d stopped", id))
	}
}

// eventMessage is one message of /events.
type eventMessage struct {
	*consoleFrame
	Events []ConsoleEvent `json:"events"`
}

// handleEvents streams the console's frames (text/event-stream), one a
// second, each with the events since the last; the first carries the
// whole event log. The handler's goroutine is the stream's: it returns
// when the client goes (the request's context), when a write fails or
// stalls, or when the server stops (lobbyCtx, ended in Shutdown before
// the admin listener's: http.Server.Shutdown would wait for a stream).
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	select {
	case s.console.streams <- struct{}{}:
		defer func() { <-s.console.streams }()
	default:
		http.Error(w, fmt.Sprintf("too many console streams (%d)", maxEventStreams), http.StatusServiceUnavailable)
		return
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no") // a proxy in front must not hold messages back
	w.WriteHeader(http.StatusOK)
	var seq uint64
	for {
		frame, updated := s.console.latest()
		if frame != nil {
			var msg eventMessage
			msg.consoleFrame = frame
			msg.Events, seq = s.events.since(seq)
			body, err := json.Marshal(msg)
			if err != nil {
				s.log.Error("console frame", "err", err)
				return
			}
			_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
			if _, err := fmt.Fprintf(w, "data: %s\n\n", body); err != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
		}
		select {
		case <-updated:
		case <-r.Context().Done():
			return
		case <-s.lobbyCtx.Done():
			return
		}
	}
}

// withConsole serves the console page (WebDir/console/index.html) at
// "/" and its script and style under /console/, and passes every other
// request to next, the admin API. The page's files carry no data and a
// browser cannot send a header when it opens a page, so they are served
// without the admin token: wrap only next with the token check. Every
// other path keeps next's own 404 and 405 answers, which the page reads
// as "not available on this server".
func (s *Server) withConsole(next http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.handleConsolePage)
	mux.Handle("GET /console/", http.StripPrefix("/console/", http.FileServer(http.Dir(filepath.Join(s.cfg.WebDir, "console")))))
	mux.Handle("/", next)
	return mux
}

// handleConsolePage serves the console page, or a page saying how to
// build it.
func (s *Server) handleConsolePage(w http.ResponseWriter, r *http.Request) {
	dir := filepath.Join(s.cfg.WebDir, "console")
	index := filepath.Join(dir, "index.html")
	if st, err := os.Stat(index); err == nil && !st.IsDir() {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFile(w, r, index)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "Shatter admin listener. The console page is not built (%s is missing): run `make web`.\n"+
		"Endpoints: /events (live stream), /fleet, /arenas, /metrics, /debug/pprof/.\n", index)
}
