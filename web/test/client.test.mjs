// Unit tests of the client's timing logic: snapshot interpolation, the tick
// clock and the prediction's reconciliation. No browser needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EntityTable, Kind } from '../src/interp.js';
import { TickClock } from '../src/clock.js';
import { Predictor } from '../src/predict.js';
import { Terrain } from '../src/terrain.js';
import { makeRules } from '../src/rules.js';
import { FeedState, feedText, FEED_SIZE, FEED_SHOW_MS } from '../src/feed.js';
import { BoardState } from '../src/board.js';
import { WatchRequests, WATCH_INTERVAL_MS, marbleAt } from '../src/watch.js';
import { matchTime, readStatus, SPEEDS } from '../src/replay.js';

const Q = 65535;

test('entities are interpolated between snaps and held at the ends', () => {
  const table = new EntityTable();
  table.reset(1000, 1000);
  table.applySnap({ tick: 10, add: [[7, Kind.ZOMBIE, 0, 0, 20, 'z']] });
  table.applySnap({ tick: 12, upd: [[7, Q / 10, Q / 5, 30]] });
  const at = (tick) => [...table.at(tick)][0];
  const { id, kind, name, x, y, mass } = at(11);
  assert.deepEqual({ id, kind, name, x, y, mass }, { id: 7, kind: Kind.ZOMBIE, name: 'z', x: 50, y: 100, mass: 25 });
  assert.equal(at(9).x, 0, 'before the first sample it holds the first');
  assert.equal(at(20).x, 100, 'after the last sample it holds the last');
});

test('an entity that rested does not drift toward its next move', () => {
  const table = new EntityTable();
  table.reset(1000, 1000);
  table.applySnap({ tick: 1, add: [[3, Kind.PLAYER, 0, 0, 20, 'p']] });
  table.applySnap({ tick: 5 }); // unchanged through tick 5
  table.applySnap({ tick: 6, upd: [[3, Q / 10, 0, 20]] });
  const x = (tick) => [...table.at(tick)][0].x;
  assert.equal(x(4), 0);
  assert.equal(x(5.5), 50);
});

test('a removed entity stays until the render time reaches its removal', () => {
  const table = new EntityTable();
  table.reset(1000, 1000);
  table.applySnap({ tick: 1, add: [[4, Kind.FRAGMENT, 10, 10, 1, '']] });
  table.applySnap({ tick: 4, del: [4] });
  table.prune(3.5);
  assert.equal(table.entities.size, 1);
  table.prune(4);
  assert.equal(table.entities.size, 0);
});

test('the tick clock follows arrivals and shrugs off a late one', () => {
  const clock = new TickClock();
  clock.reset(30);
  for (let tick = 100; tick < 130; tick++) clock.observe(tick, ((tick - 100) * 1000) / 30);
  assert.ok(Math.abs(clock.now(1000) - 130) < 0.01);
  clock.observe(130, 1000 + 60); // two ticks late
  assert.ok(Math.abs(clock.now(1000) - 130) < 0.1);
});

test('reconciling with a server that runs the same rules needs no correction', () => {
  const rules = makeRules({});
  const n = 9;
  const heights = Uint8Array.from({ length: n * n }, (_, i) => (i * 37) % 256);
  const terrain = new Terrain({ n, h: heights }, rules.arena_w, rules.arena_h);
  // The "server" is a predictor with no pending inputs, stepped by hand.
  const server = new Predictor(rules, terrain);
  server.state = { tick: 0, x: 1500, y: 1500, vx: 0, vy: 0 };
  server.mass = 20;
  const client = new Predictor(rules, terrain);
  const lead = 3; // ticks the client runs ahead of the snaps it has
  let seq = 0;
  const inputs = new Map(); // apply tick -> wish
  for (let tick = 1; tick <= 90; tick++) {
    if (tick % 10 === 0) {
      seq++;
      const wish = { angle: seq * 0.3, boost: seq % 2 === 0 };
      client.inputSent(seq, wish.angle, wish.boost, tick + lead);
      inputs.set(tick + lead, { seq, ...wish });
    }
    const input = inputs.get(tick);
    if (input) server.acked = input;
    server.step(server.state, server.acked);
    server.state.tick = tick;
    const quantized = (v) => (Math.round((v / rules.arena_w) * Q) / Q) * rules.arena_w;
    client.reconcile(tick, server.acked.seq ?? 0, quantized(server.state.x), quantized(server.state.y), 20, tick + lead);
  }
  assert.ok(client.largestCorrection < 0.5, `largest correction ${client.largestCorrection}`);
  assert.ok(Math.hypot(server.state.x - 1500, server.state.y - 1500) > 100, 'the marble went somewhere');
});

test('a held boost is sent again every BOOST_REFRESH_MS; a still heading without boost is not', async () => {
  globalThis.window ??= { addEventListener() {}, innerWidth: 800, innerHeight: 600 };
  const { Steering, BOOST_REFRESH_MS } = await import('../src/input.js');
  const steering = new Steering({ addEventListener() {} });
  steering.keyBoost = true;
  assert.deepEqual(steering.due(0, false), { angle: 0, boost: true }, 'the first wish');
  assert.equal(steering.due(BOOST_REFRESH_MS - 1, false), null, 'unchanged, not yet due');
  assert.deepEqual(steering.due(BOOST_REFRESH_MS, false), { angle: 0, boost: true }, 'the held boost again');
  steering.keyBoost = false;
  assert.deepEqual(steering.due(2 * BOOST_REFRESH_MS, false), { angle: 0, boost: false }, 'the release');
  assert.equal(steering.due(10 * BOOST_REFRESH_MS, false), null, 'no boost: nothing to refresh');
});

test('marble records carry heading and flags by position; extra elements are ignored', () => {
  const table = new EntityTable();
  table.reset(1000, 1000);
  table.applySnap({
    tick: 1,
    add: [
      [1, Kind.PLAYER, 0, 0, 20, 'p', 64, 1, 'later', 99], // heading a quarter turn, boosting
      [2, Kind.ZOMBIE, 0, 0, 20, 'z'], // an older server: neither
      [3, Kind.FRAGMENT, 0, 0, 1, ''],
    ],
  });
  const byId = (tick) => new Map([...table.at(tick)].map((e) => [e.id, e]));
  let e = byId(1);
  assert.ok(Math.abs(e.get(1).heading - Math.PI / 2) < 1e-9);
  assert.equal(e.get(1).boosting, true);
  assert.ok(e.get(1).trail, 'a boosting marble has a trail');
  assert.equal(e.get(1).spikeAge, Infinity, 'never hit a spike ball');
  assert.equal(e.get(2).heading, null, 'no heading from an older server');
  assert.equal(e.get(2).boosting, false);
  assert.equal(e.get(3).heading, undefined, 'fragments have none');

  // A spike hit in tick 2 (bit 1), boost over; upd without the new
  // fields (an older server) keeps what was known.
  table.applySnap({ tick: 2, upd: [[1, 10, 10, 14, 128, 2, 'x'], [2, 5, 5, 20]] });
  e = byId(3);
  assert.ok(Math.abs(e.get(1).heading - Math.PI) < 1e-9);
  assert.equal(e.get(1).boosting, false);
  assert.equal(e.get(1).trail, null);
  assert.equal(e.get(1).spikeAge, 1, 'the hit was one tick before the render time');
  assert.equal(e.get(2).heading, null);
  // A later upd without the spike bit does not forget when it was.
  table.applySnap({ tick: 4, upd: [[1, 20, 20, 14, 128, 0]] });
  assert.equal(byId(4).get(1).spikeAge, 2);
});

test('feed events read as the kill feed, the last five kept, unknown ones skipped', () => {
  assert.equal(feedText(['bust', 9, 'Flint', 4, 'Crusher', 34]), 'Crusher busted Flint (34)');
  assert.equal(feedText(['spike', 5, 'Opal', 0, '', 52]), 'Opal hit a spike ball (-52)');
  assert.equal(feedText(['meteor', 5, 'Opal', 0, '', 52]), '');
  assert.equal(feedText('bust'), '');
  const feed = new FeedState();
  const added = feed.update({ t: 'feed', tick: 1, ev: [['bust', 1, 'A', 2, 'B', 10], ['nonsense'], ['spike', 3, 'C', 0, '', 7, 'later']] }, 0);
  assert.deepEqual(added.map((l) => l.text), ['B busted A (10)', 'C hit a spike ball (-7)']);
  for (let i = 0; i < 6; i++) feed.update({ t: 'feed', ev: [['spike', i, `M${i}`, 0, '', i]] }, 100 + i);
  assert.equal(feed.lines.length, FEED_SIZE);
  assert.equal(feed.lines.at(-1).text, 'M5 hit a spike ball (-5)');
  assert.equal(feed.visible(105 + FEED_SHOW_MS).length, 0, 'they fade away');
  assert.equal(feed.update({ t: 'feed' }, 0).length, 0, 'a feed without ev adds nothing');
});

test('board rows keep the marble id when the server sends one', () => {
  const board = new BoardState();
  board.update({ top: [['Crusher', 90, 12], ['Old', 40], ['bad']], count: 3 }, 0);
  assert.deepEqual(board.top, [['Crusher', 90, 12], ['Old', 40]]);
});

test('watch requests are sent at most twice a second, the latest wish winning', () => {
  const watch = new WatchRequests();
  assert.equal(watch.due(0), null, 'nothing wished');
  watch.want(5);
  assert.equal(watch.due(0), 5);
  watch.want(6);
  watch.want(7);
  assert.equal(watch.due(WATCH_INTERVAL_MS - 1), null, 'too soon');
  assert.equal(watch.due(WATCH_INTERVAL_MS), 7, 'the latest click');
  assert.equal(watch.due(3 * WATCH_INTERVAL_MS), null, 'sent once');
  watch.want(-1);
  watch.want(1.5);
  assert.equal(watch.due(10 * WATCH_INTERVAL_MS), null, 'not an id');
});

test('a click picks the nearest marble under it, with a little slack for small ones', () => {
  const drawn = [{ id: 1, sx: 100, sy: 100, r: 30 }, { id: 2, sx: 140, sy: 100, r: 5 }, { id: 3, sx: 400, sy: 400, r: 10 }];
  assert.equal(marbleAt(drawn, 135, 100).id, 2);
  assert.equal(marbleAt(drawn, 90, 100).id, 1);
  assert.equal(marbleAt(drawn, 415, 400).id, 3, 'within the slack');
  assert.equal(marbleAt(drawn, 600, 600), null);
});

test('a finger steers but does not boost; the boost button does', async () => {
  globalThis.window ??= { addEventListener() {}, innerWidth: 800, innerHeight: 600 };
  const { Steering } = await import('../src/input.js');
  const handlers = {};
  const steering = new Steering({ addEventListener: (type, fn) => (handlers[type] = fn) });
  let touched = 0;
  steering.onTouch = () => touched++;
  const cx = window.innerWidth / 2;
  const cy = window.innerHeight / 2;
  handlers.pointerdown({ pointerType: 'touch', clientX: cx, clientY: cy + 100 });
  assert.equal(steering.boost, false, 'a touch only steers');
  assert.ok(Math.abs(steering.angle - Math.PI / 2) < 1e-9, 'toward the finger');
  handlers.pointermove({ pointerType: 'touch', clientX: cx - 100, clientY: cy });
  assert.ok(Math.abs(steering.angle - Math.PI) < 1e-9, 'following the finger');
  assert.equal(touched, 1);
  steering.holdButton(true);
  assert.equal(steering.boost, true);
  steering.holdButton(false);
  assert.equal(steering.boost, false);
  handlers.pointerdown({ pointerType: 'mouse', clientX: cx + 10, clientY: cy });
  assert.equal(steering.boost, true, 'a mouse button still boosts');
});

test('a recording shows its match time as m:ss, or h:mm:ss from an hour on', () => {
  assert.equal(matchTime(0, 30), '0:00');
  assert.equal(matchTime(29, 30), '0:00');
  assert.equal(matchTime(2400, 30), '1:20');
  assert.equal(matchTime(30 * 3599, 30), '59:59');
  assert.equal(matchTime(30 * 3600 + 30 * 65, 30), '1:01:05');
  assert.equal(matchTime(-5, 30), '0:00');
});

test('the replay status is read as the server sends it, and as much of a bad one as can be', () => {
  assert.deepEqual(readStatus({ t: 'replay', tick: 900, last: 2400, speed: 0.25, paused: true, players: [[41, 'Flint'], [7, 'Opal', 'later']] }), {
    tick: 900,
    last: 2400,
    speed: 0.25,
    paused: true,
    players: [
      { id: 41, name: 'Flint' },
      { id: 7, name: 'Opal' },
    ],
  });
  assert.deepEqual(readStatus({ t: 'replay', tick: 'x', players: [null, ['a', 'b'], [3]] }), {
    tick: 0,
    last: 0,
    speed: 1,
    paused: false,
    players: [{ id: 3, name: '' }],
  });
  assert.deepEqual(SPEEDS, [0.25, 0.5, 1, 2, 4, 8], 'the speeds PROTOCOL.md allows, 0.25 to 8');
});
