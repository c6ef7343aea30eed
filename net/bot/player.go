package bot

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/shatter/shatter/net/client"
	"github.com/shatter/shatter/net/wire"
)

// Options configure Dial.
type Options struct {
	// Name is the player name sent in the hello.
	Name string
	// Seed fixes the brain's random choices.
	Seed uint64
	// Client holds the connection's other options: timeouts, OnAck, and an
	// OnMessage that is called after the player has applied the message to
	// its table. Its Name is replaced by Name. With Client.SkimSnaps set,
	// the player keeps a Glimpse of its view instead of a Table: the cheap
	// player a load generator runs most of its bots as.
	Client client.Options
}

// ErrDisconnected is returned by Step once the player's connection has
// ended; Client().Err() tells why.
var ErrDisconnected = errors.New("bot: disconnected")

// Player is one bot playing one session: a client connection, the compact
// view table its snaps build (or, skimming, a Glimpse), and a brain that
// steers by it. The client's read loop applies snaps to the view; whoever
// paces the player (a Pacer, usually) calls Step to decide and send. Both
// lock mu, so they may run on different goroutines.
type Player struct {
	client *client.Client // static after Dial
	skim   bool           // static: the client skims snaps, and glimpse is the view

	mu      sync.Mutex // guards table, glimpse and brain
	table   Table
	glimpse Glimpse
	brain   *Brain
}

// Dial connects a player to url (see ServerURL), says hello and waits for
// the welcome, as client.Dial does; ctx bounds the player's whole life.
// The player does not spawn until its first Step. Like its client, it
// follows moves to other nodes, and plays on there; with
// opts.Client.Reconnect set, it also resumes its session with its token at
// another node when its connection drops (a crashed node), and plays on
// there with the marble that node gives back.
func Dial(ctx context.Context, url string, opts Options) (*Player, error) {
	p := &Player{skim: opts.Client.SkimSnaps}
	co := opts.Client
	co.Name = opts.Name
	next := co.OnMessage
	co.OnMessage = func(c *client.Client, m *wire.ServerMessage) {
		p.observe(m)
		if next != nil {
			next(c, m)
		}
	}
	c, err := client.Dial(ctx, url, co)
	if err != nil {
		return nil, err
	}
	w := c.Welcome()
	p.client = c
	p.mu.Lock()
	p.brain = NewBrain(opts.Seed, RulesFromWelcome(&w))
	p.mu.Unlock()
	return p, nil
}

// observe applies a server message to the table. It runs on the client's
// read loop. A welcome after the first one comes with a move to another
// node: the table starts afresh and the brain takes the new arena's rules.
func (p *Player) observe(m *wire.ServerMessage) {
	switch m.Type {
	case wire.TypeWelcome:
		p.mu.Lock()
		p.table.Reset(m.Welcome.Tick)
		p.glimpse.Reset(m.Welcome.Tick)
		if p.brain != nil { // nil during Dial: Dial makes the brain.
			p.brain.Reset(RulesFromWelcome(&m.Welcome))
		}
		p.mu.Unlock()
		// The client keeps its own copy of the terrain (Client.Welcome);
		// the message's is the decoder's buffer, kept for a second welcome
		// that never comes. Letting it go saves each bot the terrain's
		// size (16 KiB at 129 samples a side), which counts when one load
		// generator runs thousands.
		m.Welcome.Terrain = nil
	case wire.TypeSnap:
		p.mu.Lock()
		if p.skim {
			p.glimpse.Apply(&m.Snap)
		} else {
			p.table.Apply(&m.Snap)
		}
		p.mu.Unlock()
	}
}

// Client returns the player's connection.
func (p *Player) Client() *client.Client { return p.client }

// Step decides on the latest view and sends the decision: a spawn, an
// input, or nothing while a spawn is pending. During a move to another
// node it returns client.ErrMoving, having sent nothing; after the
// connection has ended, ErrDisconnected.
func (p *Player) Step() (Action, error) {
	if p.client.Ended() {
		return Action{}, ErrDisconnected
	}
	p.mu.Lock()
	var a Action
	if p.skim {
		a = p.brain.Decide(p.glimpse.Tick, p.glimpse.Alive, p.glimpse.You, p.glimpse.All())
	} else {
		a = p.brain.Decide(p.table.Tick, p.table.Alive, p.table.You, p.table.All())
	}
	p.mu.Unlock()
	var err error
	switch a.Goal {
	case GoalSpawn:
		err = p.client.SendSpawn()
	case GoalWait:
	default:
		_, err = p.client.SendInput(a.Angle, a.Boost)
	}
	return a, err
}

// Close ends the connection with a normal close frame and waits for its
// read loop to exit. It must not be called from a client callback.
func (p *Player) Close() error { return p.client.Close() }

// ServerURL turns a -addr value into a WebSocket URL: "HOST:PORT" becomes
// "ws://HOST:PORT/ws", and a ws:// or wss:// URL without a path gets /ws.
func ServerURL(addr string) (string, error) {
	if !strings.Contains(addr, "://") {
		addr = "ws://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil {
		return "", fmt.Errorf("bot: server address: %w", err)
	}
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return "", fmt.Errorf("bot: server address %q: scheme must be ws or wss", addr)
	}
	if u.Host == "" {
		return "", fmt.Errorf("bot: server address %q has no host", addr)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/ws"
	}
	return u.String(), nil
}
