// The entities in view, built by applying every snap's delta in order
// (PROTOCOL.md), with a short position history per entity so they can be
// drawn in between snapshots, a little in the past, at display frame rate.

export const Kind = Object.freeze({ PLAYER: 0, ZOMBIE: 1, FRAGMENT: 2, OBSTACLE: 3 });

// Marble `flags` (PROTOCOL.md): the boost the server applied, and a spike
// ball hit in that snap's tick.
export const Flag = Object.freeze({ BOOSTING: 1, SPIKE_HIT: 2 });

const QUANTUM = 65535;
// Samples kept per entity: enough to cover the interpolation delay even
// when snaps arrive in bursts.
const HISTORY = 12;
// A boost trail reaches back to where the marble was this many ticks ago.
const TRAIL_TICKS = 4;

export class EntityTable {
  constructor() {
    this.entities = new Map(); // id -> entity
    this.lastTick = -1;
    this.arenaW = 1;
    this.arenaH = 1;
  }

  reset(arenaW, arenaH) {
    this.entities.clear();
    this.lastTick = -1;
    this.arenaW = arenaW;
    this.arenaH = arenaH;
  }

  toUnitsX(x) {
    return (x / QUANTUM) * this.arenaW;
  }

  toUnitsY(y) {
    return (y / QUANTUM) * this.arenaH;
  }

  applySnap(snap) {
    const tick = snap.tick;
    // Records are read by position: marbles may carry heading and flags
    // after the known elements (an older server sends neither), and any
    // elements after those are for later revisions.
    for (const [id, kind, x, y, mass, name, heading, flags] of snap.add ?? []) {
      // An entity that left the view and came back starts a fresh history:
      // gliding across the gap would show it where it never was.
      const entity = {
        id,
        kind,
        name: name ?? '',
        samples: [{ tick, x: this.toUnitsX(x), y: this.toUnitsY(y), mass }],
        removeAt: Infinity,
        heading: null, // radians, or null when the server sends none
        boosting: false,
        spikeTick: -Infinity, // the last tick it hit a spike ball
      };
      this.entities.set(id, entity);
      this.looks(entity, tick, heading, flags);
    }
    for (const [id, x, y, mass, heading, flags] of snap.upd ?? []) {
      const entity = this.entities.get(id);
      if (!entity) continue;
      this.record(entity, tick, this.toUnitsX(x), this.toUnitsY(y), mass);
      this.looks(entity, tick, heading, flags);
    }
    // Removal waits until the render time reaches the snap that removed
    // it, so an eaten fragment vanishes when the eater is drawn on it.
    for (const id of snap.del ?? []) {
      const entity = this.entities.get(id);
      if (entity) entity.removeAt = tick;
    }
    this.lastTick = tick;
  }

  // Takes a marble record's heading and flags when present. No upd means
  // unchanged, so the last values stand until the next one.
  looks(entity, tick, heading, flags) {
    if (Number.isInteger(heading)) entity.heading = ((heading & 255) / 256) * 2 * Math.PI;
    if (Number.isInteger(flags)) {
      entity.boosting = (flags & Flag.BOOSTING) !== 0;
      if (flags & Flag.SPIKE_HIT) entity.spikeTick = tick;
    }
  }

  record(entity, tick, x, y, mass) {
    const samples = entity.samples;
    const last = samples[samples.length - 1];
    // No upd means unchanged: pin the old value at the previous snap so
    // that a marble that rested and then moved does not seem to drift.
    if (last.tick < this.lastTick && this.lastTick < tick) {
      samples.push({ ...last, tick: this.lastTick });
    }
    samples.push({ tick, x, y, mass });
    if (samples.length > HISTORY) samples.splice(0, samples.length - HISTORY);
  }

  // Drops the entities whose removal the render time has reached.
  prune(renderTick) {
    for (const [id, entity] of this.entities) {
      if (entity.removeAt <= renderTick) this.entities.delete(id);
    }
  }

  // Each entity at the given (fractional) tick, skipping excludeId. A
  // marble also carries its heading (radians or null), whether it boosts,
  // where it was TRAIL_TICKS earlier while boosting (the trail's tail), and
  // how many ticks ago it last hit a spike ball (Infinity for never).
  *at(renderTick, excludeId) {
    for (const entity of this.entities.values()) {
      if (entity.id === excludeId) continue;
      const { x, y, mass } = sampleAt(entity.samples, renderTick);
      const e = { id: entity.id, kind: entity.kind, name: entity.name, x, y, mass };
      if (entity.kind === Kind.PLAYER || entity.kind === Kind.ZOMBIE) {
        e.heading = entity.heading;
        e.boosting = entity.boosting;
        e.trail = entity.boosting ? sampleAt(entity.samples, renderTick - TRAIL_TICKS) : null;
        e.spikeAge = renderTick - entity.spikeTick;
      }
      yield e;
    }
  }
}

// Linear interpolation within the history, holding the ends: before the
// first sample (just added) and after the last (no newer news).
function sampleAt(samples, tick) {
  let i = samples.length - 1;
  if (tick >= samples[i].tick) return samples[i];
  while (i > 0 && samples[i - 1].tick > tick) i--;
  if (i === 0) return samples[0];
  const a = samples[i - 1];
  const b = samples[i];
  const t = (tick - a.tick) / (b.tick - a.tick);
  return {
    x: a.x + (b.x - a.x) * t,
    y: a.y + (b.y - a.y) * t,
    mass: a.mass + (b.mass - a.mass) * t,
  };
}
