// End-to-end: Chromium watches a recorded match served by the real replay
// server (`shatter-replay -serve`, PROTOCOL.md "Replay viewer"): the page
// shows the controls, seeks, follows a player, and what it shows is read
// from the page. The binary is SHATTER_REPLAY_BIN, or shatter-replay beside
// SHATTER_SERVER_BIN (as `make test-web` builds them); without either the
// test is skipped (the mock server has no recordings to play).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const WEB_DIR = fileURLToPath(new URL('..', import.meta.url));
const DIST_DIR = join(WEB_DIR, 'dist');
const OUTPUT_DIR = join(WEB_DIR, 'test-output');
// The scripted players' match: 2,400 ticks at 30 a second.
const LOG = resolve(WEB_DIR, '../testdata/replays/players.replay');
const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const REPLAY_BIN = process.env.SHATTER_REPLAY_BIN
  ? resolve(process.env.SHATTER_REPLAY_BIN)
  : process.env.SHATTER_SERVER_BIN
    ? join(dirname(resolve(process.env.SHATTER_SERVER_BIN)), 'shatter-replay')
    : '';
const VIEWPORT = { width: 1280, height: 720 };
const WATCHDOG_MS = 60_000;
const SKIP = { skip: REPLAY_BIN ? (existsSync(REPLAY_BIN) ? false : `${REPLAY_BIN} is not built`) : 'set SHATTER_REPLAY_BIN or SHATTER_SERVER_BIN' };

let server; // { url, stop() }
let context;
let page;
let profileDir;
const pageErrors = [];

const watchdog = setTimeout(() => {
  console.error(`replay e2e: still running after ${WATCHDOG_MS} ms, giving up`);
  server?.stop();
  process.exit(1);
}, WATCHDOG_MS);
watchdog.unref();

before(async () => {
  if (SKIP.skip) return;
  server = await startReplayServer(REPLAY_BIN);
  profileDir = await mkdtemp(join(tmpdir(), 'shatter-chromium-'));
  context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: VIEWPORT,
    timeout: 20_000,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (msg) => msg.type() === 'error' && pageErrors.push(msg.text()));
});

after(async () => {
  clearTimeout(watchdog);
  await context?.close().catch(() => {});
  await server?.stop();
  if (profileDir) await rm(profileDir, { recursive: true, force: true });
});

test('a recorded match plays in the page; seek, follow and the tick shown', SKIP, async () => {
  await page.goto(server.url);
  // The server opens the page as /?replay: no name asked, the controls show.
  assert.match(page.url(), /\?replay$/);
  await page.waitForFunction(() => window.__shatter.replay !== null && window.__shatter.snapshots > 5);
  assert.equal(await page.isVisible('#menu'), false, 'no name is asked');
  assert.equal(await page.isVisible('#replay'), true, 'the replay controls show');
  const first = await replayState();
  assert.equal(first.last, 2400);
  assert.equal(first.paused, false);

  // Seek with the timeline to tick 1200: the page starts again there.
  await page.$eval('#replay-timeline', (el) => {
    el.value = '1200';
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
  });
  await page.waitForFunction(() => {
    const r = window.__shatter.replay;
    return !r.seeking && r.snapTick >= 1200 && r.snapTick < 1500 && r.shownTick >= 1200;
  });
  // Pause, so that what is shown stands still while it is read.
  await page.click('#replay-toggle');
  await page.waitForFunction(() => window.__shatter.replay.paused);
  await page.waitForTimeout(400); // the HUD shows the last snap within 250 ms
  const paused = await replayState();
  assert.ok(paused.snapTick >= 1200 && paused.snapTick < 1500, `paused at tick ${paused.snapTick}, soon after the seek to 1200`);
  assert.equal(paused.shownTick, paused.snapTick, 'the controls show the tick of the newest snap');
  assert.equal(paused.tickText, `tick ${paused.snapTick} / 2400`);
  assert.equal(paused.timeText, `${clock(paused.snapTick)} / 1:20`, 'match time at 30 ticks a second');
  assert.equal(await page.$eval('#replay-timeline', (el) => Number(el.value)), paused.snapTick);

  // Follow a player who is not the leader, picked from the list.
  const leader = await page.evaluate(() => window.__shatter.eye);
  const pick = paused.players.find((p) => p.id !== leader);
  assert.ok(pick, `a player other than the leader (${leader}) in ${JSON.stringify(paused.players)}`);
  await page.selectOption('#replay-follow', String(pick.id));
  await page.waitForFunction((id) => window.__shatter.eye === id, pick.id);
  // The camera glides to it; then it stands at the centre of the screen.
  await page.waitForFunction(
    ({ id, w, h }) => {
      const m = window.__shatter.drawn.find((d) => d.id === id);
      return m && Math.hypot(m.sx - w / 2, m.sy - h / 2) < 4;
    },
    { id: pick.id, w: VIEWPORT.width, h: VIEWPORT.height },
  );
  const drawn = (await page.evaluate(() => window.__shatter.drawn)).find((d) => d.id === pick.id);
  assert.equal(drawn.name, pick.name, 'the followed marble carries its name');
  assert.equal(await page.textContent('#spectating'), `Watching ${pick.name}`);
  assert.equal(await page.$eval('#replay-follow', (el) => el.value), String(pick.id));

  // Play on at 4x: snaps come 4 ticks apart, and the tick shown moves on.
  await page.selectOption('#replay-speed', '4');
  await page.click('#replay-toggle');
  await page.waitForFunction((from) => {
    const r = window.__shatter.replay;
    return !r.paused && r.speed === 4 && r.shownTick >= from + 60;
  }, paused.snapTick);

  await mkdir(OUTPUT_DIR, { recursive: true });
  await page.screenshot({ path: join(OUTPUT_DIR, 'replay.png') });
  assert.deepEqual(pageErrors, [], 'the page logged no errors');
  console.log(`replay e2e: seek to 1200, paused at ${paused.snapTick}, following ${pick.name} (${pick.id}) at the centre`);
});

async function replayState() {
  return page.evaluate(() => window.__shatter.replay);
}

function clock(tick) {
  const s = Math.floor(tick / 30);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

// Starts the replay server on a free port; stop() ends it by its pid.
async function startReplayServer(bin) {
  const port = await freePort();
  const args = ['-serve', `127.0.0.1:${port}`, '-web-dir', DIST_DIR, LOG];
  console.log(`replay e2e: ${bin} ${args.join(' ')}`);
  const child = spawn(bin, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  const exited = new Promise((r) => child.once('exit', r));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const stop = async () => {
    process.off('exit', killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    process.kill(child.pid, 'SIGTERM');
    const killer = setTimeout(() => process.kill(child.pid, 'SIGKILL'), 5000);
    await exited;
    clearTimeout(killer);
  };
  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`replay server exited with code ${child.exitCode}`);
    try {
      const res = await fetch(`${url}healthz`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`replay server not healthy at ${url} within 15 s`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, stop };
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolvePort(port));
    });
  });
}
