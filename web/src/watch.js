// Choosing whom to spectate: while not alive, a click on a marble or a
// leaderboard name asks the server to `watch` it (PROTOCOL.md). The server
// takes at most 2 a second, so clicks closer together than that are held
// and only the latest is sent when its turn comes; the interval keeps a
// margin over the server's 500 ms, so that network jitter never brings two
// watches closer than that (the second would be refused).

export const WATCH_INTERVAL_MS = 600;

export class WatchRequests {
  constructor() {
    this.pending = null; // the id wished for and not yet sent
    this.sentAt = -Infinity;
  }

  want(id) {
    if (Number.isInteger(id) && id >= 0) this.pending = id;
  }

  // The id to send now, or null: nothing wished, or too soon.
  due(nowMs) {
    if (this.pending === null || nowMs - this.sentAt < WATCH_INTERVAL_MS) return null;
    const id = this.pending;
    this.pending = null;
    this.sentAt = nowMs;
    return id;
  }

  // A new session starts with no wish.
  reset() {
    this.pending = null;
  }
}

// The marble under the screen point (sx, sy), given the marbles drawn in
// the last frame ({ id, sx, sy, r } in screen pixels): the nearest whose
// disc, grown by `slack` pixels so small ones can be hit, holds the point.
export function marbleAt(drawn, sx, sy, slack = 12) {
  let best = null;
  let bestDistance = Infinity;
  for (const m of drawn) {
    const d = Math.hypot(m.sx - sx, m.sy - sy);
    if (d <= m.r + slack && d < bestDistance) {
      best = m;
      bestDistance = d;
    }
  }
  return best;
}
