// Unit tests of the client's fleet logic (PROTOCOL.md "Fleet"): following
// `moved`, the 5 s fallback, the way back through the page's origin when a
// node is gone, bad_seat, kicked, idle, and the fleet's leaderboard. The
// Connection runs on fake sockets and a fake clock: no browser, no waiting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encode, decode } from '@msgpack/msgpack';
import { Connection, MOVE_TIMEOUT_MS, CLOSE_MOVED, CLOSE_KICKED } from '../src/net.js';
import { BoardState, FLEET_HOLD_MS } from '../src/board.js';

const HOME = 'ws://origin.test/ws';
const NODE_B = 'ws://b.test:4000/ws';
const NODE_C = 'ws://c.test:4000/ws';

// Timers on a clock that moves only when told to.
class FakeTime {
  constructor() {
    this.t = 0;
    this.timers = new Map();
    this.nextId = 1;
  }

  setTimeout(fn, ms) {
    const id = this.nextId++;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(id) {
    this.timers.delete(id);
  }

  // Runs every timer due within ms, in time order, then sets the clock.
  advance(ms) {
    const end = this.t + ms;
    for (;;) {
      let next = null;
      for (const [id, timer] of this.timers) if (timer.at <= end && (!next || timer.at < next[1].at)) next = [id, timer];
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
    this.t = end;
  }
}

// A socket the test plays the server of: accept() opens it, say() sends a
// message, drop() and end() close it.
function fakeSockets() {
  const sockets = [];
  class FakeSocket {
    constructor(url) {
      this.url = url;
      this.readyState = 0;
      this.sent = [];
      this.closedByClient = false;
      sockets.push(this);
    }

    send(bytes) {
      this.sent.push(decode(bytes));
    }

    close() {
      this.closedByClient = true;
      this.readyState = 3;
    }

    accept() {
      this.readyState = 1;
      this.onopen?.();
    }

    say(msg) {
      const bytes = encode(msg);
      this.onmessage?.({ data: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) });
    }

    // Unreachable, refused or cut: the browser's close without a handshake.
    drop() {
      this.end(1006, '');
    }

    end(code, reason) {
      this.readyState = 3;
      this.onclose?.({ code, reason });
    }
  }
  return { FakeSocket, sockets };
}

function setup() {
  const time = new FakeTime();
  const { FakeSocket, sockets } = fakeSockets();
  const states = [];
  const messages = [];
  const env = {
    WebSocket: FakeSocket,
    now: () => time.t,
    random: () => 0.5, // no jitter
    setTimeout: (fn, ms) => time.setTimeout(fn, ms),
    clearTimeout: (id) => time.clearTimeout(id),
    setInterval: () => 0, // the silence watchdog is not under test here
  };
  const conn = new Connection(HOME, 'Tester', { message: (m) => messages.push(m), state: (s, d) => states.push([s, d]) }, env);
  const last = () => sockets.at(-1);
  // Accepts the newest socket and welcomes it.
  const welcome = (session, token) => {
    last().accept();
    last().say({ t: 'welcome', v: 1, session, token });
  };
  return { time, sockets, states, messages, conn, last, welcome };
}

const hello = (socket) => socket.sent.find((m) => m.t === 'hello');
const moved = (url, seat, why) => ({ t: 'moved', url, seat, why });

test('a moved player connects to the new node with the seat, no token, and keeps the latest token', () => {
  const { conn, sockets, last, welcome, states } = setup();
  conn.start();
  welcome(1, 'tok-a');
  assert.deepEqual(hello(sockets[0]), { t: 'hello', v: 1, name: 'Tester' });

  sockets[0].say(moved(NODE_B, 'seat-1', 'drain'));
  assert.ok(sockets[0].closedByClient, 'the old connection is let go at once');
  assert.equal(sockets.length, 2);
  assert.equal(last().url, NODE_B);
  assert.equal(conn.state, 'moving');
  assert.deepEqual(states.at(-1), ['moving', { why: 'drain', url: NODE_B }]);
  last().accept();
  assert.deepEqual(hello(last()), { t: 'hello', v: 1, name: 'Tester', seat: 'seat-1' });
  // The close 4003 of the old node is not waited for, and changes nothing.
  sockets[0].onclose?.({ code: CLOSE_MOVED, reason: 'moved' });
  assert.equal(sockets.length, 2);

  last().say({ t: 'welcome', v: 1, session: 9, token: 'tok-b' });
  assert.equal(conn.state, 'open');
  assert.deepEqual(states.at(-1), ['open', { url: NODE_B }]);
  assert.equal(conn.token, 'tok-b');
  assert.equal(conn.server, NODE_B);
  assert.equal(conn.moves, 1);
  assert.equal(conn.reconnects, 0, 'a move is not a reconnect');
  assert.ok(!states.some(([s]) => s === 'waiting' || s === 'reconnecting' || s === 'closed'), `states: ${states.map(([s]) => s)}`);

  // Dropped later, it resumes on the node it plays on now.
  last().drop();
  assert.equal(conn.state, 'waiting');
  assert.equal(conn.url, NODE_B);
});

test('a dropped player resumes on its node first, then through the page origin when the node is gone', () => {
  const { conn, time, sockets, last, welcome } = setup();
  conn.start();
  welcome(1, 'tok-a');
  sockets[0].say(moved(NODE_B, 'seat-1', 'full'));
  welcome(2, 'tok-b');

  last().drop(); // the node B connection breaks
  time.advance(backoffCeiling(1));
  assert.equal(last().url, NODE_B, 'first back to the node it played on');
  last().accept();
  assert.deepEqual(hello(last()), { t: 'hello', v: 1, name: 'Tester', token: 'tok-b' });
  last().say({ t: 'welcome', v: 1, session: 2, token: 'tok-b2' });
  assert.equal(conn.reconnects, 1, 'resumed on node B');
  assert.equal(conn.server, NODE_B);

  last().drop(); // node B dies: the connection breaks...
  time.advance(backoffCeiling(1));
  assert.equal(last().url, NODE_B);
  last().drop(); // ...and reconnecting to it fails
  time.advance(backoffCeiling(2));
  assert.equal(last().url, HOME, 'then to the page origin');
  last().accept();
  assert.deepEqual(hello(last()), { t: 'hello', v: 1, name: 'Tester', token: 'tok-b2' }, 'with the latest token');
  last().say({ t: 'welcome', v: 1, session: 7, token: 'tok-h' });
  assert.equal(conn.server, HOME);
  assert.equal(conn.token, 'tok-h');
  assert.equal(conn.state, 'open');
});

test('on a single node a failed reconnect keeps trying the same place, as before the fleet', () => {
  const { conn, time, sockets, last, welcome } = setup();
  conn.start();
  welcome(1, 'tok-a');
  last().drop();
  for (let attempt = 1; attempt <= 4; attempt++) {
    time.advance(backoffCeiling(attempt));
    assert.equal(last().url, HOME);
    last().drop();
  }
  time.advance(backoffCeiling(5));
  last().accept();
  assert.deepEqual(hello(last()), { t: 'hello', v: 1, name: 'Tester', token: 'tok-a' });
  last().say({ t: 'welcome', v: 1, session: 1, token: 'tok-a2' });
  assert.equal(conn.reconnects, 1);
  assert.equal(sockets.length, 6, 'the first, four failed retries, the one that worked');
});

test('a moved URL that cannot be reached for 5 s sends the client back where it came from, with its token', () => {
  const { conn, time, sockets, last, welcome, states } = setup();
  conn.start();
  welcome(1, 'tok-a');
  sockets[0].say(moved(NODE_B, 'seat-1', 'drain'));
  const tried = [];
  // NODE_B refuses every connection; the client keeps at it for 5 s.
  while (time.t < MOVE_TIMEOUT_MS && last().url === NODE_B) {
    tried.push(time.t);
    last().drop();
    time.advance(100);
    while (last().readyState === 3 && time.t < MOVE_TIMEOUT_MS) time.advance(100);
  }
  assert.ok(tried.length >= 2, `retried the moved URL (${tried.length} tries)`);
  assert.equal(last().url, HOME, 'back where it came from');
  assert.ok(time.t >= MOVE_TIMEOUT_MS && time.t <= MOVE_TIMEOUT_MS + 100, `after 5 s (${time.t} ms)`);
  assert.ok(!states.some(([s]) => s === 'waiting'), 'no "connection lost" while moving');
  last().accept();
  assert.deepEqual(hello(last()), { t: 'hello', v: 1, name: 'Tester', token: 'tok-a' });
  last().say({ t: 'welcome', v: 1, session: 1, token: 'tok-a2' });
  assert.equal(conn.server, HOME);
  assert.equal(conn.moves, 0);
});

test('after a chain of moves it goes back to the node that sent the last one', () => {
  const { conn, time, sockets, last, welcome } = setup();
  conn.start();
  welcome(1, 'tok-a');
  sockets[0].say(moved(NODE_B, 'seat-1', 'drain'));
  last().accept();
  last().say({ t: 'error', code: 'bad_seat', msg: 'expired' });
  last().say(moved(NODE_C, 'seat-2', 'full'));
  assert.equal(last().url, NODE_C);
  last().drop();
  time.advance(MOVE_TIMEOUT_MS);
  assert.equal(last().url, NODE_B, 'where the moved to C came from');
  last().accept();
  assert.deepEqual(hello(last()), { t: 'hello', v: 1, name: 'Tester', token: 'tok-a' });
});

test('a moved URL that hangs is abandoned at 5 s', () => {
  const { conn, time, sockets, last, welcome } = setup();
  conn.start();
  welcome(1, 'tok-a');
  sockets[0].say(moved(NODE_B, 'seat-1', 'resume'));
  const hanging = last(); // never opens
  time.advance(MOVE_TIMEOUT_MS);
  assert.ok(hanging.closedByClient);
  assert.equal(last().url, HOME);
  assert.equal(sockets.length, 3);
});

test('a moved URL that was reached gets its welcome even after 5 s', () => {
  const { conn, time, sockets, last, welcome } = setup();
  conn.start();
  welcome(1, 'tok-a');
  sockets[0].say(moved(NODE_B, 'seat-1', 'drain'));
  last().accept();
  time.advance(MOVE_TIMEOUT_MS + 500);
  assert.equal(sockets.length, 2, 'still waiting on node B');
  last().say({ t: 'welcome', v: 1, session: 3, token: 'tok-b' });
  assert.equal(conn.server, NODE_B);
  assert.equal(conn.moves, 1);
  // And one that closes without a welcome after the 5 s goes back at once.
  last().say(moved(NODE_C, 'seat-2', 'drain'));
  last().accept();
  time.advance(MOVE_TIMEOUT_MS + 10);
  last().drop();
  assert.equal(last().url, NODE_B, 'back where the second moved came from');
});

test('bad_seat: the node goes on with a new session, and a retry offers the seat no more', () => {
  const { conn, time, sockets, last, welcome, messages } = setup();
  conn.start();
  welcome(1, 'tok-a');
  sockets[0].say(moved(NODE_B, 'seat-old', 'drain'));
  last().accept();
  last().say({ t: 'error', code: 'bad_seat', msg: 'unknown seat' });
  assert.equal(conn.state, 'moving', 'nothing alarming: still on the way');
  assert.ok(messages.some((m) => m.code === 'bad_seat'), 'the page hears of it');
  last().drop(); // before the welcome
  time.advance(backoffCeiling(1));
  last().accept();
  assert.deepEqual(hello(last()), { t: 'hello', v: 1, name: 'Tester' });
  last().say({ t: 'error', code: 'bad_seat', msg: 'unknown seat' });
  last().say({ t: 'welcome', v: 1, session: 5, token: 'tok-new' });
  assert.equal(conn.state, 'open');
  assert.equal(conn.server, NODE_B);
  assert.equal(conn.token, 'tok-new');
});

test('moved instead of welcome (full, resume) is followed the same way, and a bounced client slows down', () => {
  const { conn, time, sockets, last } = setup();
  conn.start();
  last().accept();
  last().say(moved(NODE_B, 's1', 'full'));
  assert.equal(last().url, NODE_B);
  last().accept();
  last().say(moved(NODE_C, 's2', 'resume'));
  assert.equal(last().url, NODE_C);
  last().accept();
  last().say(moved(NODE_B, 's3', 'full'));
  assert.equal(sockets.length, 4, 'three moves in a row go at once');
  last().accept();
  last().say(moved(NODE_C, 's4', 'full'));
  assert.equal(sockets.length, 4, 'the fourth waits');
  assert.equal(conn.state, 'moving');
  time.advance(backoffCeiling(1));
  assert.equal(sockets.length, 5);
  last().accept();
  assert.deepEqual(hello(last()), { t: 'hello', v: 1, name: 'Tester', seat: 's4' });
  last().say({ t: 'welcome', v: 1, session: 1, token: 't' });
  assert.equal(conn.server, NODE_C);
  assert.equal(conn.unwelcomedMoves, 0);
});

test('a malformed moved is ignored: its close is a drop, and the client resumes where it was', () => {
  const { conn, time, sockets, last, welcome } = setup();
  conn.start();
  welcome(1, 'tok-a');
  sockets[0].say(moved('http://elsewhere/ws', 'seat', 'drain'));
  sockets[0].say({ t: 'moved', url: NODE_B });
  assert.equal(sockets.length, 1);
  sockets[0].end(CLOSE_MOVED, 'moved');
  time.advance(backoffCeiling(1));
  assert.equal(last().url, HOME);
  last().accept();
  assert.deepEqual(hello(last()), { t: 'hello', v: 1, name: 'Tester', token: 'tok-a' });
});

test('kicked: the error and close 4004 end the session for good', () => {
  const { conn, time, sockets, last, welcome, states } = setup();
  conn.start();
  welcome(1, 'tok-a');
  last().say({ t: 'error', code: 'kicked', msg: 'be nice' });
  last().end(CLOSE_KICKED, 'kicked');
  time.advance(60_000);
  assert.equal(sockets.length, 1, 'no reconnect');
  assert.equal(conn.state, 'closed');
  assert.deepEqual(states.at(-1), ['closed', { code: CLOSE_KICKED, reason: 'kicked' }]);

  // The close code alone is enough.
  const other = setup();
  other.conn.start();
  other.welcome(1, 'tok');
  other.last().end(CLOSE_KICKED, 'kicked');
  other.time.advance(60_000);
  assert.equal(other.sockets.length, 1);
  assert.equal(other.conn.state, 'closed');
});

test('a kick during a move cancels its 5 s fallback', () => {
  const { conn, time, sockets, last, welcome } = setup();
  conn.start();
  welcome(1, 'tok-a');
  sockets[0].say(moved(NODE_B, 'seat-1', 'drain'));
  last().accept();
  last().say({ t: 'error', code: 'kicked', msg: 'bye' });
  last().end(CLOSE_KICKED, 'kicked');
  time.advance(60_000);
  assert.equal(sockets.length, 2);
  assert.equal(conn.state, 'closed');
});

test('the board has no fleet column or count on a single node', () => {
  const board = new BoardState();
  board.update({ t: 'board', top: [['a', 50, 3], ['b', 40, 4]], count: 12 }, 0);
  assert.deepEqual(board.top, [['a', 50, 3], ['b', 40, 4]]);
  assert.equal(board.count, 12);
  assert.equal(board.global, null);
  assert.equal(board.online, null);
});

test('the fleet board shows global and online when sent, rides out a short gap, and goes after a long one', () => {
  const board = new BoardState();
  const global = Array.from({ length: 12 }, (_, i) => [`p${i}`, 100 - i]);
  board.update({ top: [['a', 50, 3]], count: 2, global, online: 340 }, 1000);
  assert.equal(board.global.length, 10, 'at most 10 rows');
  assert.deepEqual(board.global[0], ['p0', 100]);
  assert.equal(board.online, 340);

  board.update({ top: [], count: 2 }, 2000); // the server's copy went stale
  assert.equal(board.global.length, 10, 'kept through a short gap');
  assert.equal(board.online, 340);
  board.update({ top: [], count: 2, online: 341 }, 3000);
  assert.equal(board.online, 341);
  board.update({ top: [], count: 2 }, 1000 + FLEET_HOLD_MS + 1);
  assert.equal(board.global, null, 'gone after a long one');
  assert.equal(board.online, 341);
  board.update({ top: [], count: 2 }, 3000 + FLEET_HOLD_MS + 1);
  assert.equal(board.online, null);
});

test('board rows the client cannot read are skipped', () => {
  const board = new BoardState();
  board.update({ top: [['a', 5, 1], 'junk', [3, 4]], count: -1, global: [['x', 9], ['y'], null], online: 1.5 }, 0);
  assert.deepEqual(board.top, [['a', 5, 1]]);
  assert.equal(board.count, 0);
  assert.deepEqual(board.global, [['x', 9]]);
  assert.equal(board.online, null);
});

// The longest a retry after `attempt` failures waits (no jitter here).
function backoffCeiling(attempt) {
  return Math.min(8000, 500 * 2 ** (attempt - 1)) + 1;
}

test('idle: the client waits for the player instead of reconnecting, and wake() joins again as new', () => {
  const { conn, time, sockets, last, welcome, states } = setup();
  conn.start();
  welcome(1, 'tok-a');
  last().say({ t: 'error', code: 'idle', msg: 'no spawn, input or watch for 1m0s while not playing' });
  last().end(1008, '');
  time.advance(60_000);
  assert.equal(sockets.length, 1, 'no reconnect by itself');
  assert.equal(conn.state, 'asleep');
  assert.deepEqual(states.at(-1), ['asleep', { code: 1008, reason: '' }]);

  conn.wake();
  assert.equal(sockets.length, 2, 'wake connects again');
  welcome(2, 'tok-b');
  assert.equal(hello(last()).token, 'tok-a', 'the latest token is offered (the server answers resume_expired)');
  assert.equal(conn.state, 'open');
  conn.wake();
  assert.equal(sockets.length, 2, 'wake does nothing while awake');
});
