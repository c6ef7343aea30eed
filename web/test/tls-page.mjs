// The browser half of deploy/e2e_test.go (go test ./deploy), which runs
// this script: Chromium opens the game page behind nginx over https://
// (SHATTER_TLS_URL), trusting nginx's self-signed certificate by its
// public key hash (SHATTER_TLS_SPKI) and no other certificate error, and
// plays. It reports on stdout, one JSON line an event:
//   {"event":"playing", ...}  the marble is alive and snaps come over wss://
// then waits for "moved <url>" on stdin (the Go test has drained the node
// the page plays on) and reports
//   {"event":"moved", ...}    the page followed the `moved` to <url> and snaps come from there
// and exits 0. Any failure: a message on stderr and exit 1. Not a
// *.test.mjs: npm test does not run it alone, it needs the Go test's
// fleet.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const URL_ = process.env.SHATTER_TLS_URL;
const SPKI = process.env.SHATTER_TLS_SPKI;
const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const WAIT_MS = 20_000;

if (!URL_ || !SPKI) {
  console.error('tls-page: set SHATTER_TLS_URL and SHATTER_TLS_SPKI (deploy/e2e_test.go does)');
  process.exit(2);
}

const report = (event, fields) => console.log(JSON.stringify({ event, ...fields }));
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

let context;
const profile = await mkdtemp(join(tmpdir(), 'shatter-tls-chromium-'));
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 720 },
    timeout: WAIT_MS,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // Trust exactly the test's certificate: an error on a chain with
      // this key is ignored, every other certificate error still stands.
      `--ignore-certificate-errors-spki-list=${SPKI}`,
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(WAIT_MS);
  const errors = [];
  page.on('pageerror', (err) => errors.push(err.message));
  const response = await page.goto(URL_);
  if (!response?.ok() || !page.url().startsWith('https://')) {
    throw new Error(`GET ${URL_}: ${response?.status()} at ${page.url()}`);
  }
  await page.fill('#name', 'Tessa');
  await page.click('#play');
  await page.waitForFunction(() => window.__shatter.alive && window.__shatter.snapshots > 10);
  const state = () =>
    page.evaluate(() => ({
      server: window.__shatter.server,
      connection: window.__shatter.connection,
      alive: window.__shatter.alive,
      snapshots: window.__shatter.snapshots,
      moves: window.__shatter.moves,
      lastMove: window.__shatter.lastMove,
      session: window.__shatter.session,
    }));
  report('playing', await state());

  const next = await lines.next();
  const [command, url] = (next.value ?? '').split(' ');
  if (command !== 'moved' || !url) throw new Error(`unexpected command on stdin: ${next.value}`);
  await page.waitForFunction(
    (u) => window.__shatter.moves >= 1 && window.__shatter.server === u && window.__shatter.connection === 'open',
    url,
  );
  const arrived = await state();
  await page.waitForFunction((n) => window.__shatter.snapshots > n + 20, arrived.snapshots);
  if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
  report('moved', await state());
} catch (err) {
  console.error(`tls-page: ${err.stack ?? err}`);
  process.exitCode = 1;
} finally {
  await context?.close().catch(() => {});
  await rm(profile, { recursive: true, force: true });
  process.exit();
}
