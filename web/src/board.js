// The leaderboard as the `board` messages describe it: this arena's top
// and count, and, in a fleet, the top over every node (`global`) and the
// fleet's player count (`online`). Both fleet fields are optional: a single
// node never sends them, and the board then looks as it always did.

export const TOP_SIZE = 10;
// The server leaves `global` and `online` out while its copy is older than
// 2 s. A gap that short keeps showing the last values, so the second column
// does not blink in and out; a longer one hides them.
export const FLEET_HOLD_MS = 3000;

export class BoardState {
  constructor() {
    this.top = []; // [name, mass, id] as received
    this.count = 0;
    this.global = null; // [name, mass], or null when there is none to show
    this.online = null; // a count, or null
    this.globalAt = 0;
    this.onlineAt = 0;
  }

  // Takes one `board` message received at `now` (ms). Rows it cannot read
  // are skipped rather than shown half-filled.
  update(msg, now) {
    this.top = rows(msg.top, true);
    this.count = isCount(msg.count) ? msg.count : 0;
    if (Array.isArray(msg.global)) {
      this.global = rows(msg.global, false);
      this.globalAt = now;
    } else if (this.global && now - this.globalAt > FLEET_HOLD_MS) {
      this.global = null;
    }
    if (isCount(msg.online)) {
      this.online = msg.online;
      this.onlineAt = now;
    } else if (this.online !== null && now - this.onlineAt > FLEET_HOLD_MS) {
      this.online = null;
    }
  }
}

function rows(list, keepAll) {
  if (!Array.isArray(list)) return [];
  const out = [];
  for (const row of list) {
    if (!Array.isArray(row) || typeof row[0] !== 'string' || typeof row[1] !== 'number') continue;
    out.push(keepAll ? [...row] : [row[0], row[1]]);
    if (out.length === TOP_SIZE) break;
  }
  return out;
}

function isCount(v) {
  return Number.isInteger(v) && v >= 0;
}
