// Unit tests of the client's timing logic: snapshot interpolation, the tick
// clock and the prediction's reconciliation. No browser needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EntityTable, Kind } from '../src/interp.js';
import { TickClock } from '../src/clock.js';
import { Predictor } from '../src/predict.js';
import { Terrain } from '../src/terrain.js';
import { makeRules } from '../src/rules.js';

const Q = 65535;

test('entities are interpolated between snaps and held at the ends', () => {
  const table = new EntityTable();
  table.reset(1000, 1000);
  table.applySnap({ tick: 10, add: [[7, Kind.ZOMBIE, 0, 0, 20, 'z']] });
  table.applySnap({ tick: 12, upd: [[7, Q / 10, Q / 5, 30]] });
  const at = (tick) => [...table.at(tick)][0];
  assert.deepEqual(at(11), { id: 7, kind: Kind.ZOMBIE, name: 'z', x: 50, y: 100, mass: 25 });
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
