package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Command is an admin action that one node's operator addresses to
// another node (PROTOCOL.md "HTTP", ?node=): the directory carries it to
// that node, which takes it at its next poll, does it and answers.
type Command struct {
	ID     string `json:"id"`               // NewSeatID: the answer's key
	Node   string `json:"node"`             // the node that must do it
	Kind   string `json:"kind"`             // what to do, e.g. "drain", "kick"
	Target string `json:"target,omitempty"` // what to do it to: a session or arena id
	Reason string `json:"reason,omitempty"`
	// Minutes is how much of an arena's play a clip command asks for (0:
	// the node's whole clip ring).
	Minutes float64 `json:"minutes,omitempty"`
	By      string  `json:"by,omitempty"` // who asked, for the log
}

// Answer is what a node answered to a Command.
type Answer struct {
	Status int    `json:"status"` // the HTTP status the action would have had locally
	Body   string `json:"body"`   // its JSON answer
	Node   string `json:"node"`   // the node that answered
	// Data is a file the answer carries, such as a clip (a replay log of
	// megabytes), kept beside the JSON body so that the body stays small;
	// at most MaxAnswerData bytes.
	Data []byte `json:"-"`
}

// MaxAnswerData bounds an answer's file as stored: a clip ring of the
// default -clip-max-mb (64) fits with room; a bigger clip is cut on its
// own node's admin listener.
const MaxAnswerData = 128 << 20

// MaxCommandBytes bounds a command as stored, so that a queue stays small.
const MaxCommandBytes = 1 << 10

func checkCommand(c Command, ttl time.Duration) error {
	if err := checkNode(c.Node); err != nil {
		return err
	}
	if c.ID == "" || c.Kind == "" {
		return errors.New("fleet: a command needs an id and a kind")
	}
	if js, _ := json.Marshal(c); len(js) > MaxCommandBytes {
		return fmt.Errorf("fleet: command of %d bytes (at most %d)", len(js), MaxCommandBytes)
	}
	return checkTTL(ttl)
}

func checkAnswer(id string, a Answer, ttl time.Duration) error {
	if id == "" {
		return errors.New("fleet: an answer needs its command's id")
	}
	if a.Status < 100 || a.Status > 599 {
		return fmt.Errorf("fleet: answer status %d", a.Status)
	}
	if len(a.Body) > MaxCommandBytes*16 {
		return fmt.Errorf("fleet: answer of %d bytes", len(a.Body))
	}
	if len(a.Data) > MaxAnswerData {
		return fmt.Errorf("%w: a file of %d bytes (at most %d travel through the directory)", ErrTooBig, len(a.Data), MaxAnswerData)
	}
	return checkTTL(ttl)
}

// The Redis directory keeps commands in:
//
//   - T:cmds:<node>: list of the node's commands, each as JSON with its
//     expiry (ms, Redis's clock) in "exp"; PX the latest expiry.
//   - T:answer:<id>: string, the Answer as JSON, PX its ttl.
//   - T:answer:<id>:data: string, the Answer's Data when it has one, PX
//     its ttl; written with the answer in one transaction.

// sendScript: ARGV node, json, ttl. Returns 'ok', or 'gone' when the node
// has no live lease.
var sendScript = script(`
local now = now_ms()
local node, ttl = ARGV[2], tonumber(ARGV[4])
if redis.call('EXISTS', lease_key(node)) == 0 then return 'gone' end
local q = T .. ':cmds:' .. node
redis.call('RPUSH', q, cjson.encode({exp = now + ttl, cmd = ARGV[3]}))
if redis.call('PTTL', q) < ttl then redis.call('PEXPIRE', q, ttl) end
return 'ok'
`)

// takeScript: ARGV node. Returns the JSON of the node's live commands,
// oldest first, and empties its queue.
var takeScript = script(`
local now = now_ms()
local q = T .. ':cmds:' .. ARGV[2]
local all = redis.call('LRANGE', q, 0, -1)
redis.call('DEL', q)
local out = {}
for _, e in ipairs(all) do
  local v = cjson.decode(e)
  if tonumber(v.exp) >= now then out[#out + 1] = v.cmd end
end
return out
`)

func (d *redisDir) SendCommand(ctx context.Context, c Command, ttl time.Duration) error {
	if err := checkCommand(c, ttl); err != nil {
		return err
	}
	js, err := json.Marshal(c)
	if err != nil {
		return err
	}
	v, err := d.run(ctx, "send command", sendScript, []string{d.key("lease", c.Node), d.key("cmds", c.Node)}, c.Node, js, ttl.Milliseconds())
	if err != nil {
		return err
	}
	if str(v) == "gone" {
		return ErrNodeGone
	}
	return nil
}

func (d *redisDir) TakeCommands(ctx context.Context, node string) ([]Command, error) {
	if err := checkNode(node); err != nil {
		return nil, err
	}
	v, err := d.run(ctx, "take commands", takeScript, []string{d.key("cmds", node)}, node)
	if err != nil {
		return nil, err
	}
	a, _ := v.([]any)
	out := make([]Command, 0, len(a))
	for _, x := range a {
		var c Command
		if err := json.Unmarshal([]byte(str(x)), &c); err != nil {
			return out, fmt.Errorf("fleet: command for %s: %w", node, err)
		}
		out = append(out, c)
	}
	return out, nil
}

func (d *redisDir) Answer(ctx context.Context, id string, a Answer, ttl time.Duration) error {
	if err := checkAnswer(id, a, ttl); err != nil {
		return err
	}
	js, err := json.Marshal(a)
	if err != nil {
		return err
	}
	call, c := d.call, d.c
	if a.Data != nil {
		call, c = d.callWithFile, d.files
	}
	ctx, cancel, err := call(ctx, "answer")
	if err != nil {
		return err
	}
	defer cancel()
	_, err = c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		if a.Data != nil {
			p.Set(ctx, d.key("answer", id+":data"), a.Data, ttl)
		}
		p.Set(ctx, d.key("answer", id), js, ttl)
		return nil
	})
	if err != nil {
		return unavailable("answer", err)
	}
	return nil
}

func (d *redisDir) TakeAnswer(ctx context.Context, id string) (Answer, error) {
	ctx, cancel, err := d.callWithFile(ctx, "take answer")
	if err != nil {
		return Answer{}, err
	}
	defer cancel()
	// Read, then delete: a read that fails half way (a file too slow to
	// come) leaves the answer for the next try instead of losing it.
	var js, data *redis.StringCmd
	_, err = d.files.Pipelined(ctx, func(p redis.Pipeliner) error {
		js = p.Get(ctx, d.key("answer", id))
		data = p.Get(ctx, d.key("answer", id+":data"))
		return nil
	})
	if errors.Is(js.Err(), redis.Nil) {
		return Answer{}, ErrNotFound
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		return Answer{}, unavailable("take answer", err)
	}
	var a Answer
	if err := json.Unmarshal([]byte(js.Val()), &a); err != nil {
		return Answer{}, fmt.Errorf("fleet: answer %s: %w", id, err)
	}
	if b, err := data.Bytes(); err == nil {
		a.Data = b
	}
	// Taken: the asking node has it. A delete that fails leaves it to
	// expire with its ttl.
	_ = d.c.Del(ctx, d.key("answer", id), d.key("answer", id+":data")).Err()
	return a, nil
}

type memCommand struct {
	cmd Command
	exp time.Time
}

type memAnswer struct {
	a   Answer
	exp time.Time
}

func (m *memory) SendCommand(ctx context.Context, c Command, ttl time.Duration) error {
	if err := checkCommand(c, ttl); err != nil {
		return err
	}
	now, err := m.begin(ctx, "send command")
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	if m.lease(c.Node, now) == nil {
		return ErrNodeGone
	}
	m.cmds[c.Node] = append(m.cmds[c.Node], memCommand{cmd: c, exp: now.Add(ttl).Truncate(time.Millisecond)})
	return nil
}

func (m *memory) TakeCommands(ctx context.Context, node string) ([]Command, error) {
	if err := checkNode(node); err != nil {
		return nil, err
	}
	now, err := m.begin(ctx, "take commands")
	if err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	out := []Command{}
	for _, c := range m.cmds[node] {
		if !now.After(c.exp) {
			out = append(out, c.cmd)
		}
	}
	delete(m.cmds, node)
	return out, nil
}

func (m *memory) Answer(ctx context.Context, id string, a Answer, ttl time.Duration) error {
	if err := checkAnswer(id, a, ttl); err != nil {
		return err
	}
	now, err := m.begin(ctx, "answer")
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	a.Data = bytes.Clone(a.Data) // the caller's buffer stays its own, as over Redis
	m.answers[id] = memAnswer{a: a, exp: now.Add(ttl)}
	return nil
}

func (m *memory) TakeAnswer(ctx context.Context, id string) (Answer, error) {
	now, err := m.begin(ctx, "take answer")
	if err != nil {
		return Answer{}, err
	}
	defer m.mu.Unlock()
	a, ok := m.answers[id]
	delete(m.answers, id)
	if !ok || now.After(a.exp) {
		return Answer{}, ErrNotFound
	}
	return a.a, nil
}
