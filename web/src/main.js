// Wires the client together: the connection's messages update the world
// model, and each display frame turns the pointer into inputs, advances
// the prediction and draws the interpolated scene.
import { Connection, socketURL, CLOSE_TRY_AGAIN_LATER, CLOSE_GOING_AWAY, CLOSE_KICKED } from './net.js';
import { BoardState } from './board.js';
import { makeRules, viewHalfSize } from './rules.js';
import { Terrain, paintTerrain } from './terrain.js';
import { TickClock } from './clock.js';
import { EntityTable, Kind } from './interp.js';
import { Predictor } from './predict.js';
import { Steering } from './input.js';
import { Renderer } from './render.js';
import { Hud } from './hud.js';
import { FeedState } from './feed.js';
import { WatchRequests, marbleAt } from './watch.js';
import { ReplayControls } from './replay.js';
import { installDebug } from './debug.js';

// Other entities are drawn this far in the past, so there is nearly
// always a newer snapshot to interpolate toward; at low tick rates, at
// least two snapshot intervals.
const INTERP_DELAY_MS = 100;
const INTERP_DELAY_MIN_TICKS = 2;
const PING_INTERVAL_MS = 1000; // the server allows 2 a second
const HUD_INTERVAL_MS = 250;
const CAMERA_FOLLOW = 6; // per second, when spectating
const FAR_JUMP_UNITS = 1500; // a camera this far off cuts instead of gliding
const ZOOM_FOLLOW = 3; // per second
const GROWTH_FOLLOW = 10; // per second: how fast the drawn mass catches up
const POSITION_HISTORY = 300;

class Game {
  constructor() {
    this.hud = new Hud(document);
    this.canvas = document.getElementById('game');
    this.renderer = new Renderer(this.canvas);
    this.steering = new Steering(this.canvas);
    this.clock = new TickClock();
    this.table = new EntityTable();
    this.connection = null;
    this.name = '';
    this.phase = 'menu'; // menu | playing | dead | watching (a recording)
    this.welcome = null;
    this.rules = makeRules({});
    this.terrain = null;
    this.predictor = null;
    this.ownId = null;
    this.lastOwnId = null; // survives a resume's welcome, unlike ownId
    this.shieldUntil = 0; // the tick our marble's spawn shield ends
    this.ownMass = 0;
    this.seq = 0;
    this.resendInput = false;
    this.pingMs = null;
    this.board = new BoardState();
    this.feed = new FeedState();
    this.watch = new WatchRequests();
    this.eye = null; // the id the view follows while not alive (snap.eye)
    this.lastInput = null; // { angle, boost } last sent
    this.kicked = null; // the `kicked` error's message, once removed
    this.camera = { x: 0, y: 0, scale: 1 };
    this.stats = { snapshots: 0, inputsSent: 0, positions: [], errors: [], deaths: 0, watchesSent: 0, fps: 0, lastMove: null, ownDrawnAt: 0 };
    this.frames = { count: 0, since: 0, last: 0 };
    this.hudUpdatedAt = 0;
    // Watching a recording (a replay server's `replay` status): the
    // controls, and how fast its ticks pass (1 live).
    this.replay = new ReplayControls(document, {
      send: (msg) => this.connection?.send(msg),
      follow: (id) => this.watchMarble(id),
    });
    this.playRate = 1;
    this.lastSnapTick = 0;
    this.replayReconnects = 0; // the connection's reconnects seen while watching
  }

  start() {
    this.renderer.resize();
    window.addEventListener('resize', () => this.renderer.resize());
    this.hud.onPlay((name) => this.play(name));
    this.hud.onRespawn(() => this.respawn());
    this.hud.onBoardClick((id) => this.watchMarble(id));
    this.hud.onBoostButton((held) => this.steering.holdButton(held));
    this.steering.onTouch = () => this.hud.showBoostButton(true);
    if (isTouchScreen()) this.hud.showBoostButton(true);
    this.canvas.addEventListener('click', (e) => {
      const hit = marbleAt(this.renderer.drawn, e.clientX, e.clientY);
      if (hit) this.watchMarble(hit.id);
    });
    setInterval(() => this.ping(), PING_INTERVAL_MS);
    installDebug(this);
    // A replay server opens the page as /?replay: watch at once, without
    // a name or a marble.
    if (new URLSearchParams(location.search).has('replay')) this.watchRecording();
    requestAnimationFrame((t) => this.frame(t));
  }

  watchRecording() {
    this.phase = 'watching';
    this.hud.hideMenu();
    this.connection = new Connection(socketURL(location), 'viewer', {
      message: (msg) => this.receive(msg),
      state: (state, detail) => this.connectionChanged(state, detail),
    });
    this.connection.start();
  }

  // While not alive, follow this marble (the server ignores an id that
  // is no marble, and goes back to the leader when it is gone).
  watchMarble(id) {
    if (this.ownId !== null || !this.welcome) return;
    this.watch.want(id);
  }

  play(name) {
    this.name = name;
    this.hud.setPlayingAs(name);
    this.phase = 'playing';
    this.hud.hideMenu();
    this.connection = new Connection(socketURL(location), name, {
      message: (msg) => this.receive(msg),
      state: (state, detail) => this.connectionChanged(state, detail),
    });
    this.connection.start();
  }

  respawn() {
    this.phase = 'playing';
    this.hud.hideDeath();
    // A click made just before does not follow us into the next death.
    this.watch.reset();
    if (this.connection.asleep) {
      // Closed as idle while on this screen: connect again; the welcome
      // asks for the marble.
      return this.connection.wake();
    }
    this.connection.send({ t: 'spawn' });
  }

  ping() {
    if (this.connection?.state === 'open') {
      this.connection.send({ t: 'ping', c: Math.floor(performance.now()) });
    }
  }

  receive(msg) {
    switch (msg.t) {
      case 'welcome':
        return this.welcomed(msg);
      case 'snap':
        return this.snapped(msg);
      case 'died':
        return this.died(msg);
      case 'board':
        this.board.update(msg, performance.now());
        return this.hud.setBoard(this.board, this.name);
      case 'feed':
        this.feed.update(msg, performance.now());
        return this.hud.setFeed(this.feed.visible(performance.now()), performance.now());
      case 'moved':
        // The connection follows it; the player sees the notice of its
        // 'moving' state, and the next welcome starts afresh.
        this.stats.lastMove = { url: String(msg.url ?? ''), why: String(msg.why ?? '') };
        return;
      case 'pong':
        this.pingMs = performance.now() - msg.c;
        return;
      case 'error':
        return this.serverError(msg);
      case 'replay':
        return this.replayStatus(msg);
    }
  }

  replayStatus(msg) {
    this.replay.update(msg);
    const speed = this.replay.status.speed;
    if (speed > 0 && speed !== this.playRate) {
      // The recording's ticks now pass at this rate: the clock follows
      // the next snap at it.
      this.playRate = speed;
      this.clock.reset(this.rules.tick_rate * speed);
    }
  }

  welcomed(msg) {
    const rules = makeRules(msg.rules);
    rules.tick_rate = msg.rate;
    rules.arena_w = msg.arena.w;
    rules.arena_h = msg.arena.h;
    this.rules = rules;
    if (!this.terrain || !sameBytes(this.terrain.heights, msg.terrain.h)) {
      this.terrain = new Terrain(msg.terrain, rules.arena_w, rules.arena_h);
      this.renderer.setTerrain(paintTerrain(this.terrain));
    }
    this.welcome = { session: msg.session };
    // The server may have changed the name we asked for (taken, or not
    // acceptable): this is the one we play under. Later hellos ask for it.
    if (typeof msg.name === 'string' && msg.name) {
      this.name = msg.name;
      this.connection.name = msg.name;
      this.hud.setPlayingAs(msg.name);
    }
    this.watch.reset();
    this.eye = null;
    // A resume, like a first join, starts from an empty view: the next
    // snap adds everything.
    this.table.reset(rules.arena_w, rules.arena_h);
    // Painting the terrain held the main thread, so `tick` is stale by
    // now: the clock starts from the first snap instead.
    this.clock.reset(msg.rate * this.playRate);
    this.replay.welcomed(msg.tick);
    if (this.replay.active && this.connection.reconnects > this.replayReconnects) {
      // A replay server that lost us starts a new viewer at tick 0: ask
      // it for where we were.
      this.replayReconnects = this.connection.reconnects;
      if (this.lastSnapTick > msg.tick) this.replay.seek(this.lastSnapTick);
    }
    this.predictor = new Predictor(rules, this.terrain);
    this.ownId = null;
    // Joining, resuming, or continuing as a new player after the resume
    // expired: ask for a marble. The server ignores it if ours is alive.
    if (this.phase === 'playing') this.connection.send({ t: 'spawn' });
    this.resendInput = true;
  }

  snapped(msg) {
    const now = performance.now();
    this.stats.snapshots++;
    this.lastSnapTick = msg.tick;
    // A paused recording shows a new view in a snap of the same tick: the
    // clock has heard of that tick already.
    if (msg.tick > this.table.lastTick) this.clock.observe(msg.tick, now);
    this.table.applySnap(msg);
    this.eye = Number.isInteger(msg.eye) && msg.eye > 0 ? msg.eye : null;
    if (!msg.you) {
      this.ownId = null;
      this.predictor.clear();
      return;
    }
    const [id, qx, qy, mass] = msg.you;
    if (id !== this.ownId) {
      if (id !== this.lastOwnId) {
        // A new marble (not the one a resume gave back) cannot be busted
        // for spawn_shield seconds: the ring shows how long is left.
        this.shieldUntil = msg.tick + (this.rules.spawn_shield ?? 0) * this.rules.tick_rate;
        this.lastOwnId = id;
      }
      // A new marble keeps no wish of the old one: tell it where to go.
      this.ownId = id;
      this.ownMass = mass;
      this.resendInput = true;
      this.predictor.clear();
    }
    const x = this.table.toUnitsX(qx);
    const y = this.table.toUnitsY(qy);
    this.predictor.reconcile(msg.tick, msg.ack, x, y, mass, this.aheadTick(now));
    const history = this.stats.positions;
    history.push({ tick: msg.tick, id, x, y, mass });
    if (history.length > POSITION_HISTORY) history.shift();
  }

  died(msg) {
    this.stats.deaths++;
    this.phase = 'dead';
    this.ownId = null;
    this.predictor?.clear();
    this.hud.showDeath(msg.name, msg.mass);
  }

  serverError({ code, msg }) {
    this.stats.errors.push({ code, msg });
    if (code === 'kicked') this.kicked = String(msg ?? '');
    const text = {
      resume_expired: 'Your session expired while you were away: joining as a new player.',
      // The seat of a move was gone; the new server goes on regardless.
      bad_seat: 'Joining as a new player.',
      full: 'Every arena is full right now: retrying shortly.',
      shutdown: 'The server is restarting: reconnecting.',
      idle: 'You were away for a while.',
      kicked: `You were removed from the game${msg ? `: ${msg}` : '.'}`,
    }[code];
    const calm = code === 'resume_expired' || code === 'bad_seat';
    this.hud.toast(text ?? `Server error (${code}): ${msg}`, calm ? 'info' : 'error');
  }

  connectionChanged(state, detail) {
    if (state === 'moving') {
      // Nothing is wrong: no banner, just a word about the short wait.
      this.hud.setBanner('');
      return this.hud.showNotice('Moving to another server…');
    }
    this.hud.hideNotice();
    if (state === 'open') {
      // The node that serves the game now, for tests and the curious.
      document.body.dataset.server = detail.url;
      return this.hud.setBanner('');
    }
    if (state === 'connecting') return this.hud.setBanner('Connecting…');
    if (state === 'reconnecting') return this.hud.setBanner('Reconnecting…');
    if (state === 'asleep') {
      // The server closed a session nobody played (`idle`): the death
      // screen stays, and its button connects again.
      return this.hud.setBanner('Disconnected while you were away. Press “Play again” to rejoin.');
    }
    if (state === 'closed') {
      if (detail.code === CLOSE_KICKED || this.kicked !== null) {
        return this.hud.setBanner(`Removed from the game${this.kicked ? `: ${this.kicked}` : ''}. Reload the page to play again.`);
      }
      return this.hud.setBanner(`Disconnected${detail.reason ? `: ${detail.reason}` : ''}. Reload the page to try again.`);
    }
    const seconds = Math.ceil(detail.retryMs / 1000);
    const why =
      detail.code === CLOSE_TRY_AGAIN_LATER
        ? 'The server is full'
        : detail.code === CLOSE_GOING_AWAY
          ? 'The server went away'
          : 'Connection lost';
    this.hud.setBanner(`${why}: reconnecting in ${seconds} s…`);
  }

  // The server's tick when an input sent now reaches it (the clock lags
  // the server by half a round trip, and the input takes the other half);
  // the server applies it at the next whole tick. The own marble is
  // predicted this far ahead, so steering shows without delay.
  aheadTick(now) {
    const rtt = this.pingMs ?? 0;
    return this.clock.now(now) + (rtt / 1000) * this.rules.tick_rate;
  }

  frame(now) {
    requestAnimationFrame((t) => this.frame(t));
    const seconds = Math.min(0.25, (now - (this.frames.last || now)) / 1000);
    this.frames.last = now;
    this.countFrame(now);
    if (this.welcome) {
      this.sendInput(now);
      this.sendWatch(now);
      this.drawScene(now, seconds);
    }
    if (now - this.hudUpdatedAt >= HUD_INTERVAL_MS) {
      this.hudUpdatedAt = now;
      this.hud.setStats({
        mass: this.ownId !== null ? this.ownMass : null,
        pingMs: this.pingMs,
        fps: this.stats.fps,
        spectating: this.welcome !== null && this.ownId === null ? this.watchedName() : null,
      });
      this.hud.setFeed(this.feed.visible(now), now);
      this.replay.show(this.lastSnapTick, this.eye, this.rules.tick_rate);
    }
  }

  sendInput(now) {
    if (this.ownId === null || this.connection.state !== 'open') return;
    const wish = this.steering.due(now, this.resendInput);
    if (!wish) return;
    this.resendInput = false;
    this.seq++;
    this.connection.send({ t: 'input', seq: this.seq, angle: wish.angle, boost: wish.boost });
    this.lastInput = wish;
    this.predictor.inputSent(this.seq, wish.angle, wish.boost, Math.floor(this.aheadTick(now)) + 1);
    this.stats.inputsSent++;
  }

  // Ticks since our marble last hit a spike ball (its record's flags).
  ownSpikeAge(renderTick) {
    return renderTick - (this.table.entities.get(this.ownId)?.spikeTick ?? -Infinity);
  }

  sendWatch(now) {
    if (this.ownId !== null || this.connection.state !== 'open') return;
    const id = this.watch.due(now);
    if (id === null) return;
    this.connection.send({ t: 'watch', id });
    this.stats.watchesSent++;
  }

  // The name of the marble the view follows ('' for the leader, or one
  // this client cannot name yet).
  watchedName() {
    if (this.eye === null) return '';
    const name = this.table.entities.get(this.eye)?.name;
    if (name) return name;
    return this.board.top.find((row) => row[2] === this.eye)?.[0] ?? '';
  }

  drawScene(now, seconds) {
    const serverNow = this.clock.now(now);
    // A recording played faster sends snaps several ticks apart: the delay
    // spans as many snaps as it does live.
    const rate = this.playRate;
    const delayTicks = Math.max((INTERP_DELAY_MS / 1000) * this.rules.tick_rate * rate, INTERP_DELAY_MIN_TICKS * Math.max(1, rate));
    const renderTick = serverNow - delayTicks;
    this.table.prune(renderTick);
    const entities = [...this.table.at(renderTick, this.ownId)];
    let own = null;
    if (this.ownId !== null && this.predictor.state) {
      this.ownMass += (this.predictor.mass - this.ownMass) * ease(GROWTH_FOLLOW, seconds);
      const p = this.predictor.displayPosition(this.aheadTick(now), seconds);
      // The server may have replaced a name it did not accept.
      const name = this.table.entities.get(this.ownId)?.name || this.name;
      // Our own heading and boost are drawn as wished: the prediction
      // already shows them applied.
      const boosting = this.steering.boost && this.predictor.mass > this.rules.boost_floor;
      const heading = this.steering.angle;
      own = { id: this.ownId, kind: Kind.PLAYER, name, x: p.x, y: p.y, mass: this.ownMass, heading, boosting, spikeAge: this.ownSpikeAge(renderTick) };
      const shieldTicks = (this.rules.spawn_shield ?? 0) * this.rules.tick_rate;
      if (shieldTicks > 0) own.shield = Math.max(0, Math.min(1, (this.shieldUntil - serverNow) / shieldTicks));
      // No trail point behind it: the renderer then draws it behind the heading.
      if (boosting) own.trail = { x: p.x, y: p.y };
      this.stats.ownDrawnAt = now;
    }
    const watched = this.eye !== null ? entities.find((e) => e.id === this.eye) : null;
    this.follow(own ?? watched ?? biggestMarble(entities), own !== null, seconds);
    this.renderer.draw({
      camera: this.camera,
      rules: this.rules,
      entities,
      own,
      timeMs: now,
    });
  }

  // Centres the view on our marble (exactly: it is already smooth) or,
  // while spectating, glides after the biggest marble the server shows.
  follow(target, exact, seconds) {
    if (!target) return;
    const cam = this.camera;
    const far = Math.hypot(target.x - cam.x, target.y - cam.y) > FAR_JUMP_UNITS;
    const k = exact || far ? 1 : ease(CAMERA_FOLLOW, seconds);
    cam.x += (target.x - cam.x) * k;
    cam.y += (target.y - cam.y) * k;
    const scale = this.renderer.scaleFor(viewHalfSize(this.rules, target.mass));
    cam.scale += (scale - cam.scale) * ease(ZOOM_FOLLOW, seconds);
  }

  countFrame(now) {
    const f = this.frames;
    f.count++;
    if (now - f.since >= 1000) {
      this.stats.fps = Math.round((f.count * 1000) / (now - f.since));
      f.count = 0;
      f.since = now;
    }
  }
}

// Fraction of a gap to close this frame for an exponential follow.
function ease(ratePerSecond, seconds) {
  return 1 - Math.exp(-ratePerSecond * seconds);
}

function biggestMarble(entities) {
  let best = null;
  for (const e of entities) {
    if ((e.kind === Kind.PLAYER || e.kind === Kind.ZOMBIE) && (!best || e.mass > best.mass)) best = e;
  }
  return best;
}

function isTouchScreen() {
  return navigator.maxTouchPoints > 0 || window.matchMedia?.('(pointer: coarse)').matches;
}

function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

new Game().start();
