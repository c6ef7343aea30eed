// Mouse, keyboard and touch: the heading is the direction from the screen
// centre (where the own marble is drawn) to the pointer or the finger;
// boost is held with any mouse button, Space, or, on a touch screen, the
// on-screen boost button (a finger on the canvas only steers). Decides
// when a change is worth an `input` message.

// Smallest heading change worth telling the server about (about 2 degrees).
const MIN_ANGLE_CHANGE = 0.035;
// At most ~30 inputs a second; the server accepts 60.
const MIN_INTERVAL_MS = 33;
// A held boost is sent again this often: the server lets a boost wish
// lapse when no input has come for `boost_hold` (1 s by default), so that
// a client that went quiet stops burning mass.
export const BOOST_REFRESH_MS = 250;

export class Steering {
  constructor(target) {
    this.angle = 0;
    this.pointerBoost = false;
    this.keyBoost = false;
    this.buttonBoost = false; // the touch screen's boost button
    this.touched = false; // a finger has steered: show the boost button
    this.onTouch = null; // called once, on the first touch
    this.sent = null; // { angle, boost } last sent
    this.sentAt = -Infinity;

    target.addEventListener('pointermove', (e) => this.point(e));
    target.addEventListener('pointerdown', (e) => {
      this.point(e);
      if (e.pointerType === 'touch') this.touchedNow();
      else this.pointerBoost = true;
    });
    window.addEventListener('pointerup', () => (this.pointerBoost = false));
    window.addEventListener('blur', () => (this.pointerBoost = this.keyBoost = this.buttonBoost = false));
    window.addEventListener('keydown', (e) => {
      if (e.code === 'Space' && !isTyping(e)) {
        this.keyBoost = true;
        e.preventDefault();
      }
    });
    window.addEventListener('keyup', (e) => {
      if (e.code === 'Space') this.keyBoost = false;
    });
    target.addEventListener('contextmenu', (e) => e.preventDefault());
  }

  point(e) {
    const dx = e.clientX - window.innerWidth / 2;
    const dy = e.clientY - window.innerHeight / 2;
    // Canvas coordinates grow downward, as the arena's y does, so atan2
    // gives the protocol's angle directly.
    if (dx !== 0 || dy !== 0) this.angle = Math.atan2(dy, dx);
  }

  touchedNow() {
    if (this.touched) return;
    this.touched = true;
    this.onTouch?.();
  }

  // The on-screen boost button, pressed or let go.
  holdButton(held) {
    this.buttonBoost = held;
    if (held) this.touchedNow();
  }

  get boost() {
    return this.pointerBoost || this.keyBoost || this.buttonBoost;
  }

  // The wish to send now, or null when the last one still stands.
  // `force` resends regardless of change (a new marble or session); a
  // held boost is resent every BOOST_REFRESH_MS.
  due(nowMs, force) {
    if (nowMs - this.sentAt < MIN_INTERVAL_MS) return null;
    const wish = { angle: this.angle, boost: this.boost };
    const last = this.sent;
    const changed =
      !last || last.boost !== wish.boost || Math.abs(angleBetween(last.angle, wish.angle)) >= MIN_ANGLE_CHANGE;
    const refresh = wish.boost && nowMs - this.sentAt >= BOOST_REFRESH_MS;
    if (!changed && !force && !refresh) return null;
    this.sent = wish;
    this.sentAt = nowMs;
    return wish;
  }
}

function angleBetween(a, b) {
  return Math.atan2(Math.sin(b - a), Math.cos(b - a));
}

function isTyping(e) {
  return e.target instanceof HTMLInputElement;
}
