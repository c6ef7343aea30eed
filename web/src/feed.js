// The kill feed: the `feed` messages (PROTOCOL.md) of this arena turned
// into short lines, the last FEED_SIZE of them, each with the time it
// arrived so the HUD can fade it out.

export const FEED_SIZE = 5;
// A line is shown this long, fading over its last part.
export const FEED_SHOW_MS = 8000;

export class FeedState {
  constructor() {
    this.lines = []; // { text, what, at } oldest first
  }

  // Takes one `feed` message received at `now` (ms); events it cannot read
  // are skipped. Returns the lines it added.
  update(msg, now) {
    const added = [];
    for (const ev of Array.isArray(msg?.ev) ? msg.ev : []) {
      const text = feedText(ev);
      if (text) added.push({ text, what: ev[0], at: now });
    }
    this.lines.push(...added);
    if (this.lines.length > FEED_SIZE) this.lines.splice(0, this.lines.length - FEED_SIZE);
    return added;
  }

  // The lines still shown at `now`, oldest first.
  visible(now) {
    return this.lines.filter((line) => now - line.at < FEED_SHOW_MS);
  }
}

// One event [what, id, name, by, by_name, mass] in words, or '' for one
// this client does not know (a later revision may add kinds).
export function feedText(ev) {
  if (!Array.isArray(ev) || typeof ev[0] !== 'string') return '';
  const [what, , name, , byName, mass] = ev;
  const victim = nameOr(name, 'a marble');
  const amount = Number.isFinite(mass) ? Math.round(mass) : 0;
  if (what === 'bust') return `${nameOr(byName, 'Something')} busted ${victim} (${amount})`;
  if (what === 'spike') return `${victim} hit a spike ball (-${amount})`;
  return '';
}

function nameOr(name, fallback) {
  return typeof name === 'string' && name ? name : fallback;
}
