// Client-side prediction of the player's own marble. The marble is
// simulated ahead of the server with the same movement rules as
// systems/movement.go, from the inputs the server has not applied yet, so
// that steering answers at once. Each snap's `you` and `ack` re-base the
// simulation on the server's word (reconciliation); the difference between
// what was on screen and the corrected state fades out over a few frames
// instead of snapping.

// How fast a correction fades, per second (about 1/8 s to fall to 1/e).
const CORRECTION_DECAY = 8;
// A correction this large is a teleport (respawn, knockback, resume):
// showing it at once is better than sliding across the map.
const TELEPORT_UNITS = 150;
// Never replay more than this many ticks (a stalled tab catching up).
const MAX_REPLAY_TICKS = 90;

export class Predictor {
  constructor(rules, terrain) {
    this.rules = rules;
    this.terrain = terrain;
    this.state = null; // { tick, x, y, vx, vy } at an integer tick
    this.mass = 0;
    this.acked = { angle: 0, boost: false }; // the wish in effect at the last snap
    this.pending = []; // sent, not yet acked: { seq, angle, boost, tick }
    this.lastServer = null; // { tick, x, y } of the previous `you`
    this.baseHasVelocity = false;
    this.offsetX = 0;
    this.offsetY = 0;
    // The biggest correction a snap has caused (teleports aside), in arena
    // units: how far the prediction strays from the server.
    this.largestCorrection = 0;
  }

  // Records an input sent now, expected to take effect at `tick`.
  inputSent(seq, angle, boost, tick) {
    this.pending.push({ seq, angle, boost, tick });
  }

  // Forgets the marble (death, or a new session).
  clear() {
    this.state = null;
    this.lastServer = null;
    this.baseHasVelocity = false;
    this.offsetX = this.offsetY = 0;
  }

  // Re-bases on the server's position of our marble at `tick`, with every
  // input up to `ack` applied, and replays forward to `aheadTick`.
  reconcile(tick, ack, x, y, mass, aheadTick) {
    this.advance(aheadTick);
    const before = this.state ? this.position(aheadTick) : null;
    while (this.pending.length && this.pending[0].seq <= ack) {
      const { angle, boost } = this.pending.shift();
      this.acked = { angle, boost };
    }
    // The server integrates position from velocity, so the last move over
    // the ticks between two snaps is the velocity it carries now.
    const prev = this.lastServer;
    const measured = prev !== null && tick > prev.tick && Math.hypot(x - prev.x, y - prev.y) < TELEPORT_UNITS;
    const perSecond = measured ? this.rules.tick_rate / (tick - prev.tick) : 0;
    const vx = (x - (prev?.x ?? x)) * perSecond;
    const vy = (y - (prev?.y ?? y)) * perSecond;
    // Without a measured velocity (a marble's first snap) the prediction
    // was a guess: its correction is faded like any other but not counted.
    const wasGuess = !this.baseHasVelocity;
    this.baseHasVelocity = measured;
    this.lastServer = { tick, x, y };
    this.mass = mass;
    this.state = { tick, x, y, vx, vy };
    this.advance(aheadTick);
    if (before) {
      const after = this.position(aheadTick);
      const errorX = before.x - after.x;
      const errorY = before.y - after.y;
      const error = Math.hypot(errorX, errorY);
      if (error > TELEPORT_UNITS) {
        this.offsetX = this.offsetY = 0;
      } else {
        this.offsetX += errorX;
        this.offsetY += errorY;
        if (!wasGuess) this.largestCorrection = Math.max(this.largestCorrection, error);
      }
    }
  }

  // Simulates whole ticks up to floor(aheadTick).
  advance(aheadTick) {
    if (!this.state) return;
    const target = Math.floor(aheadTick);
    const s = this.state;
    s.tick = Math.max(s.tick, target - MAX_REPLAY_TICKS);
    while (s.tick < target) {
      s.tick++;
      this.step(s, this.wishAt(s.tick));
    }
  }

  // The heading and boost the server will use at a tick: the newest sent
  // input expected to have arrived by then, else the last acknowledged one.
  wishAt(tick) {
    let wish = this.acked;
    for (const input of this.pending) {
      if (input.tick > tick) break;
      wish = input;
    }
    return wish;
  }

  // One tick of systems/movement.go.
  step(s, wish) {
    const r = this.rules;
    const dt = 1 / r.tick_rate;
    const keep = Math.max(0, 1 - r.drag * dt);
    const boosting = wish.boost && this.mass > r.boost_floor;
    const accel = boosting ? r.acceleration * r.boost_factor : r.acceleration;
    const { dx, dy } = this.terrain.slope(s.x, s.y);
    s.vx = (s.vx + (Math.cos(wish.angle) * accel - r.gravity * dx) * dt) * keep;
    s.vy = (s.vy + (Math.sin(wish.angle) * accel - r.gravity * dy) * dt) * keep;
    const top = r.top_speed * Math.pow(this.mass, r.speed_exponent) * (boosting ? r.boost_factor : 1);
    const speed = Math.hypot(s.vx, s.vy);
    if (speed > top) {
      s.vx *= top / speed;
      s.vy *= top / speed;
    }
    [s.x, s.vx] = clampAxis(s.x + s.vx * dt, s.vx, r.arena_w);
    [s.y, s.vy] = clampAxis(s.y + s.vy * dt, s.vy, r.arena_h);
  }

  // Position at a fractional tick: the last simulated tick carried forward
  // by its velocity, so motion is smooth between ticks.
  position(aheadTick) {
    const s = this.state;
    const dt = Math.max(0, Math.min(1, aheadTick - s.tick)) / this.rules.tick_rate;
    return {
      x: clamp(s.x + s.vx * dt, 0, this.rules.arena_w),
      y: clamp(s.y + s.vy * dt, 0, this.rules.arena_h),
    };
  }

  // Where to draw the marble this frame: the prediction plus what is left
  // of the last corrections.
  displayPosition(aheadTick, frameSeconds) {
    this.advance(aheadTick);
    const fade = Math.exp(-CORRECTION_DECAY * frameSeconds);
    this.offsetX *= fade;
    this.offsetY *= fade;
    const p = this.position(aheadTick);
    return { x: p.x + this.offsetX, y: p.y + this.offsetY };
  }
}

function clampAxis(p, v, limit) {
  if (p < 0) return [0, Math.max(v, 0)];
  if (p > limit) return [limit, Math.min(v, 0)];
  return [p, v];
}

function clamp(v, lo, hi) {
  return Math.min(Math.max(v, lo), hi);
}
