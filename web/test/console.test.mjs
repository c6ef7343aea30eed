// End-to-end: the operator's console in Chromium against a real two-node
// fleet (redis-server and two `shatter-server -redis` nodes, all on free
// loopback ports), when SHATTER_SERVER_BIN names the server binary;
// skipped otherwise (the console has no mock). The page is opened on node
// a's admin listener; it must list both nodes and the arenas with live
// figures, show a player who joins (the game client in another tab), cut
// a clip of an arena of each node, kick that player (the client is told, for good) and drain node
// b (it shows as draining, and a player on b is moved to a), and show an
// event when node b stops. The kick and drain tests skip on a server
// without the admin actions.
// Actions go through act(), which accepts the page's confirm() and returns
// the answer the page shows, so each new action is a few lines. Every
// wait is bounded; the fleet is stopped by pid.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const DIST_DIR = fileURLToPath(new URL('../dist', import.meta.url));
const OUTPUT_DIR = fileURLToPath(new URL('../test-output', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const SERVER_BIN = process.env.SHATTER_SERVER_BIN ? resolve(process.env.SHATTER_SERVER_BIN) : '';
const REAL_ONLY = { skip: SERVER_BIN ? false : 'needs the real server and redis-server (SHATTER_SERVER_BIN)' };
const WATCHDOG_MS = 90_000;
const WAIT_MS = 15_000;
const ACTION_MS = 30_000;

const children = []; // every process started here, stopped in after()
let nodes; // { a, b }: { id, admin, public, child }
let context;
let page;
let player; // the game client's page
let playerNode; // the node it plays on
let profileDir;
let tmp;
const pageErrors = [];

const watchdog = setTimeout(() => {
  console.error(`console e2e: still running after ${WATCHDOG_MS} ms, giving up`);
  for (const c of children) c.kill('SIGKILL');
  process.exit(1);
}, WATCHDOG_MS);
watchdog.unref();
// However this process ends, nothing started here outlives it.
process.once('exit', () => children.forEach((c) => c.kill('SIGKILL')));

before(async () => {
  if (!SERVER_BIN) return;
  tmp = await mkdtemp(join(tmpdir(), 'shatter-console-'));
  const redisPort = await freePort();
  start('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmp, '--daemonize', 'no']);
  await waitForPort(redisPort);
  const node = async (id) => {
    const [pub, admin] = [await freePort(), await freePort()];
    const child = start(SERVER_BIN, [
      '-addr', `127.0.0.1:${pub}`, '-admin-addr', `127.0.0.1:${admin}`, '-web-dir', DIST_DIR,
      '-redis', `redis://127.0.0.1:${redisPort}`, '-node-id', id, '-clip-dir', join(tmp, `clips-${id}`),
      '-drain-timeout', '3s', '-admin-token', 'console-test',
    ]);
    await waitForHealthy(`http://127.0.0.1:${pub}/healthz`, child);
    return { id, child, admin: `http://127.0.0.1:${admin}`, public: `http://127.0.0.1:${pub}` };
  };
  nodes = { a: await node('console-a'), b: await node('console-b') };

  profileDir = await mkdtemp(join(tmpdir(), 'shatter-console-chromium-'));
  context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 900 },
    timeout: 20_000,
    acceptDownloads: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(WAIT_MS);
  page.on('pageerror', (err) => pageErrors.push(err.message));
  // A 404 is how an endpoint this node lacks answers (the page says so):
  // not an error of the page.
  page.on('console', (msg) => msg.type() === 'error' && !/status of 404/.test(msg.text()) && pageErrors.push(msg.text()));
  // The token in the fragment is how an operator opens a token-protected
  // console; the nodes run with -admin-token console-test.
  await page.goto(`${nodes.a.admin}/#token=console-test&user=e2e`);
});

after(async () => {
  clearTimeout(watchdog);
  await context?.close().catch(() => {});
  for (const c of children.reverse()) await stop(c);
  for (const d of [profileDir, tmp]) if (d) await rm(d, { recursive: true, force: true });
});

test('the console lists both nodes and the arenas with live figures', REAL_ONLY, async () => {
  assert.equal(await page.title(), 'Shatter console');
  assert.equal(new URL(page.url()).hash, '', 'the token left the address bar');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('shatter-admin-token')), 'console-test');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('shatter-admin-user')), 'e2e');
  await page.waitForFunction(() => window.__console.connected);
  for (const n of Object.values(nodes)) await page.waitForSelector(`#nodes tr[data-node="${n.id}"]`);
  assert.match(await page.textContent(`#nodes tr[data-node="${nodes.a.id}"]`), /this node.*ready/);
  // Node a's arena with its figures; node b's from its lease, with its
  // figures too.
  const row = `#arenas tr[data-arena="${nodes.a.id}/0"]`;
  await page.waitForSelector(row);
  const other = `#arenas tr[data-arena^="${nodes.b.id}/"]`;
  await page.waitForSelector(other);
  await page.waitForFunction((sel) => Number(document.querySelector(`${sel} td:nth-child(5)`)?.textContent) > 0 && Number(document.querySelector(`${sel} td:nth-child(7)`)?.textContent) > 0, other);
  const tick = async () => Number(await page.textContent(`${row} td:nth-child(5)`));
  const first = await tick();
  const seen = await page.evaluate(() => window.__console.messages);
  await page.waitForFunction((n) => window.__console.messages >= n + 2, seen);
  const later = await tick();
  assert.ok(later > first, `the arena's tick moves between stream messages: ${first} then ${later}`);
  const p99 = Number(await page.textContent(`${row} td:nth-child(7)`));
  assert.ok(p99 > 0, `tick p99 shown: ${p99}`);
  // The chart has been drawn from the stream: some pixels are lit.
  const lit = await page.$eval(`${row} canvas`, (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) n += d[i] > 0 ? 1 : 0;
    return n;
  });
  assert.ok(lit > 50, `the tick chart is drawn (${lit} pixels)`);
  // The first message carried the event log: the arena's start is in it.
  assert.ok(await page.$('#events li[data-kind="arena_started"]'), 'arena_started in the recent events');
  await mkdir(OUTPUT_DIR, { recursive: true });
  await page.screenshot({ path: join(OUTPUT_DIR, 'console.png'), fullPage: true });
  assert.deepEqual(pageErrors, []);
});

test('a player joining shows in the arena and the sessions', REAL_ONLY, async () => {
  // The game client in a second tab: its session is what the kick test
  // (once the kick endpoint is there) will kick.
  player = await context.newPage();
  player.setDefaultTimeout(WAIT_MS);
  player.on('pageerror', (err) => pageErrors.push(`player: ${err.message}`));
  await player.goto(`${nodes.a.public}/`);
  await player.fill('#name', 'Operand');
  await player.click('#play');
  await player.waitForFunction(() => window.__shatter.alive && window.__shatter.connection === 'open');
  // /join seats the player on whichever node has room: find which.
  const wsPort = new URL(await player.evaluate(() => window.__shatter.server)).port;
  playerNode = Object.values(nodes).find((n) => new URL(n.public).port === wsPort);
  assert.ok(playerNode, `the player plays on a node of the fleet (port ${wsPort})`);
  // Its arena (on this node or, from its lease, on the other) counts the
  // session and shows its bytes out a second: the player's snapshots.
  const arena = `#arenas tr[data-arena^="${playerNode.id}/"]`;
  await page.waitForFunction((sel) => document.querySelector(`${sel} td:nth-child(4)`)?.textContent === '1', arena);
  await page.waitForFunction(
    (sel) => /^[\d.]+ (B|KiB|MiB)$/.test(document.querySelector(`${sel} td:nth-child(9)`)?.textContent ?? '') && document.querySelector(`${sel} td:nth-child(9)`).textContent !== '0 B',
    arena,
  );
  await page.waitForSelector(`#nodes tr[data-node="${playerNode.id}"] td:nth-child(4):has-text("1 / ")`);
  // The fleet's leaderboard (zombies fill it; a new marble is too small
  // to be in its top rows).
  assert.ok((await page.$$('#board li')).length > 0, 'the leaderboard has rows');
  if (await page.evaluate(() => window.__console.sessionsAvailable)) {
    await page.waitForSelector('#sessions tr[data-session]:has-text("Operand")');
  }
  assert.deepEqual(pageErrors, []);
});

test('the console cuts a clip of an arena of either node and downloads it', REAL_ONLY, async () => {
  // Node b's arena is cut by b and comes to a's page through the directory.
  for (const node of [nodes.a.id, nodes.b.id]) {
    const [download, answer] = await Promise.all([
      page.waitForEvent('download'),
      act(`#arenas tr[data-arena="${node}/0"] button[data-action="clip"]`),
    ]);
    assert.match(download.suggestedFilename(), /^arena-0-seed-\d+-ticks-\d+-\d+\.replay$/);
    assert.ok(answer.ok, answer.text);
    assert.match(answer.text, new RegExp(`^clip of arena 0 of node ${node}: .*\\((\\d+) bytes\\)$`));
    const bytes = Number(answer.text.match(/\((\d+) bytes\)$/)[1]);
    assert.ok(bytes > 1000, `a clip of ${bytes} bytes`);
  }
});

test('endpoints this node lacks are reported, not broken on', REAL_ONLY, async () => {
  // GET /sessions and /bans come with the kick and ban actions: before
  // they exist the page says so; after, it lists them.
  await page.waitForFunction(() => window.__console.sessionsAvailable !== null);
  if (!(await page.evaluate(() => window.__console.sessionsAvailable))) {
    assert.match(await page.textContent('#sessions-note'), /not available on this server/);
  }
  assert.deepEqual(pageErrors, []);
});

test('the console kicks a session: the client is told and does not come back', REAL_ONLY, async (t) => {
  if (await needsActions(t)) return;
  // Sessions are listed by the console of the node that holds them.
  const on = await consoleOn(playerNode);
  const row = '#sessions tr[data-session]:has-text("Operand")';
  await on.waitForSelector(row);
  await on.fill('#kick-reason', 'console test');
  const answer = await act(`${row} button[data-action="kick"]`, on);
  assert.ok(answer.ok, `kick answered: ${answer.text}`);
  await player.waitForFunction(() => window.__shatter.connection === 'closed');
  assert.match(await player.textContent('#banner'), /Removed from the game: console test/);
  await on.waitForSelector(row, { state: 'detached' });
  // Final: the client does not reconnect by itself.
  await player.waitForTimeout(1500);
  assert.equal(await player.evaluate(() => window.__shatter.connection), 'closed');
  assert.deepEqual(pageErrors, []);
});

test('the console drains a node: it shows as draining, and its player moves', REAL_ONLY, async (t) => {
  if (await needsActions(t)) return;
  // A player on node b (its /join seats it there first).
  const mover = await context.newPage();
  mover.setDefaultTimeout(WAIT_MS);
  mover.on('pageerror', (err) => pageErrors.push(`mover: ${err.message}`));
  await mover.goto(`${nodes.b.public}/`);
  await mover.fill('#name', 'Drained');
  await mover.click('#play');
  await mover.waitForFunction(() => window.__shatter.alive && window.__shatter.connection === 'open');
  const portOf = async () => new URL(await mover.evaluate(() => window.__shatter.server)).port;
  assert.equal(await portOf(), new URL(nodes.b.public).port, 'the player plays on node b');
  // Node b, from node a's console: the command goes through the directory.
  const answer = await act(`#nodes tr[data-node="${nodes.b.id}"] button[data-action="drain"]`);
  assert.ok(answer.ok, `drain answered: ${answer.text}`);
  await page.waitForSelector(`#nodes tr[data-node="${nodes.b.id}"] td:nth-child(3):has-text("draining")`);
  await page.waitForSelector(`#events li[data-kind="node_draining"]:has-text("${nodes.b.id}")`);
  // From the client: it was moved to node a and plays on there.
  await mover.waitForFunction(
    (port) => new URL(window.__shatter.server).port === port && window.__shatter.connection === 'open' && window.__shatter.moves > 0,
    new URL(nodes.a.public).port,
  );
  assert.ok(await mover.evaluate(() => window.__shatter.alive), 'the moved player is alive on node a');
  await mover.close();
  assert.deepEqual(pageErrors, []);
});

test('a node that stops shows as an event', REAL_ONLY, async () => {
  await stop(nodes.b.child);
  const ev = await page.waitForSelector(`#events li:is([data-kind="node_left"], [data-kind="node_dead"]):has-text("${nodes.b.id}")`);
  assert.match(await ev.textContent(), new RegExp(`node ${nodes.b.id} (left the fleet|is dead)`));
  await page.waitForFunction((id) => !document.querySelector(`#nodes tr[data-node="${id}"]`), nodes.b.id);
  assert.deepEqual(pageErrors, []);
});

// act clicks an action's button on a console page (page by default),
// accepting its confirm() if it asks, and returns the answer the page
// shows for it: { text, ok }.
async function act(selector, on = page) {
  const before = await on.evaluate(() => window.__console.answers.length);
  await on.bringToFront(); // a background tab's frames are throttled
  const accept = (d) => d.accept();
  on.once('dialog', accept);
  await on.click(selector);
  // A drain answers once the node is empty: longer than a page wait.
  await on.waitForFunction((n) => window.__console.answers.length > n, before, { timeout: ACTION_MS });
  on.off('dialog', accept);
  return {
    text: await on.evaluate(() => window.__console.answers.at(-1)),
    ok: (await on.getAttribute('#answer', 'class')) === 'good',
  };
}

// consoleOn opens (once) a console page on a node's admin listener.
const consoles = new Map();
async function consoleOn(node) {
  if (node === nodes.a) return page;
  if (!consoles.has(node)) {
    const p = await context.newPage();
    p.setDefaultTimeout(WAIT_MS);
    p.on('pageerror', (err) => pageErrors.push(`console on ${node.id}: ${err.message}`));
    await p.goto(`${node.admin}/#token=console-test&user=e2e`);
    await p.waitForFunction(() => window.__console.connected);
    consoles.set(node, p);
  }
  return consoles.get(node);
}

// needsActions skips a test on a server without the admin actions.
async function needsActions(t) {
  await page.waitForFunction(() => window.__console.sessionsAvailable !== null);
  if (await page.evaluate(() => window.__console.sessionsAvailable)) return false;
  t.skip('this server has no admin actions (GET /sessions answers 404)');
  return true;
}

function start(bin, args) {
  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  child.exited = new Promise((r) => child.once('exit', r));
  children.push(child);
  return child;
}

async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 8000);
  await child.exited;
  clearTimeout(killer);
}

async function waitForHealthy(url, child) {
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with code ${child.exitCode}`);
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(1000) })).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server not healthy at ${url} within ${WAIT_MS} ms`);
}

async function waitForPort(port) {
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    const ok = await new Promise((res) => {
      const s = connect(port, '127.0.0.1', () => (s.end(), res(true)));
      s.once('error', () => res(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} within ${WAIT_MS} ms (is redis-server installed? scripts/install-deps.sh)`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}
