// A small stand-in for the Go server, for the browser tests only: it serves
// web/dist/ at "/", /healthz, and speaks PROTOCOL.md at /ws with a toy
// arena (terrain, fragments, spike balls, wandering zombies, players that
// roll toward their heading). Its controls let a test bust a player, drop
// every connection, expire resume tokens, announce a shutdown, refuse
// newcomers as full or kick a player, which the real server offers no
// handle for.
//
// Several mock servers sharing a MockFleet are the nodes of a fleet
// (PROTOCOL.md "Fleet"): a node can drain its players to another with
// `moved`, send one player a `moved` to any URL, or die, after which any
// node honours the dead node's tokens; a hello's seat is claimed, or
// answered with bad_seat; a token of a session on another node is answered
// with `moved` (why resume); and the fleet's boards can carry `global` and
// `online`.
//
// Marble records carry heading and flags (zombies boost now and then), a
// test can make a player hit a spike ball, busts and spike hits go out as
// `feed` to everyone, `watch` picks whom a dead player's view follows (told
// in `eye`), board rows carry ids, and a name already taken comes back
// changed in `welcome.name`.
//
// Run by hand: node test/mock-server.mjs [port]     (one node)
//              node test/mock-server.mjs 4000 4001  (a fleet of two)
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { WebSocket, WebSocketServer } from 'ws';
import { encode, decode } from '@msgpack/msgpack';

const RULES = {
  tick_rate: 30, arena_w: 3000, arena_h: 3000, max_players: 150, min_population: 25,
  terrain_samples: 129, gravity: 30000, start_mass: 20, radius_factor: 4, top_speed: 220,
  speed_exponent: -0.22, acceleration: 900, drag: 1.5, boost_factor: 2, boost_cost: 0.02,
  boost_floor: 15, decay_rate: 0.002, decay_threshold: 100, fragment_count: 1200, fragment_mass: 1,
  max_shatter_fragments: 40, bust_ratio: 1.2, bust_overlap: 0.4, bust_gain: 0.7, obstacle_count: 30,
  obstacle_radius: 30, obstacle_min_mass: 150, obstacle_loss: 0.3, obstacle_knockback: 400,
  zombie_flee_range: 300, zombie_chase_range: 400, zombie_chase_ratio: 0.8, zombie_boost_range: 150,
  zombie_think_ticks: 3, zombie_search_range: 600, view_w: 600, view_h: 340, view_growth: 40,
  leaderboard_size: 10, grid_cell: 100, boost_hold: 1, knockback_time: 0.5, spawn_shield: 3,
  zombie_spare: 35,
};
const ZOMBIES = ['Grim', 'Rotter', 'Moaner', 'Shambles', 'Ghoul', 'Husk', 'Lurch', 'Gnasher', 'Wretch', 'Bonesy', 'Creep', 'Drool'];
const KIND = { PLAYER: 0, ZOMBIE: 1, FRAGMENT: 2, OBSTACLE: 3 };
const RESUME_GRACE_MS = 10_000;
const SEAT_MS = 15_000;
const CONTENT_TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json', '.png': 'image/png', '.svg': 'image/svg+xml' };

// The directory the nodes of a mock fleet share: seats, the tokens of dead
// nodes, and the fleet-wide board.
export class MockFleet {
  constructor() {
    this.nodes = new Set(); // live Arenas
    this.seats = new Map(); // seat -> { node, carry, expires }
    this.orphans = new Map(); // token -> { name, mass, alive } of a dead node's sessions
    this.boards = false; // test control: boards carry `global` and `online`
  }

  // A seat on node for one connection within SEAT_MS; carry is what the
  // node seats: { name, mass, alive } or { resume: session }.
  reserve(node, carry) {
    const seat = randomBytes(16).toString('hex');
    this.seats.set(seat, { node, carry, expires: Date.now() + SEAT_MS });
    return seat;
  }

  // What the seat carries, once; null for a seat unknown, expired, used or
  // issued for another node.
  claim(node, seat) {
    const s = this.seats.get(seat);
    if (!s || s.node !== node || s.expires < Date.now()) return null;
    this.seats.delete(seat);
    return s.carry;
  }

  // The live node other than `except` that holds a session with `token`.
  holder(token, except) {
    for (const node of this.nodes) {
      if (node === except) continue;
      const session = node.byToken(token);
      if (session) return { node, session };
    }
    return null;
  }

  global() {
    const movers = [];
    for (const node of this.nodes) movers.push(...node.movers());
    return movers.sort((a, b) => b.mass - a.mass).slice(0, RULES.leaderboard_size).map((m) => [m.name, Math.round(m.mass)]);
  }

  online() {
    let n = 0;
    for (const node of this.nodes) n += node.online();
    return n;
  }
}

export async function startMockServer({ webDir, port = 0, host = '127.0.0.1', seed = 7, fleet = null }) {
  const arena = new Arena(seed, fleet);
  const server = http.createServer((req, res) => serveStatic(webDir, req, res));
  const wss = new WebSocketServer({ server, path: '/ws', maxPayload: 1024 });
  wss.on('connection', (ws) => arena.connect(ws));
  await new Promise((resolve) => server.listen(port, host, resolve));
  const timer = setInterval(() => arena.tick(), 1000 / RULES.tick_rate);
  const address = server.address();
  arena.wsUrl = `ws://${host}:${address.port}/ws`;
  fleet?.nodes.add(arena);
  let closed = null;
  const close = () => {
    closed ??= (async () => {
      fleet?.nodes.delete(arena);
      clearInterval(timer);
      for (const ws of wss.clients) ws.terminate();
      await new Promise((resolve) => wss.close(() => server.close(resolve)));
    })();
    return closed;
  };
  return {
    url: `http://${host}:${address.port}/`,
    wsUrl: arena.wsUrl,
    arena,
    bust: (name) => arena.bust(name),
    spike: (name) => arena.spike(name),
    boostZombieNear: (name, ticks) => arena.boostZombieNear(name, ticks),
    holdZombieNear: (id, dx, dy) => arena.holdZombieNear(id, dx, dy),
    // The marble `id` stops where it is, until release(id).
    hold: (id) => arena.entities.has(id) && Object.assign(arena.entities.get(id), { held: true, vx: 0, vy: 0 }),
    release: (id) => arena.entities.get(id) && (arena.entities.get(id).held = false),
    watches: () => arena.watches,
    dropConnections: () => arena.dropConnections(),
    expireTokens: () => arena.expireTokens(),
    playerNames: () => arena.playerNames(),
    players: () => arena.players(),
    hellos: () => arena.hellos,
    shutdown: () => arena.shutdown(),
    setFull: (full) => (arena.full = full),
    kick: (name, why) => arena.kick(name, why),
    // Fleet controls (the node must have been started with a fleet).
    drainTo: (other) => arena.drainTo(other.arena),
    sendMoved: (name, url, why) => arena.sendMoved(name, url, why),
    // The node dies: its port closes, and the fleet keeps its players'
    // tokens, names and masses for any node to revive them.
    async kill() {
      for (const s of arena.sessions) {
        const marble = arena.entities.get(s.marbleId);
        fleet.orphans.set(s.token, { name: s.name, mass: marble ? Math.round(marble.mass) : 0, alive: Boolean(marble) });
      }
      await close();
    },
    close,
  };
}

async function serveStatic(webDir, req, res) {
  const path = new URL(req.url, 'http://x').pathname;
  if (path === '/healthz') return res.end('ok');
  const file = normalize(join(webDir, path === '/' ? 'index.html' : path));
  if (!file.startsWith(normalize(webDir))) return res.writeHead(403).end();
  try {
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
  } catch {
    res.writeHead(404).end('not found');
  }
}

class Arena {
  constructor(seed, fleet) {
    this.fleet = fleet;
    this.wsUrl = '';
    this.hellos = 0;
    this.random = mulberry32(seed);
    this.tickNo = 0;
    this.nextId = 1;
    this.nextSession = 1;
    this.entities = new Map();
    this.sessions = new Set();
    this.full = false; // test control: refuse every hello as `full`
    this.watches = []; // every `watch` id received, for assertions
    this.events = []; // feed events of this tick
    this.terrain = makeTerrain(RULES.terrain_samples, this.random);
    for (let i = 0; i < RULES.fragment_count; i++) this.add(KIND.FRAGMENT, 1, '');
    for (let i = 0; i < RULES.obstacle_count; i++) this.add(KIND.OBSTACLE, 0, '');
    for (const name of ZOMBIES) {
      const z = this.add(KIND.ZOMBIE, 20 + this.random() * 120, name);
      z.angle = this.random() * 2 * Math.PI;
    }
  }

  add(kind, mass, name) {
    const e = { id: this.nextId++, kind, mass, name, x: 100 + this.random() * (RULES.arena_w - 200), y: 100 + this.random() * (RULES.arena_h - 200), vx: 0, vy: 0, angle: 0, boost: false };
    this.entities.set(e.id, e);
    return e;
  }

  connect(ws) {
    let session = null;
    const fail = (code, msg, close) => {
      ws.send(encode({ t: 'error', code, msg }));
      if (close) ws.close(close, code);
    };
    const helloTimer = setTimeout(() => session || fail('no_hello', 'no hello within 5 s', 1002), 5000);
    ws.on('message', (data, isBinary) => {
      if (!isBinary) return fail('text_frame', 'binary frames only', 1003);
      let msg;
      try {
        msg = decode(data);
      } catch {
        return fail('bad_message', 'not msgpack');
      }
      if (!session) {
        if (msg?.t !== 'hello') return fail('no_hello', 'hello first', 1002);
        if (msg.v !== 1) return fail('version', 'protocol version 1 only', 1002);
        clearTimeout(helloTimer);
        session = this.hello(ws, msg, fail);
        return;
      }
      this.handle(session, msg, fail);
    });
    ws.on('close', () => {
      clearTimeout(helloTimer);
      if (session?.ws === ws) {
        session.ws = null;
        session.detachedAt = Date.now();
        const marble = this.entities.get(session.marbleId);
        if (marble) marble.boost = false;
      }
    });
  }

  newSession(name) {
    const session = { id: this.nextSession++, token: randomBytes(12).toString('hex'), name: this.freeName(String(name).trim().slice(0, 16) || 'player'), marbleId: 0, ack: 0, eye: 0 };
    this.sessions.add(session);
    return session;
  }

  // The name, or the name with a number when another session has it.
  freeName(name) {
    const taken = new Set([...this.sessions].map((s) => s.name));
    if (!taken.has(name)) return name;
    for (let n = 2; ; n++) {
      const candidate = `${name.slice(0, 14)}${n}`;
      if (!taken.has(candidate)) return candidate;
    }
  }

  // Returns the session the hello joins, or null when it was refused or
  // sent on with `moved`.
  hello(ws, msg, fail) {
    this.hellos++;
    if (typeof msg.seat === 'string' && this.fleet) {
      const carry = this.fleet.claim(this, msg.seat);
      if (carry) return this.welcome(ws, this.seated(carry));
      fail('bad_seat', 'unknown, expired or used seat');
    }
    if (this.full) return fail('full', 'every arena is full', 1013);
    let session = msg.token ? this.byToken(msg.token) : null;
    if (session?.ws) session = null; // this mock does not replace a live connection
    if (msg.token && !session && this.fleet) {
      const held = this.fleet.holder(msg.token, this);
      if (held) {
        const seat = this.fleet.reserve(held.node, { resume: held.session });
        ws.send(encode({ t: 'moved', url: held.node.wsUrl, seat, why: 'resume' }));
        ws.close(4003, 'moved');
        return null;
      }
      const orphan = this.fleet.orphans.get(msg.token);
      if (orphan) {
        // A dead node's player: alive again here, with its mass.
        this.fleet.orphans.delete(msg.token);
        return this.welcome(ws, this.seated(orphan));
      }
    }
    if (msg.token && !session) fail('resume_expired', 'that session is gone');
    session ??= this.newSession(msg.name);
    return this.welcome(ws, session);
  }

  // The session a claimed seat (or a dead node's token) brings.
  seated(carry) {
    if (carry.resume) return carry.resume;
    const session = this.newSession(carry.name);
    if (carry.alive) session.marbleId = this.add(KIND.PLAYER, Math.max(carry.mass, 1), session.name).id;
    return session;
  }

  welcome(ws, session) {
    session.ws?.close(4002, 'replaced');
    session.ws = ws;
    session.detachedAt = 0;
    session.sent = new Map();
    ws.send(encode({
      t: 'welcome', v: 1, session: session.id, token: session.token, tick: this.tickNo, rate: RULES.tick_rate,
      arena: { w: RULES.arena_w, h: RULES.arena_h },
      terrain: { n: RULES.terrain_samples, h: this.terrain.heights },
      rules: RULES,
      name: session.name,
    }));
    return session;
  }

  handle(session, msg, fail) {
    const marble = this.entities.get(session.marbleId);
    switch (msg?.t) {
      case 'spawn':
        if (!marble) session.marbleId = this.add(KIND.PLAYER, RULES.start_mass, session.name).id;
        return;
      case 'input':
        if (!(msg.seq > session.ack) || !Number.isFinite(msg.angle)) return fail('bad_message', 'bad input');
        session.ack = msg.seq;
        if (marble) {
          marble.steered = true;
          marble.angle = msg.angle;
          marble.boost = Boolean(msg.boost);
        }
        return;
      case 'watch':
        if (!Number.isInteger(msg.id) || msg.id < 0) return fail('bad_message', 'bad watch');
        this.watches.push(msg.id);
        session.eye = msg.id;
        return;
      case 'ping':
        return session.ws.send(encode({ t: 'pong', c: msg.c, tick: this.tickNo }));
      default:
        return fail('bad_message', `unknown message type ${msg?.t}`);
    }
  }

  tick() {
    this.tickNo++;
    const now = Date.now();
    for (const s of this.sessions) {
      if (!s.ws && now - s.detachedAt > RESUME_GRACE_MS) this.forget(s);
    }
    const movers = [...this.entities.values()].filter((e) => e.kind === KIND.PLAYER || e.kind === KIND.ZOMBIE);
    for (const m of movers) {
      if (m.held) continue;
      if (m.kind === KIND.ZOMBIE) this.wander(m);
      this.move(m);
    }
    this.eat(movers);
    for (const s of this.sessions) if (s.ws) this.sendSnap(s);
    this.sendFeed();
    for (const m of movers) m.spiked = false;
    if (this.tickNo % RULES.tick_rate === 0) this.sendBoard(movers);
  }

  wander(z) {
    if (this.random() < 0.02) z.angle += (this.random() - 0.5) * 2;
    z.steered = true;
    if (z.boostTicks > 0) z.boostTicks--;
    z.boost = z.boostTicks > 0;
    const margin = 150;
    if (z.x < margin || z.x > RULES.arena_w - margin || z.y < margin || z.y > RULES.arena_h - margin) {
      z.angle = Math.atan2(RULES.arena_h / 2 - z.y, RULES.arena_w / 2 - z.x);
    }
  }

  // The movement rule of systems/movement.go.
  move(m) {
    const dt = 1 / RULES.tick_rate;
    const keep = Math.max(0, 1 - RULES.drag * dt);
    const boosting = m.boost && m.mass > RULES.boost_floor;
    m.boosting = boosting;
    const accel = RULES.acceleration * (boosting ? RULES.boost_factor : 1);
    const [gx, gy] = this.terrain.slope(m.x, m.y);
    m.vx = (m.vx + (Math.cos(m.angle) * accel - RULES.gravity * gx) * dt) * keep;
    m.vy = (m.vy + (Math.sin(m.angle) * accel - RULES.gravity * gy) * dt) * keep;
    const top = RULES.top_speed * m.mass ** RULES.speed_exponent * (boosting ? RULES.boost_factor : 1);
    const speed = Math.hypot(m.vx, m.vy);
    if (speed > top) {
      m.vx *= top / speed;
      m.vy *= top / speed;
    }
    if (boosting) m.mass = Math.max(RULES.boost_floor, m.mass * (1 - RULES.boost_cost * dt));
    m.x += m.vx * dt;
    m.y += m.vy * dt;
    if (m.x < 0 || m.x > RULES.arena_w) [m.x, m.vx] = [Math.min(Math.max(m.x, 0), RULES.arena_w), 0];
    if (m.y < 0 || m.y > RULES.arena_h) [m.y, m.vy] = [Math.min(Math.max(m.y, 0), RULES.arena_h), 0];
  }

  // A fragment whose centre is inside a mover is eaten and grows elsewhere.
  eat(movers) {
    for (const f of [...this.entities.values()]) {
      if (f.kind !== KIND.FRAGMENT) continue;
      const eater = movers.find((m) => Math.hypot(m.x - f.x, m.y - f.y) < RULES.radius_factor * Math.sqrt(m.mass));
      if (!eater) continue;
      eater.mass += f.mass;
      this.entities.delete(f.id);
      this.add(KIND.FRAGMENT, 1, '');
    }
  }

  sendSnap(s) {
    const own = this.entities.get(s.marbleId);
    let watched = own ? null : this.entities.get(s.eye);
    if (!own && s.eye && !watched) s.eye = 0; // gone: back to the leader
    const centre = own ?? watched ?? this.leader();
    const scale = 1 + Math.sqrt(centre?.mass ?? 0) / RULES.view_growth;
    const hw = RULES.view_w * scale;
    const hh = RULES.view_h * scale;
    const snap = { t: 'snap', tick: this.tickNo, ack: s.ack, you: null, add: [], upd: [], del: [] };
    const seen = new Set();
    for (const e of this.entities.values()) {
      if (!centre || Math.abs(e.x - centre.x) > hw || Math.abs(e.y - centre.y) > hh) continue;
      const q = [e.id, quantize(e.x, RULES.arena_w), quantize(e.y, RULES.arena_h), Math.round(e.mass)];
      const marble = e.kind === KIND.PLAYER || e.kind === KIND.ZOMBIE;
      if (marble) q.push(e.steered ? heading256(e.angle) : 0, (e.boosting ? 1 : 0) | (e.spiked ? 2 : 0));
      seen.add(e.id);
      const before = s.sent.get(e.id);
      if (!before) snap.add.push([e.id, e.kind, q[1], q[2], q[3], e.name, ...q.slice(4)]);
      else if (q.some((v, i) => v !== before[i])) snap.upd.push(q);
      s.sent.set(e.id, q);
    }
    for (const id of s.sent.keys()) {
      if (!seen.has(id)) {
        snap.del.push(id);
        s.sent.delete(id);
      }
    }
    if (own) snap.you = [own.id, quantize(own.x, RULES.arena_w), quantize(own.y, RULES.arena_h), Math.round(own.mass)];
    else if (centre) snap.eye = centre.id;
    s.ws.send(encode(snap));
  }

  sendBoard(movers) {
    const top = movers
      .sort((a, b) => b.mass - a.mass)
      .slice(0, RULES.leaderboard_size)
      .map((m) => [m.name, Math.round(m.mass), m.id]);
    const board = { t: 'board', top, count: movers.length };
    if (this.fleet?.boards) {
      board.global = this.fleet.global();
      board.online = this.fleet.online();
    }
    const frame = encode(board);
    for (const s of this.sessions) s.ws?.send(frame);
  }

  // One `feed` a tick with every event of the tick, to every session.
  sendFeed() {
    if (!this.events.length) return;
    const frame = encode({ t: 'feed', tick: this.tickNo, ev: this.events });
    this.events = [];
    for (const s of this.sessions) s.ws?.send(frame);
  }

  // Test control: the named player hits a spike ball and loses 30% of its
  // mass (flags bit 1 in this tick's records, and a `feed` event).
  spike(name) {
    const session = [...this.sessions].find((s) => s.name === name && this.entities.has(s.marbleId));
    if (!session) return false;
    const m = this.entities.get(session.marbleId);
    const loss = Math.max(1, Math.round(m.mass * RULES.obstacle_loss));
    m.mass -= loss;
    m.spiked = true;
    this.events.push(['spike', m.id, m.name, 0, '', loss]);
    return true;
  }

  // Test control: a zombie comes 200 units from the named player's
  // marble, turned away from it, and boosts for the next `ticks` ticks.
  boostZombieNear(name, ticks) {
    const session = [...this.sessions].find((s) => s.name === name && this.entities.has(s.marbleId));
    const zombie = [...this.entities.values()].find((e) => e.kind === KIND.ZOMBIE);
    if (!session || !zombie) return false;
    const m = this.entities.get(session.marbleId);
    const side = m.x < RULES.arena_w / 2 ? 1 : -1;
    Object.assign(zombie, { x: m.x + side * 200, y: m.y, vx: 0, vy: 0, angle: Math.PI / 2, boostTicks: ticks });
    return true;
  }

  // Test control: a zombie other than the marble `id` stops (dx, dy) from
  // it (mirrored at the arena's edge) and stays there. Returns that zombie's id, or 0.
  holdZombieNear(id, dx, dy) {
    const m = this.entities.get(id);
    const zombie = [...this.entities.values()].find((e) => e.kind === KIND.ZOMBIE && e.id !== id);
    if (!m || !zombie) return 0;
    // Mirrored where the offset would leave the arena.
    const x = m.x + dx >= 0 && m.x + dx <= RULES.arena_w ? m.x + dx : m.x - dx;
    const y = m.y + dy >= 0 && m.y + dy <= RULES.arena_h ? m.y + dy : m.y - dy;
    Object.assign(zombie, { x, y, vx: 0, vy: 0, held: true });
    return zombie.id;
  }

  leader() {
    let best = null;
    for (const e of this.entities.values()) {
      if ((e.kind === KIND.PLAYER || e.kind === KIND.ZOMBIE) && (!best || e.mass > best.mass)) best = e;
    }
    return best;
  }

  forget(session) {
    this.entities.delete(session.marbleId);
    this.sessions.delete(session);
  }

  byToken(token) {
    for (const s of this.sessions) if (s.token === token) return s;
    return null;
  }

  movers() {
    return [...this.entities.values()].filter((e) => e.kind === KIND.PLAYER || e.kind === KIND.ZOMBIE);
  }

  online() {
    return [...this.sessions].filter((s) => s.ws?.readyState === WebSocket.OPEN).length;
  }

  // Test control: every player's session and marble, for assertions.
  players() {
    return [...this.sessions].map((s) => {
      const marble = this.entities.get(s.marbleId);
      return { name: s.name, session: s.id, connected: s.ws?.readyState === WebSocket.OPEN, mass: Math.round(marble?.mass ?? 0), angle: marble?.angle ?? null, boosting: Boolean(marble?.boosting) };
    });
  }

  // Test control: this node shuts down and moves every connected player to
  // `to` with its name, mass and alive state (PROTOCOL.md why: drain).
  drainTo(to) {
    for (const s of [...this.sessions]) {
      if (s.ws?.readyState !== WebSocket.OPEN) continue;
      const marble = this.entities.get(s.marbleId);
      const seat = this.fleet.reserve(to, { name: s.name, mass: marble ? marble.mass : 0, alive: Boolean(marble) });
      s.ws.send(encode({ t: 'moved', url: to.wsUrl, seat, why: 'drain' }));
      s.ws.close(4003, 'moved');
      s.ws = null;
      this.forget(s);
    }
  }

  // Test control: send the named player a `moved` to any URL with a seat
  // nobody issued. Its session stays here, resumable with its token.
  sendMoved(name, url, why = 'drain') {
    const s = [...this.sessions].find((x) => x.name === name && x.ws);
    if (!s) return false;
    s.ws.send(encode({ t: 'moved', url, seat: randomBytes(16).toString('hex'), why }));
    s.ws.close(4003, 'moved');
    return true;
  }

  // Test control: an operator removes the named player (PROTOCOL.md kicked).
  kick(name, why) {
    const s = [...this.sessions].find((x) => x.name === name && x.ws);
    if (!s) return false;
    s.ws.send(encode({ t: 'error', code: 'kicked', msg: why }));
    s.ws.close(4004, 'kicked');
    s.ws = null;
    this.forget(s);
    return true;
  }

  // Test control: the biggest zombie busts the named player.
  bust(name) {
    const session = [...this.sessions].find((s) => s.name === name && this.entities.has(s.marbleId));
    if (!session) return false;
    const victim = this.entities.get(session.marbleId);
    const killer = this.leader();
    this.entities.delete(victim.id);
    session.marbleId = 0;
    session.ws?.send(encode({ t: 'died', tick: this.tickNo, by: killer.id, name: killer.name, mass: Math.round(victim.mass) }));
    this.events.push(['bust', victim.id, victim.name, killer.id, killer.name, Math.round(victim.mass)]);
    return true;
  }

  // Test control: cut every connection without a close handshake.
  dropConnections() {
    for (const s of this.sessions) s.ws?.terminate();
  }

  // Test control: what a stopping server says to every connection.
  shutdown() {
    for (const s of this.sessions) {
      s.ws?.send(encode({ t: 'error', code: 'shutdown', msg: 'server stopping' }));
      s.ws?.close(1001, 'shutdown');
    }
  }

  // Test control: end the grace period of every session whose connection
  // is gone or going (dropConnections closes asynchronously).
  expireTokens() {
    for (const s of this.sessions) if (s.ws?.readyState !== WebSocket.OPEN) this.forget(s);
  }

  // Test control: the names of the players with a marble.
  playerNames() {
    return [...this.sessions].filter((s) => this.entities.has(s.marbleId)).map((s) => s.name);
  }
}

// PROTOCOL.md heading: 256 steps a turn.
function heading256(angle) {
  const turn = 2 * Math.PI;
  return Math.round((((angle % turn) + turn) % turn / turn) * 256) % 256;
}

function quantize(v, extent) {
  return Math.round((Math.min(Math.max(v, 0), extent) / extent) * 65535);
}

// Smooth value noise, a few octaves, like ecs/terrain.go (not bit-equal).
function makeTerrain(n, random) {
  const raw = new Float64Array(n * n);
  let amp = 1;
  for (let lattice = 4; lattice <= 32; lattice *= 2, amp /= 2) {
    const side = lattice + 1;
    const values = Array.from({ length: side * side }, random);
    for (let y = 0; y < n; y++) {
      const fy = (y / (n - 1)) * lattice;
      const y0 = Math.min(Math.floor(fy), lattice - 1);
      const ty = smoothstep(fy - y0);
      for (let x = 0; x < n; x++) {
        const fx = (x / (n - 1)) * lattice;
        const x0 = Math.min(Math.floor(fx), lattice - 1);
        const tx = smoothstep(fx - x0);
        const top = values[y0 * side + x0] + (values[y0 * side + x0 + 1] - values[y0 * side + x0]) * tx;
        const bottom = values[(y0 + 1) * side + x0] + (values[(y0 + 1) * side + x0 + 1] - values[(y0 + 1) * side + x0]) * tx;
        raw[y * n + x] += amp * (top + (bottom - top) * ty);
      }
    }
  }
  const lo = Math.min(...raw);
  const hi = Math.max(...raw);
  const heights = Uint8Array.from(raw, (v) => Math.round(((v - lo) / (hi - lo)) * 255));
  const cellW = RULES.arena_w / (n - 1);
  const cellH = RULES.arena_h / (n - 1);
  const at = (x, y) => heights[Math.min(Math.max(y, 0), n - 1) * n + Math.min(Math.max(x, 0), n - 1)] / 255;
  return {
    heights,
    slope(px, py) {
      const gx = Math.min(Math.max(px / cellW, 0), n - 1);
      const gy = Math.min(Math.max(py / cellH, 0), n - 1);
      const x0 = Math.min(Math.floor(gx), n - 2);
      const y0 = Math.min(Math.floor(gy), n - 2);
      const fx = gx - x0;
      const fy = gy - y0;
      return [
        ((at(x0 + 1, y0) - at(x0, y0)) * (1 - fy) + (at(x0 + 1, y0 + 1) - at(x0, y0 + 1)) * fy) / cellW,
        ((at(x0, y0 + 1) - at(x0, y0)) * (1 - fx) + (at(x0 + 1, y0 + 1) - at(x0 + 1, y0)) * fx) / cellH,
      ];
    },
  };
}

function smoothstep(t) {
  return t * t * (3 - 2 * t);
}

function mulberry32(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const webDir = fileURLToPath(new URL('../dist/', import.meta.url));
  const ports = process.argv.length > 2 ? process.argv.slice(2).map(Number) : [4000];
  const fleet = ports.length > 1 ? new MockFleet() : null;
  if (fleet) fleet.boards = true;
  for (const [i, port] of ports.entries()) {
    const mock = await startMockServer({ webDir, port, fleet, seed: 7 + i });
    console.log(`mock Shatter server at ${mock.url}`);
  }
}
