// The operator's console: live from the admin listener's /events (one
// message a second), with the actions of the admin API (drain a node,
// stop an arena, kick a session, ban an address, cut a clip). Every
// action's answer is shown in #answer; an endpoint this node does not
// have says so instead of breaking the page. window.__console exposes
// the page's state to the end-to-end test.
import { takeTokenFromURL, askToken, eventsURL, call } from './api.js';
import { newChart, drawChart, CHART_POINTS } from './chart.js';

const MAX_EVENTS = 200;
const SESSIONS_EVERY_MS = 2000;
const BANS_EVERY_MS = 5000;
const RECONNECT_MS = 3000;

const $ = (sel) => document.querySelector(sel);
const state = {
  messages: 0, // stream messages received
  connected: false,
  last: null, // the latest message
  events: [], // every event received, oldest first (MAX_EVENTS at most)
  answers: [], // every action's answer line, oldest first
  sessions: null, // the latest GET /sessions rows, or null
  sessionsAvailable: null, // false once /sessions answered "not available"
  bytesPerSecond: null,
};
window.__console = state;

const history = new Map(); // "node/arena" -> [{p50, p99}], the last minute
const charts = new Map(); // "node/arena" -> its canvas, kept across renders

// el builds an element with text or children.
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

// syncRows shows items as the rows of tbody, one per key: a row already
// there is kept and its cells refreshed, so that its action buttons stay
// the same elements from one message to the next (a click is never lost
// to a re-render). attrs names a new row; actions makes its last cell's
// buttons, once.
function syncRows(tbody, items, keyOf, attrs, cellsOf, actions) {
  const old = new Map([...tbody.children].map((tr) => [tr.dataset.key, tr]));
  const rows = items.map((item) => {
    const key = keyOf(item);
    let tr = old.get(key);
    if (!tr) {
      tr = el('tr', attrs(item));
      tr.dataset.key = key;
      tr.actionCell = el('td', {}, ...actions(item));
    }
    tr.replaceChildren(...cellsOf(item), tr.actionCell);
    return tr;
  });
  tbody.replaceChildren(...rows);
}

const num = (v, digits = 0) => el('td', { class: 'num' }, v === null || v === undefined ? '—' : Number(v).toFixed(digits));
const button = (label, onclick, attrs = {}) => el('button', { type: 'button', onclick, ...attrs }, label);

function answer(res) {
  state.answers.push(res.message);
  const p = $('#answer');
  p.textContent = res.message;
  p.className = res.ok ? 'good' : 'bad';
}

// ---- the live stream ----

let source = null;

function connect() {
  source?.close();
  source = new EventSource(eventsURL());
  source.onopen = () => setConnected(true);
  source.onmessage = (e) => onMessage(JSON.parse(e.data));
  source.onerror = async () => {
    setConnected(false);
    if (source.readyState !== EventSource.CLOSED) return; // the browser retries by itself
    // Refused (401, 503...): find out why, then try again a little later.
    const res = await call('GET', '/fleet');
    if (res.unauthorized) {
      $('#conn').textContent = 'unauthorized: set the admin token';
      if (!askToken()) return;
    }
    setTimeout(connect, RECONNECT_MS);
  };
}

function setConnected(ok) {
  state.connected = ok;
  const c = $('#conn');
  c.textContent = ok ? 'live' : 'disconnected, retrying…';
  c.className = ok ? 'good' : 'bad';
}

function onMessage(msg) {
  const prev = state.last;
  state.messages++;
  state.last = msg;
  if (prev) {
    const dt = (Date.parse(msg.at) - Date.parse(prev.at)) / 1000;
    if (dt > 0) state.bytesPerSecond = Math.max(0, (msg.bytes_out - prev.bytes_out) / dt);
  }
  $('#self').textContent = `node ${msg.self}`;
  $('#rate').textContent = state.bytesPerSecond === null ? '' : `${formatBytes(state.bytesPerSecond)}/s out`;
  for (const { node, a } of arenaFigures(msg)) {
    const key = `${node}/${a.id}`;
    const h = history.get(key) ?? [];
    // Bytes out a second, from the arena's count in the last message.
    const before = h.length ? h[h.length - 1] : null;
    const dt = prev ? (Date.parse(msg.at) - Date.parse(prev.at)) / 1000 : 0;
    const rate = before && dt > 0 ? Math.max(0, (a.bytes_out - before.bytes) / dt) : null;
    h.push({ p50: a.tick_p50_ms, p99: a.tick_p99_ms, bytes: a.bytes_out, rate });
    if (h.length > CHART_POINTS) h.shift();
    history.set(key, h);
  }
  renderNodes(msg);
  renderArenas(msg);
  renderBoard(msg.board);
  addEvents(msg.events);
}

function formatBytes(b) {
  if (b >= 1 << 20) return `${(b / (1 << 20)).toFixed(1)} MiB`;
  if (b >= 1 << 10) return `${(b / (1 << 10)).toFixed(1)} KiB`;
  return `${b.toFixed(0)} B`;
}

function renderNodes(msg) {
  const err = $('#fleet-error');
  err.hidden = !msg.fleet_error;
  err.textContent = msg.fleet_error ? `Fleet directory unreachable: ${msg.fleet_error}` : '';
  syncRows(
    $('#nodes tbody'),
    msg.nodes,
    (n) => n.id,
    (n) => ({ 'data-node': n.id }),
    (n) => [
      el('td', {}, n.id + (n.id === msg.self ? ' (this node)' : '')),
      el('td', {}, n.url),
      el('td', { class: n.state === 'ready' ? 'good' : 'bad' }, n.state),
      el('td', { class: 'num' }, `${n.players} / ${n.capacity}`),
      num(n.online),
      el('td', { class: 'num' }, `${(n.heartbeat_age_ms / 1000).toFixed(1)} s`),
    ],
    (n) => [button('Drain', () => drainNode(n.id), { 'data-action': 'drain' })],
  );
}

// arenaFigures lists every arena of the fleet with its figures: this
// node's as it measures them, the other nodes' as their leases carry them
// (as of their last heartbeat, a second ago at most).
function arenaFigures(msg) {
  const out = msg.arenas.map((a) => ({ node: msg.self, a, local: true }));
  for (const n of msg.nodes) {
    if (n.id === msg.self) continue;
    for (const a of n.arenas ?? []) {
      out.push({
        node: n.id,
        local: false,
        a: {
          id: a.id,
          population: a.population ?? 0,
          sessions: a.players,
          tick: a.tick ?? 0,
          tick_p50_ms: a.tick_p50_ms ?? 0,
          tick_p99_ms: a.tick_p99_ms ?? 0,
          bytes_out: a.bytes_out ?? 0,
        },
      });
    }
  }
  return out;
}

function renderArenas(msg) {
  const items = arenaFigures(msg).map(({ node, a, local }) => ({ node, id: a.id, a, local }));
  syncRows(
    $('#arenas tbody'),
    items,
    (x) => `${x.node}/${x.id}`,
    (x) => ({ 'data-arena': `${x.node}/${x.id}` }),
    (x) => {
      const cells = [el('td', {}, x.node), num(x.id)];
      const key = `${x.node}/${x.id}`;
      let canvas = charts.get(key);
      if (!canvas) charts.set(key, (canvas = newChart()));
      drawChart(canvas, history.get(key));
      return [
        ...cells,
        num(x.a.population),
        num(x.a.sessions),
        num(x.a.tick),
        num(x.a.tick_p50_ms, 2),
        num(x.a.tick_p99_ms, 2),
        el('td', {}, canvas),
        el('td', { class: 'num' }, arenaRate(history.get(key))),
      ];
    },
    (x) => [
      button('Stop', () => stopArena(x.node, x.id), { 'data-action': 'stop' }),
      ' ',
      // The node that holds the arena cuts the clip; another node's comes
      // through the directory.
      button('Clip', () => cutClip(x.node, x.id), { 'data-action': 'clip' }),
    ],
  );
  for (const key of charts.keys()) if (!items.some((x) => `${x.node}/${x.id}` === key)) charts.delete(key);
}

function renderBoard(board) {
  $('#board').replaceChildren(...board.map((r) => el('li', {}, `${r.name} — ${Math.round(r.mass)}`)));
}

function addEvents(events) {
  const list = $('#events');
  for (const ev of events) {
    state.events.push(ev);
    const t = new Date(ev.at);
    list.prepend(
      el('li', { 'data-kind': ev.kind }, el('time', { datetime: ev.at }, t.toLocaleTimeString()), el('span', { class: 'kind' }, ev.kind), ev.text),
    );
  }
  while (state.events.length > MAX_EVENTS) state.events.shift();
  while (list.children.length > MAX_EVENTS) list.lastElementChild.remove();
}

// ---- actions ----

async function drainNode(id) {
  if (!window.confirm(`Drain node ${id}? Its players are moved to other nodes.`)) return;
  answer(await call('POST', `/nodes/${encodeURIComponent(id)}/drain`));
}

async function stopArena(node, id) {
  if (!window.confirm(`Stop arena ${id} of node ${node}? Its players are moved.`)) return;
  answer(await call('POST', `/arenas/${id}/stop?node=${encodeURIComponent(node)}`));
}

async function kickSession(id) {
  const reason = $('#kick-reason').value.trim() || 'kicked by an operator';
  const node = state.last?.self ?? '';
  answer(await call('POST', `/sessions/${encodeURIComponent(id)}/kick?node=${encodeURIComponent(node)}&reason=${encodeURIComponent(reason)}`));
  refreshSessions();
}

async function cutClip(node, id) {
  const res = await call('POST', `/arenas/${id}/clip?node=${encodeURIComponent(node)}`, { blob: true });
  if (res.ok && res.blob) {
    const a = el('a', { href: URL.createObjectURL(res.blob), download: res.filename });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    res.message = `clip of arena ${id} of node ${node}: ${res.filename} (${res.blob.size} bytes)`;
  }
  answer(res);
}

async function ban(e) {
  e.preventDefault();
  const f = new FormData(e.target);
  const res = await call('POST', '/bans', {
    body: { prefix: String(f.get('prefix')).trim(), minutes: Number(f.get('minutes')), reason: String(f.get('reason')).trim() },
  });
  answer(res);
  if (res.ok) refreshBans();
}

async function liftBan(prefix) {
  answer(await call('DELETE', `/bans/${encodeURIComponent(prefix)}`));
  refreshBans();
}

// ---- polled tables ----

function note(sel, text) {
  const p = $(sel);
  p.hidden = !text;
  p.textContent = text ?? '';
}

async function refreshSessions() {
  const res = await call('GET', '/sessions');
  if (res.unavailable) {
    state.sessionsAvailable = false;
    note('#sessions-note', 'Sessions: not available on this server.');
    $('#sessions tbody').replaceChildren();
    return;
  }
  if (!res.ok || !Array.isArray(res.data?.sessions ?? res.data)) {
    note('#sessions-note', res.message);
    return;
  }
  state.sessionsAvailable = true;
  note('#sessions-note', null);
  const rows = res.data.sessions ?? res.data;
  state.sessions = rows;
  syncRows(
    $('#sessions tbody'),
    rows,
    (x) => String(x.id),
    (x) => ({ 'data-session': x.id }),
    (x) => [
      el('td', {}, x.id),
      el('td', {}, x.name ?? ''),
      num(x.arena),
      el('td', {}, x.addr ?? ''),
      el('td', {}, x.alive ? 'yes' : 'no'),
      num(x.mass),
      el('td', { class: 'num' }, `${Math.round((x.since_ms ?? 0) / 1000)} s`),
    ],
    (x) => [button('Kick', () => kickSession(x.id), { 'data-action': 'kick' })],
  );
}

async function refreshBans() {
  const res = await call('GET', '/bans');
  if (res.unavailable) {
    note('#bans-note', 'Bans: not available on this server.');
    return;
  }
  const rows = res.data?.bans ?? res.data;
  if (!res.ok || !Array.isArray(rows)) {
    note('#bans-note', res.message);
    return;
  }
  note('#bans-note', rows.length ? null : 'No bans.');
  syncRows(
    $('#bans tbody'),
    rows,
    (b) => b.prefix,
    (b) => ({ 'data-ban': b.prefix }),
    (b) => [el('td', {}, b.prefix), el('td', {}, b.until ?? ''), el('td', {}, b.reason ?? ''), el('td', {}, b.by ?? '')],
    (b) => [button('Lift', () => liftBan(b.prefix), { 'data-action': 'lift' })],
  );
}

// ---- start ----

takeTokenFromURL();
$('#set-token').addEventListener('click', () => askToken() && connect());
$('#ban-form').addEventListener('submit', ban);
$('#sessions').before(el('label', {}, 'Kick reason ', el('input', { id: 'kick-reason', placeholder: 'kicked by an operator' })));
connect();
refreshSessions();
refreshBans();
setInterval(() => state.sessionsAvailable !== false && refreshSessions(), SESSIONS_EVERY_MS);
setInterval(refreshBans, BANS_EVERY_MS);

// arenaRate is an arena's bytes out a second, from its history.
function arenaRate(h) {
  const rate = h?.length ? h[h.length - 1].rate : null;
  return rate === null || rate === undefined ? '—' : formatBytes(rate);
}
