package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Defaults of RedisOptions.
const (
	DefaultPrefix  = "shatter"
	DefaultTimeout = 500 * time.Millisecond
)

// RedisOptions configures NewRedis.
type RedisOptions struct {
	// URL is the server's address: redis://[user:password@]host:port[/db]
	// or rediss://… for TLS, as redis.ParseURL reads it.
	URL string
	// Prefix namespaces every key, and is their hash tag: keys are
	// "{Prefix}:…", so that tests and several fleets can share one server
	// and every key of a fleet lies in one Redis Cluster slot. Default
	// DefaultPrefix; it may not hold '{' or '}'.
	Prefix string
	// Timeout bounds every call (dial, send, answer), whatever the
	// caller's context, so that a frozen Redis never holds a node up for
	// long. Default DefaultTimeout.
	Timeout time.Duration
}

// NewRedis returns a Directory kept in a Redis server (7.x). It checks the
// options but does not connect: a node starts even when Redis is down, and
// its calls fail with ErrUnavailable until Redis is back.
//
// # Keys
//
// With T the hash tag "{Prefix}":
//
//   - T:lease:<node>: hash, PX the lease's ttl. json (the Lease as sent),
//     state, cap, players (as stored: with the directory's own
//     admissions), adm (Admits and Claims counted) and admAt (the last
//     one), at (the heartbeat's time). Everything about a node that must
//     vanish with it lives here.
//   - T:expiry: sorted set, node by lease expiry (ms). Nodes lists the
//     live ones from it, Reap the dead ones; Reap and Remove take nodes out.
//   - T:room: sorted set, ready node by free seats, as of the node's last
//     heartbeat, admission, reservation or claim. Seats that expired since
//     only make a score too low, never too high, so ReserveAny takes the
//     top and checks it exactly; dead and draining nodes met there are
//     dropped from it.
//   - T:pending:<node>: sorted set, the node's reserved, unclaimed seat ids
//     by expiry (ms); PX the latest. Expired ones are removed
//     (ZREMRANGEBYSCORE) before each count, so they stop counting without
//     keyspace notifications.
//   - T:seat:<id>: hash node, why, json (the Seat), PX the seat's ttl.
//   - T:resume:<token>: string, the Resume as JSON, PX its ttl.
//   - T:board: sorted set of every node's rows by mass, members
//     "<node>\x00<index>\x00<name>"; T:boardrows:<node>: set, that node's
//     members; T:boardexp: sorted set, node by rows expiry. Rows are in
//     one sorted set so that GlobalBoard is one ZREVRANGE (O(log n + top));
//     a node that stops publishing has its rows dropped by the next
//     GlobalBoard or Reap past their expiry (each first drops every
//     node's expired rows), so no read ever sees them.
//
// No command lists keys (no KEYS, no SCAN): every key is reached from a
// node id, a seat id, a token or one of the indexes.
//
// # Scripts
//
// Every change to more than one key is one Lua script (redis.NewScript:
// run by its SHA-1, sent whole once per server when missing), so Redis
// runs it atomically; "now" in a script is Redis's TIME, never the
// client's clock, which may be skewed between nodes. Scripts build the
// keys of nodes they find in an index from the tag (passed as ARGV[1]) and
// declare the fixed ones, which share the tag, so they run on Redis
// Cluster too. Reap is one script, so Redis's single thread is its lock:
// concurrent callers cannot both see a node dead.
//
// # Errors
//
// Every error of the client (refused, timed out, LOADING, closed…) wraps
// ErrUnavailable. Calls are not retried, so each is done at most once; but
// a call whose answer is lost may still have been done: a reservation then
// holds its seat until the seat's ttl, an admission counts until the
// node's heartbeats show it is unknown to the node (see Lease.Admitted).
func NewRedis(o RedisOptions) (Directory, error) {
	opt, err := redis.ParseURL(o.URL)
	if err != nil {
		return nil, fmt.Errorf("fleet: redis url: %w", err)
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if strings.ContainsAny(o.Prefix, "{}") {
		return nil, fmt.Errorf("fleet: redis prefix %q holds a brace", o.Prefix)
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Timeout < 0 {
		return nil, fmt.Errorf("fleet: redis timeout %v", o.Timeout)
	}
	// Each call also gets a context deadline of Timeout; these bound
	// what the context does not reach (a dial in the background, a pool
	// wait).
	opt.DialTimeout = o.Timeout
	opt.ReadTimeout = o.Timeout
	opt.WriteTimeout = o.Timeout
	opt.PoolTimeout = o.Timeout
	opt.ContextTimeoutEnabled = true
	// No retries: a script whose answer was lost may have run, and running
	// it again could count an admission twice or find its own seat taken.
	// A failed call is the caller's to repeat (the next heartbeat, the next
	// join); a connection the server closed is caught by the pool's health
	// check before use. One dial per call, so a Redis that refuses
	// connections fails calls at once rather than after the timeout.
	opt.MaxRetries = -1
	opt.DialerRetries = 1
	// Fewer round trips per new connection, and none the server may not
	// know (CLIENT SETINFO is Redis 7.2+).
	opt.DisableIdentity = true
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	c := redis.NewClient(opt)
	return &redisDir{
		c: c,
		// The same connections, with socket deadlines long enough for a
		// file: go-redis bounds each call by the earlier of its context's
		// deadline and ReadTimeout/WriteTimeout.
		files:   c.WithTimeout(max(o.Timeout, fileTimeout)),
		tag:     "{" + o.Prefix + "}",
		timeout: o.Timeout,
	}, nil
}

// redisDir is the Redis Directory. All its fields are static after
// construction; the client is safe for concurrent use.
type redisDir struct {
	c *redis.Client
	// files is c for the calls that may move an answer's file (up to
	// MaxAnswerData): callWithFile's. Closed with c.
	files   *redis.Client
	tag     string // "{prefix}"
	timeout time.Duration
}

func (d *redisDir) key(kind, id string) string { return d.tag + ":" + kind + ":" + id }
func (d *redisDir) index(name string) string   { return d.tag + ":" + name }

// call bounds ctx by the directory's timeout. It fails at once with
// ErrUnavailable when ctx is already done, as the memory directory does.
func (d *redisDir) call(ctx context.Context, op string) (context.Context, context.CancelFunc, error) {
	return d.callFor(ctx, op, d.timeout)
}

// callFor is call with timeout instead of the directory's.
func (d *redisDir) callFor(ctx context.Context, op string, timeout time.Duration) (context.Context, context.CancelFunc, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, unavailable(op, err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	return ctx, cancel, nil
}

// fileTimeout bounds the calls that may move an answer's file (up to
// MaxAnswerData) instead of the directory's timeout, which is set for
// small records; the caller's context still bounds them.
const fileTimeout = 30 * time.Second

// callWithFile is call for an operation that may move an answer's file.
func (d *redisDir) callWithFile(ctx context.Context, op string) (context.Context, context.CancelFunc, error) {
	return d.callFor(ctx, op, max(d.timeout, fileTimeout))
}

// run runs a script; every error is the client's, so it wraps
// ErrUnavailable.
func (d *redisDir) run(ctx context.Context, op string, s *redis.Script, keys []string, args ...any) (any, error) {
	ctx, cancel, err := d.call(ctx, op)
	if err != nil {
		return nil, err
	}
	defer cancel()
	v, err := s.Run(ctx, d.c, keys, append([]any{d.tag}, args...)...).Result()
	if err != nil {
		return nil, unavailable(op, err)
	}
	return v, nil
}

// luaPrelude is the start of every script: the tag, Redis's clock, the key
// names and the steps several scripts share.
const luaPrelude = `
local T = ARGV[1]
local ROOM = T .. ':room'
local EXPIRY = T .. ':expiry'
local BOARD = T .. ':board'
local BOARDEXP = T .. ':boardexp'
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function lease_key(node) return T .. ':lease:' .. node end
local function pending_key(node) return T .. ':pending:' .. node end
local function seat_key(id) return T .. ':seat:' .. id end
-- room is the node's exact free seats; seats expired by now stop counting.
local function room(node, now)
  local p = pending_key(node)
  local gone = redis.call('ZREMRANGEBYSCORE', p, '-inf', '(' .. now)
  if gone > 0 and redis.call('EXISTS', lease_key(node)) == 1 then
    redis.call('HINCRBY', lease_key(node), 'expired', gone)
  end
  local v = redis.call('HMGET', lease_key(node), 'cap', 'players')
  return tonumber(v[1]) - tonumber(v[2]) - redis.call('ZCARD', p)
end
-- index puts a ready node in the room index, or takes a draining one out.
local function index(node, state, r)
  if state == 'ready' then
    if r < 0 then r = 0 end
    redis.call('ZADD', ROOM, r, node)
  else
    redis.call('ZREM', ROOM, node)
  end
end
local function add_pending(node, id, now, ttl)
  local p = pending_key(node)
  redis.call('ZADD', p, now + ttl, id)
  if redis.call('PTTL', p) < ttl then redis.call('PEXPIRE', p, ttl) end
end
local function drop_rows(node)
  local rk = T .. ':boardrows:' .. node
  local m = redis.call('SMEMBERS', rk)
  for i = 1, #m, 500 do
    redis.call('ZREM', BOARD, unpack(m, i, math.min(i + 499, #m)))
  end
  redis.call('DEL', rk)
  redis.call('ZREM', BOARDEXP, node)
end
local function sweep_rows(now)
  for _, node in ipairs(redis.call('ZRANGEBYSCORE', BOARDEXP, '-inf', '(' .. now)) do
    drop_rows(node)
  end
end
`

func script(body string) *redis.Script { return redis.NewScript(luaPrelude + body) }

// heartbeatScript: ARGV node, json, state, cap, players, admitted, ttl.
// Returns the players stored.
var heartbeatScript = script(`
local now = now_ms()
local node, ttl = ARGV[2], tonumber(ARGV[8])
local players, adm = tonumber(ARGV[6]), tonumber(ARGV[7])
local lk = lease_key(node)
local old = redis.call('HMGET', lk, 'adm', 'admAt')
local dadm, admAt = tonumber(old[1]), tonumber(old[2])
-- Admissions the lease does not count yet: in flight, unless the last is
-- a whole ttl old (its answer was lost: the node never counted it).
if dadm and admAt and dadm > adm and now - admAt < ttl then
  players = players + (dadm - adm)
  adm = dadm
end
redis.call('HSET', lk, 'json', ARGV[3], 'state', ARGV[4], 'cap', ARGV[5],
  'players', players, 'adm', adm, 'at', now)
redis.call('PEXPIRE', lk, ttl)
redis.call('ZADD', EXPIRY, now + ttl, node)
index(node, ARGV[4], room(node, now))
return players
`)

func (d *redisDir) Heartbeat(ctx context.Context, l Lease, ttl time.Duration) error {
	if err := checkLease(l, ttl); err != nil {
		return err
	}
	l.Age = 0
	js, err := json.Marshal(l)
	if err != nil {
		return fmt.Errorf("fleet: lease of %s: %w", l.Node, err)
	}
	_, err = d.run(ctx, "heartbeat", heartbeatScript,
		[]string{d.key("lease", l.Node), d.index("expiry"), d.index("room"), d.key("pending", l.Node)},
		l.Node, js, string(l.State), l.Capacity, l.Players, strconv.FormatUint(l.Admitted, 10), ttl.Milliseconds())
	return err
}

// removeScript: ARGV node.
var removeScript = script(`
local node = ARGV[2]
redis.call('DEL', lease_key(node), pending_key(node))
redis.call('ZREM', EXPIRY, node)
redis.call('ZREM', ROOM, node)
drop_rows(node)
return 1
`)

func (d *redisDir) Remove(ctx context.Context, node string) error {
	if err := checkNode(node); err != nil {
		return err
	}
	_, err := d.run(ctx, "remove", removeScript,
		[]string{d.key("lease", node), d.key("pending", node), d.index("expiry"), d.index("room"),
			d.index("board"), d.index("boardexp"), d.key("boardrows", node)},
		node)
	return err
}

// nodesScript returns now, then json, players, at of each live lease.
var nodesScript = script(`
local now = now_ms()
local out = {now}
for _, node in ipairs(redis.call('ZRANGEBYSCORE', EXPIRY, now, '+inf')) do
  local v = redis.call('HMGET', lease_key(node), 'json', 'players', 'at', 'expired')
  if v[1] then
    out[#out + 1] = v[1]
    out[#out + 1] = v[2]
    out[#out + 1] = v[3]
    out[#out + 1] = v[4] or '0'
  end
end
return out
`)

func (d *redisDir) Nodes(ctx context.Context) ([]Lease, error) {
	v, err := d.run(ctx, "nodes", nodesScript, []string{d.index("expiry")})
	if err != nil {
		return nil, err
	}
	a, _ := v.([]any)
	if len(a) == 0 {
		return nil, errors.New("fleet: nodes: empty answer")
	}
	now := num(a[0])
	var out []Lease
	for i := 1; i+3 < len(a); i += 4 {
		l, err := decodeLease(a[i], a[i+1], a[i+2], now)
		if err != nil {
			return nil, err
		}
		l.SeatsExpired = uint64(num(a[i+3]))
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b Lease) int { return strings.Compare(a.Node, b.Node) })
	return out, nil
}

// reserveScript: ARGV node, id, why, json, ttl. Returns ok, gone, noroom or
// dup.
var reserveScript = script(`
local now = now_ms()
local node, id, why, ttl = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[6])
local state = redis.call('HGET', lease_key(node), 'state')
if not state then return 'gone' end
if state ~= 'ready' then return 'noroom' end
local sk = seat_key(id)
if why ~= 'resume' then
  local r = room(node, now)
  if r <= 0 then
    index(node, state, r)
    return 'noroom'
  end
  if redis.call('EXISTS', sk) == 1 then return 'dup' end
  add_pending(node, id, now, ttl)
  index(node, state, r - 1)
elseif redis.call('EXISTS', sk) == 1 then
  return 'dup'
end
redis.call('HSET', sk, 'node', node, 'why', why, 'json', ARGV[5])
redis.call('PEXPIRE', sk, ttl)
return 'ok'
`)

func (d *redisDir) Reserve(ctx context.Context, seat Seat, ttl time.Duration) error {
	if err := checkNode(seat.Node); err != nil {
		return err
	}
	if err := checkSeat(seat, ttl); err != nil {
		return err
	}
	js, err := seatJSON(seat)
	if err != nil {
		return err
	}
	v, err := d.run(ctx, "reserve", reserveScript,
		[]string{d.key("lease", seat.Node), d.key("pending", seat.Node), d.index("room"), d.key("seat", seat.ID)},
		seat.Node, seat.ID, seat.Why, js, ttl.Milliseconds())
	if err != nil {
		return err
	}
	return status(v, seat.ID)
}

// reserveAnyScript: ARGV exclude, id, why, json, ttl. Returns {ok, now,
// json, players, at} of the chosen node's lease, or {noroom} or {dup}.
var reserveAnyScript = script(`
local now = now_ms()
local exclude, id, why, ttl = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[6])
local sk = seat_key(id)
if redis.call('EXISTS', sk) == 1 then return {'dup'} end
while true do
  -- Each turn takes a node out of the range or returns: at most one turn
  -- per node in the index.
  local top = redis.call('ZREVRANGEBYSCORE', ROOM, '+inf', 1, 'LIMIT', 0, 2)
  local node = top[1]
  if node == exclude then node = top[2] end
  if not node then return {'noroom'} end
  local lk = lease_key(node)
  local state = redis.call('HGET', lk, 'state')
  if state ~= 'ready' then
    redis.call('ZREM', ROOM, node)
  else
    local r = room(node, now)
    if r > 0 then
      add_pending(node, id, now, ttl)
      index(node, state, r - 1)
      redis.call('HSET', sk, 'node', node, 'why', why, 'json', ARGV[5])
      redis.call('PEXPIRE', sk, ttl)
      local v = redis.call('HMGET', lk, 'json', 'players', 'at')
      return {'ok', now, v[1], v[2], v[3]}
    end
    index(node, state, r)
  end
end
`)

func (d *redisDir) ReserveAny(ctx context.Context, exclude string, seat Seat, ttl time.Duration) (Lease, Seat, error) {
	if err := checkSeat(seat, ttl); err != nil {
		return Lease{}, Seat{}, err
	}
	if seat.Why == WhyResume {
		return Lease{}, Seat{}, errors.New("fleet: ReserveAny of a resume seat")
	}
	js, err := seatJSON(seat)
	if err != nil {
		return Lease{}, Seat{}, err
	}
	v, err := d.run(ctx, "reserve any", reserveAnyScript,
		[]string{d.index("room"), d.key("seat", seat.ID)},
		exclude, seat.ID, seat.Why, js, ttl.Milliseconds())
	if err != nil {
		return Lease{}, Seat{}, err
	}
	a, _ := v.([]any)
	if len(a) == 0 {
		return Lease{}, Seat{}, errors.New("fleet: reserve any: empty answer")
	}
	if err := status(a[0], seat.ID); err != nil {
		return Lease{}, Seat{}, err
	}
	if len(a) != 5 {
		return Lease{}, Seat{}, fmt.Errorf("fleet: reserve any: answer of %d values", len(a))
	}
	l, err := decodeLease(a[2], a[3], a[4], num(a[1]))
	if err != nil {
		return Lease{}, Seat{}, err
	}
	seat.Node = l.Node
	return l, seat, nil
}

// claimScript: ARGV node, id. Returns {ok, json} or {badseat}.
var claimScript = script(`
local now = now_ms()
local node, id = ARGV[2], ARGV[3]
local sk = seat_key(id)
local s = redis.call('HMGET', sk, 'node', 'why', 'json')
if s[1] ~= node then return {'badseat'} end
redis.call('DEL', sk)
redis.call('ZREM', pending_key(node), id)
local lk = lease_key(node)
local state = redis.call('HGET', lk, 'state')
if state and s[2] ~= 'resume' then
  redis.call('HINCRBY', lk, 'players', 1)
  redis.call('HINCRBY', lk, 'adm', 1)
  redis.call('HSET', lk, 'admAt', now)
  index(node, state, room(node, now))
end
return {'ok', s[3]}
`)

func (d *redisDir) Claim(ctx context.Context, node, seatID string) (Seat, error) {
	if err := checkNode(node); err != nil {
		return Seat{}, err
	}
	v, err := d.run(ctx, "claim", claimScript,
		[]string{d.key("seat", seatID), d.key("lease", node), d.key("pending", node), d.index("room")},
		node, seatID)
	if err != nil {
		return Seat{}, err
	}
	a, _ := v.([]any)
	if len(a) == 0 {
		return Seat{}, errors.New("fleet: claim: empty answer")
	}
	if err := status(a[0], seatID); err != nil {
		return Seat{}, err
	}
	var s Seat
	if len(a) != 2 {
		return Seat{}, fmt.Errorf("fleet: claim: answer of %d values", len(a))
	}
	if err := json.Unmarshal([]byte(str(a[1])), &s); err != nil {
		return Seat{}, fmt.Errorf("fleet: claim: seat %s: %w", seatID, err)
	}
	s.Node = node
	return s, nil
}

// admitScript: ARGV node. Returns ok, gone or noroom.
var admitScript = script(`
local now = now_ms()
local node = ARGV[2]
local lk = lease_key(node)
local state = redis.call('HGET', lk, 'state')
if not state then return 'gone' end
if state ~= 'ready' then return 'noroom' end
local r = room(node, now)
if r <= 0 then
  index(node, state, r)
  return 'noroom'
end
redis.call('HINCRBY', lk, 'players', 1)
redis.call('HINCRBY', lk, 'adm', 1)
redis.call('HSET', lk, 'admAt', now)
index(node, state, r - 1)
return 'ok'
`)

func (d *redisDir) Admit(ctx context.Context, node string) error {
	if err := checkNode(node); err != nil {
		return err
	}
	v, err := d.run(ctx, "admit", admitScript,
		[]string{d.key("lease", node), d.key("pending", node), d.index("room")}, node)
	if err != nil {
		return err
	}
	return status(v, "")
}

func (d *redisDir) Checkpoint(ctx context.Context, recs []Resume, ttl time.Duration) error {
	if err := checkResumes(recs, ttl); err != nil {
		return err
	}
	ctx, cancel, err := d.call(ctx, "checkpoint")
	if err != nil {
		return err
	}
	defer cancel()
	if len(recs) == 0 {
		return nil
	}
	// One round trip for every record: each SET stands alone, so no
	// script is needed.
	_, err = d.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, r := range recs {
			js, err := json.Marshal(r)
			if err != nil {
				return err
			}
			p.Set(ctx, d.key("resume", r.Token), js, ttl)
		}
		return nil
	})
	if err != nil {
		return unavailable("checkpoint", err)
	}
	return nil
}

func (d *redisDir) LookupResume(ctx context.Context, token string) (Resume, error) {
	return d.readResume(ctx, "lookup resume", token, d.c.Get)
}

func (d *redisDir) TakeResume(ctx context.Context, token string) (Resume, error) {
	return d.readResume(ctx, "take resume", token, d.c.GetDel)
}

// readResume reads a token's record with get (GET, or GETDEL to take it).
func (d *redisDir) readResume(ctx context.Context, op, token string, get func(context.Context, string) *redis.StringCmd) (Resume, error) {
	ctx, cancel, err := d.call(ctx, op)
	if err != nil {
		return Resume{}, err
	}
	defer cancel()
	b, err := get(ctx, d.key("resume", token)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Resume{}, ErrNotFound
	}
	if err != nil {
		return Resume{}, unavailable(op, err)
	}
	var r Resume
	if err := json.Unmarshal(b, &r); err != nil {
		return Resume{}, fmt.Errorf("fleet: resume record: %w", err)
	}
	return r, nil
}

func (d *redisDir) Forget(ctx context.Context, tokens ...string) error {
	ctx, cancel, err := d.call(ctx, "forget")
	if err != nil {
		return err
	}
	defer cancel()
	if len(tokens) == 0 {
		return nil
	}
	keys := make([]string, len(tokens))
	for i, t := range tokens {
		keys[i] = d.key("resume", t)
	}
	if err := d.c.Del(ctx, keys...).Err(); err != nil {
		return unavailable("forget", err)
	}
	return nil
}

// publishScript: ARGV node, ttl, then member and mass of each row.
var publishScript = script(`
local now = now_ms()
local node, ttl = ARGV[2], tonumber(ARGV[3])
drop_rows(node)
if #ARGV > 3 then
  local rk = T .. ':boardrows:' .. node
  for i = 4, #ARGV, 2 do
    redis.call('ZADD', BOARD, ARGV[i + 1], ARGV[i])
    redis.call('SADD', rk, ARGV[i])
  end
  redis.call('ZADD', BOARDEXP, now + ttl, node)
end
return 1
`)

func (d *redisDir) PublishBoard(ctx context.Context, node string, rows []BoardRow, ttl time.Duration) error {
	if err := checkRows(node, rows, ttl); err != nil {
		return err
	}
	args := make([]any, 0, 2+2*len(rows))
	args = append(args, node, ttl.Milliseconds())
	for i, r := range rows {
		args = append(args, boardMember(node, i, r.Name), strconv.FormatFloat(r.Mass, 'g', -1, 64))
	}
	_, err := d.run(ctx, "publish board", publishScript,
		[]string{d.index("board"), d.index("boardexp"), d.key("boardrows", node)}, args...)
	return err
}

// globalBoardScript: ARGV n. Returns member, score pairs, top first.
var globalBoardScript = script(`
local now = now_ms()
sweep_rows(now)
local n = tonumber(ARGV[2])
if n <= 0 then return {} end
return redis.call('ZREVRANGE', BOARD, 0, n - 1, 'WITHSCORES')
`)

func (d *redisDir) GlobalBoard(ctx context.Context, n int) ([]BoardRow, error) {
	v, err := d.run(ctx, "global board", globalBoardScript,
		[]string{d.index("board"), d.index("boardexp")}, max(n, 0))
	if err != nil {
		return nil, err
	}
	a, _ := v.([]any)
	if len(a) == 0 {
		return nil, nil
	}
	out := make([]BoardRow, 0, len(a)/2)
	for i := 0; i+1 < len(a); i += 2 {
		m, err := strconv.ParseFloat(str(a[i+1]), 64)
		if err != nil {
			return nil, fmt.Errorf("fleet: global board: mass: %w", err)
		}
		out = append(out, BoardRow{Name: boardName(str(a[i])), Mass: m})
	}
	return out, nil
}

// reapScript returns the ids of the dead nodes it cleaned up after.
var reapScript = script(`
local now = now_ms()
local dead = {}
for _, node in ipairs(redis.call('ZRANGEBYSCORE', EXPIRY, '-inf', '(' .. now)) do
  if redis.call('EXISTS', lease_key(node)) == 0 then
    redis.call('ZREM', EXPIRY, node)
    redis.call('ZREM', ROOM, node)
    redis.call('DEL', pending_key(node))
    drop_rows(node)
    dead[#dead + 1] = node
  end
end
sweep_rows(now)
return dead
`)

func (d *redisDir) Reap(ctx context.Context) ([]string, error) {
	v, err := d.run(ctx, "reap", reapScript,
		[]string{d.index("expiry"), d.index("room"), d.index("board"), d.index("boardexp")})
	if err != nil {
		return nil, err
	}
	a, _ := v.([]any)
	var dead []string
	for _, x := range a {
		dead = append(dead, str(x))
	}
	slices.Sort(dead)
	return dead, nil
}

func (d *redisDir) Close() error { return d.c.Close() }

// status maps a script's status word to the Directory's errors.
func status(v any, seatID string) error {
	switch s := str(v); s {
	case "ok":
		return nil
	case "gone":
		return ErrNodeGone
	case "noroom":
		return ErrNoRoom
	case "badseat":
		return ErrBadSeat
	case "dup":
		return errDupSeat(seatID)
	default:
		return fmt.Errorf("fleet: unexpected script answer %v", v)
	}
}

func seatJSON(s Seat) ([]byte, error) {
	s.Node = "" // kept in the seat's hash, and set by ReserveAny's script
	js, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("fleet: seat %s: %w", s.ID, err)
	}
	return js, nil
}

// decodeLease builds a lease from what a script read of its hash.
func decodeLease(js, players, at any, now int64) (Lease, error) {
	var l Lease
	if err := json.Unmarshal([]byte(str(js)), &l); err != nil {
		return Lease{}, fmt.Errorf("fleet: lease: %w", err)
	}
	l.Players = int(num(players))
	l.Age = time.Duration(now-num(at)) * time.Millisecond
	return l, nil
}

// str is a script's string answer (a bulk string), or "".
func str(v any) string {
	s, _ := v.(string)
	return s
}

// num is a script's integer answer, given as an integer or a string.
func num(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	}
	return 0
}

// LogRedisTo sends go-redis's own log lines (dial failures and the like,
// which it writes to stderr by default, once per attempt while Redis is
// down) to logger at debug level: a node already logs one warning per
// outage, and counts every failed call in its metrics. go-redis's logger
// is process-wide, so the binary calls this once, at start.
func LogRedisTo(logger *slog.Logger) { redis.SetLogger(redisLogger{logger}) }

type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "go-redis: "+fmt.Sprintf(format, v...))
}
