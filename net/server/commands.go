package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/shatter/shatter/net/fleet"
	"github.com/shatter/shatter/net/lobby"
)

// Admin actions another node asks for travel through the fleet directory
// as fleet.Commands: the asking node queues one, the addressed node takes
// it at its next poll (every commandPoll), does it as its own admin API
// would and stores the answer, which the asking node waits for.
const (
	commandTTL = 10 * time.Second // how long a command waits for its node
	answerTTL  = time.Minute      // how long its answer waits to be read
	ackTimeout = 5 * time.Second  // how long an asking node waits for the answer
	// clipAckTimeout is ackTimeout for a clip, which its node cuts from
	// disk and sends through the directory: megabytes.
	clipAckTimeout = 20 * time.Second
	answerPoll     = 50 * time.Millisecond
	commandPoll    = 250 * time.Millisecond // at most; a shorter heartbeat polls faster
)

// Command kinds.
const (
	cmdKick  = "kick"
	cmdDrain = "drain"
	cmdStop  = "stop"
	cmdClip  = "clip"
)

// actionResult is an admin action's answer: its status and JSON body,
// and for a clip the file (the body names it).
type actionResult struct {
	status int
	body   map[string]any
	data   []byte
}

func succeeded(body map[string]any) actionResult {
	body["ok"] = true
	return actionResult{status: http.StatusOK, body: body}
}

func failed(status int, msg string) actionResult {
	return actionResult{status: status, body: map[string]any{"error": msg}}
}

func (a actionResult) write(w http.ResponseWriter) { writeJSON(w, a.status, a.body) }

// act does cmd: here if it names this node (or none), else through the
// directory on the node it names, waiting for that node's answer.
func (s *Server) act(ctx context.Context, cmd fleet.Command) actionResult {
	self, _ := s.lobby.Node()
	if cmd.Node == "" || cmd.Node == self {
		return s.do(cmd)
	}
	cmd.ID = fleet.NewSeatID()
	cctx, cancel := context.WithTimeout(ctx, s.callTimeout)
	err := s.dir.SendCommand(cctx, cmd, commandTTL)
	cancel()
	switch {
	case errors.Is(err, fleet.ErrNodeGone):
		return failed(http.StatusNotFound, "no live node "+cmd.Node+" in the fleet")
	case err != nil:
		return failed(http.StatusServiceUnavailable, "fleet directory: "+err.Error())
	}
	wait := ackTimeout
	if cmd.Kind == cmdClip {
		wait = clipAckTimeout
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	tick := time.NewTicker(answerPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return failed(http.StatusServiceUnavailable, "the request ended before node "+cmd.Node+" answered")
		case <-deadline.C:
			return failed(http.StatusGatewayTimeout, "node "+cmd.Node+" did not acknowledge within "+wait.String())
		case <-tick.C:
		}
		cctx, cancel := context.WithTimeout(ctx, max(s.callTimeout, wait))
		a, err := s.dir.TakeAnswer(cctx, cmd.ID)
		cancel()
		if err != nil {
			continue // not yet, or the directory hiccuped: ask again
		}
		body := map[string]any{}
		if json.Unmarshal([]byte(a.Body), &body) != nil {
			body = map[string]any{"error": "node " + a.Node + " answered: " + a.Body}
		}
		body["node"], body["acknowledged"] = a.Node, true
		return actionResult{status: a.Status, body: body, data: a.Data}
	}
}

// do does cmd on this node.
func (s *Server) do(cmd fleet.Command) actionResult {
	switch cmd.Kind {
	case cmdKick:
		id, err := strconv.ParseUint(cmd.Target, 10, 32)
		if err != nil {
			return failed(http.StatusBadRequest, "session id: not a number")
		}
		return s.kick(uint32(id), cmd.Reason, cmd.By)
	case cmdDrain:
		return s.adminDrain(cmd.By)
	case cmdStop:
		id, err := strconv.Atoi(cmd.Target)
		if err != nil {
			return failed(http.StatusBadRequest, "arena id: not a number")
		}
		return s.stopArena(id, cmd.By)
	case cmdClip:
		id, err := strconv.Atoi(cmd.Target)
		if err != nil {
			return failed(http.StatusBadRequest, "arena id: not a number")
		}
		return s.cutClip(id, cmd.Minutes, cmd.By)
	}
	return failed(http.StatusBadRequest, "unknown command "+cmd.Kind)
}

// runCommands takes this node's commands from the directory and does
// them, until ctx is done.
func (s *Server) runCommands(ctx context.Context) {
	t := time.NewTicker(min(commandPoll, s.refresh))
	defer t.Stop()
	self, _ := s.lobby.Node()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, s.callTimeout)
		cmds, err := s.dir.TakeCommands(cctx, self)
		cancel()
		if err != nil {
			continue // the directory's outage is logged by the fleet round
		}
		for _, cmd := range cmds {
			res := s.do(cmd)
			js, _ := json.Marshal(res.body)
			ans := fleet.Answer{Status: res.status, Body: string(js), Node: self, Data: res.data}
			cctx, cancel := context.WithTimeout(ctx, max(s.callTimeout, clipAckTimeout))
			err := s.dir.Answer(cctx, cmd.ID, ans, answerTTL)
			if err != nil && ans.Data != nil {
				// The file could not go: say so, in a small answer,
				// instead of leaving the asking node to time out.
				fail := failed(http.StatusBadGateway, "cannot send the clip through the directory: "+err.Error())
				if errors.Is(err, fleet.ErrTooBig) {
					fail = failed(http.StatusRequestEntityTooLarge, "the clip is too big to send through the directory: "+err.Error()+"; cut it on node "+self)
				}
				js, _ = json.Marshal(fail.body)
				err = s.dir.Answer(cctx, cmd.ID, fleet.Answer{Status: fail.status, Body: string(js), Node: self}, answerTTL)
			}
			if err != nil {
				s.log.Warn("cannot answer a command from another node", "kind", cmd.Kind, "by", cmd.By, "err", err)
			}
			cancel()
		}
	}
}

// adminDrain drains this node on an operator's word, as SIGTERM's drain
// does, but the process stays up, draining (new players are sent
// elsewhere) and then empty, until it is stopped. The drain runs in the
// background, for the server's drain timeout at most; the answer comes
// once it has started (409 when no other node is ready to take the
// players).
func (s *Server) adminDrain(who string) actionResult {
	self, _ := s.lobby.Node()
	s.mu.Lock()
	switch {
	case s.closing:
		s.mu.Unlock()
		return failed(http.StatusServiceUnavailable, "this node is shutting down")
	case s.adminDraining:
		s.mu.Unlock()
		return succeeded(map[string]any{"node": self, "draining": true, "already": true})
	}
	s.adminDraining = true
	s.serving.Add(1)
	s.mu.Unlock()
	started := make(chan error, 1)
	go func() { // ends with the drain, within drainTimeout, or at Shutdown
		defer s.serving.Done()
		ctx, cancel := context.WithTimeout(s.lobbyCtx, s.drainTimeout)
		defer cancel()
		err := s.Drain(ctx)
		started <- err
		switch {
		case errors.Is(err, lobby.ErrAlone):
			s.mu.Lock()
			s.adminDraining = false
			s.mu.Unlock()
		case err != nil:
			s.log.Warn("admin: drain ended early", "err", err)
		default:
			s.log.Info("admin: drained: every player moved; the node stays up, out of routing")
		}
	}()
	// lobby.Drain answers ErrAlone at once (one directory call): wait
	// that long for it, not for the whole drain.
	select {
	case err := <-started:
		if errors.Is(err, lobby.ErrAlone) {
			return failed(http.StatusConflict, "no other node is ready to take this node's players")
		}
		s.logAction(who, "node drain", "node", self)
		return succeeded(map[string]any{"node": self, "draining": true, "done": err == nil})
	case <-time.After(2 * s.callTimeout):
		s.logAction(who, "node drain", "node", self)
		return succeeded(map[string]any{"node": self, "draining": true, "done": false})
	}
}

// handleDrain is POST /nodes/{id}/drain.
func (s *Server) handleDrain(w http.ResponseWriter, r *http.Request) {
	s.act(r.Context(), fleet.Command{Node: r.PathValue("id"), Kind: cmdDrain, By: adminWho(r)}).write(w)
}

// stopArena stops an arena of this node on an operator's word, its
// players moved as in a drain (lobby.StopArena), and answers once it has
// stopped (within the server's drain timeout).
func (s *Server) stopArena(id int, who string) actionResult {
	self, _ := s.lobby.Node()
	s.logAction(who, "arena stop", "node", self, "arena", id)
	ctx, cancel := context.WithTimeout(s.lobbyCtx, s.drainTimeout)
	defer cancel()
	moved, err := s.lobby.StopArena(ctx, id)
	switch {
	case errors.Is(err, lobby.ErrNoArena):
		return failed(http.StatusNotFound, "no arena "+strconv.Itoa(id)+" on this node")
	case errors.Is(err, lobby.ErrBusy):
		return failed(http.StatusConflict, lobby.ErrBusy.Error())
	case err != nil:
		s.log.Warn("admin: arena stop ended early", "arena", id, "moved", moved, "err", err)
		return failed(http.StatusInternalServerError, "the arena stopped before all its players were moved: "+err.Error())
	}
	s.logAction(who, "arena stopped", "node", self, "arena", id, "moved", moved)
	return succeeded(map[string]any{"node": self, "arena": id, "moved": moved})
}

// handleStop is POST /arenas/{id}/stop?node=.
func (s *Server) handleStop(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := strconv.Atoi(id); err != nil {
		adminError(w, http.StatusBadRequest, "arena id: not a number")
		return
	}
	s.act(r.Context(), fleet.Command{Node: r.URL.Query().Get("node"), Kind: cmdStop, Target: id, By: adminWho(r)}).write(w)
}
