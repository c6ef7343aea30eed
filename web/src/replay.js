// Watching a recorded match (PROTOCOL.md "Replay viewer"): the controls a
// replay server's `replay` status turns on. Pause and play, speed, a
// timeline to seek to any tick, whom to follow (the leader, or any player
// of the match), and the tick and match time shown. A live server never
// sends `replay`, so none of this shows there.

// The speeds offered, as the server takes them (0.25 to 8).
export const SPEEDS = [0.25, 0.5, 1, 2, 4, 8];

// A match time of `tick` at `rate` ticks a second: m:ss, or h:mm:ss from
// an hour on.
export function matchTime(tick, rate) {
  const total = Math.floor(Math.max(0, tick) / Math.max(1, rate));
  const s = total % 60;
  const m = Math.floor(total / 60) % 60;
  const h = Math.floor(total / 3600);
  const pad = (n) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

// The `replay` status as the client keeps it; a status whose fields are
// off is read as what it can be (the server is trusted, not its encoder).
export function readStatus(msg) {
  const num = (v, d) => (Number.isFinite(v) ? v : d);
  return {
    tick: num(msg.tick, 0),
    last: num(msg.last, 0),
    speed: num(msg.speed, 1),
    paused: msg.paused === true,
    players: Array.isArray(msg.players)
      ? msg.players.filter((p) => Array.isArray(p) && Number.isInteger(p[0])).map(([id, name]) => ({ id, name: String(name ?? '') }))
      : [],
  };
}

// A follow choice held this long wins over what the snaps say, so the
// list does not jump back while the watch is on its way.
const CHOICE_HOLD_MS = 1500;

export class ReplayControls {
  // send(msg) sends a message to the server; follow(id) asks to watch a
  // marble (0: the leader).
  constructor(doc, { send, follow }) {
    const $ = (id) => doc.getElementById(id);
    this.doc = doc;
    this.panel = $('replay');
    this.toggle = $('replay-toggle');
    this.timeline = $('replay-timeline');
    this.tickText = $('replay-tick');
    this.timeText = $('replay-time');
    this.speed = $('replay-speed');
    this.followList = $('replay-follow');
    this.send = send;
    this.status = null; // the last status, once the server sent one
    this.seekingTo = null; // a seek sent and not yet welcomed
    this.dragging = false;
    this.choiceAt = -Infinity;
    this.playersKey = '';
    this.speed.replaceChildren(
      ...SPEEDS.map((s) => {
        const o = doc.createElement('option');
        o.value = String(s);
        o.textContent = `${s}×`;
        return o;
      }),
    );
    this.speed.value = '1';
    this.toggle.addEventListener('click', () => {
      if (!this.status) return;
      this.send({ t: 'replay', op: this.status.paused ? 'play' : 'pause' });
    });
    this.speed.addEventListener('change', () => this.send({ t: 'replay', op: 'speed', arg: Number(this.speed.value) }));
    this.timeline.addEventListener('input', () => {
      this.dragging = true;
      this.showTick(Number(this.timeline.value));
    });
    this.timeline.addEventListener('change', () => {
      this.dragging = false;
      this.seek(Number(this.timeline.value));
    });
    this.followList.addEventListener('change', () => {
      this.choiceAt = performance.now();
      follow(Number(this.followList.value));
    });
  }

  get active() {
    return this.status !== null;
  }

  seek(tick) {
    this.seekingTo = tick;
    this.send({ t: 'replay', op: 'seek', arg: tick });
    this.showTick(tick);
  }

  // A `replay` status from the server.
  update(msg) {
    const status = readStatus(msg);
    const first = this.status === null;
    this.status = status;
    if (first) {
      this.panel.hidden = false;
      this.doc.body.classList.add('replay');
    }
    this.timeline.max = String(status.last);
    this.toggle.textContent = status.paused ? 'Play' : 'Pause';
    this.toggle.setAttribute('aria-pressed', String(!status.paused));
    if (this.doc.activeElement !== this.speed) this.speed.value = String(status.speed);
    const key = status.players.map((p) => `${p.id}:${p.name}`).join('|');
    if (key !== this.playersKey) {
      this.playersKey = key;
      const leader = this.doc.createElement('option');
      leader.value = '0';
      leader.textContent = 'The leader';
      this.followList.replaceChildren(
        leader,
        ...status.players.map((p) => {
          const o = this.doc.createElement('option');
          o.value = String(p.id);
          o.textContent = p.name || `#${p.id}`;
          return o;
        }),
      );
    }
  }

  // A welcome: after a seek, the playback stands at its tick.
  welcomed(tick) {
    this.seekingTo = null;
    if (this.status) this.status.tick = tick;
  }

  // The view's state, each HUD update: the tick shown (the newest snap's),
  // and the marble the view follows (null for the leader, or none).
  show(tick, eye, rate) {
    if (!this.status) return;
    this.rate = rate;
    if (this.seekingTo === null && !this.dragging) {
      this.timeline.value = String(tick);
      this.showTick(tick);
    }
    if (performance.now() - this.choiceAt > CHOICE_HOLD_MS && this.doc.activeElement !== this.followList) {
      const listed = eye !== null && this.status.players.some((p) => p.id === eye);
      this.followList.value = listed ? String(eye) : '0';
    }
  }

  showTick(tick) {
    const last = this.status?.last ?? 0;
    const rate = this.rate ?? 30;
    const seeking = this.seekingTo !== null ? ' (seeking…)' : '';
    this.tickText.textContent = `tick ${tick} / ${last}${seeking}`;
    this.timeText.textContent = `${matchTime(tick, rate)} / ${matchTime(last, rate)}`;
    this.tickText.dataset.tick = String(tick);
  }
}
