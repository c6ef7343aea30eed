// Maps local time to the server's tick timeline. Every snap says which tick
// it shows; the clock keeps a smoothed offset between that tick and the
// local time the snap arrived, so rendering can ask "which tick is it now"
// at any display frame without jumping on network jitter.

// A snap can arrive late (queueing, a busy main thread) but never early, so
// a measurement ahead of the clock is news and is taken in quickly, while
// one behind it is probably jitter and only nudges the clock.
const CATCH_UP = 0.5;
const FALL_BACK = 0.02;
// Beyond this many ticks of disagreement (a resume, a stall, a new arena)
// the old offset is meaningless and is replaced outright.
const RESET_TICKS = 10;

export class TickClock {
  constructor() {
    this.rate = 30;
    this.offset = null; // server tick minus local time in ticks
  }

  // Forgets the timeline (a new connection); the next snap sets it.
  reset(rate) {
    this.rate = rate;
    this.offset = null;
  }

  // Records that the server's `tick` was received at local time nowMs.
  observe(tick, nowMs) {
    const measured = tick - this.localTicks(nowMs);
    if (this.offset === null || Math.abs(measured - this.offset) > RESET_TICKS) {
      this.offset = measured;
    } else {
      this.offset += (measured - this.offset) * (measured > this.offset ? CATCH_UP : FALL_BACK);
    }
  }

  // The (fractional) tick of the newest snap we would expect to hold now.
  now(nowMs) {
    return this.localTicks(nowMs) + (this.offset ?? 0);
  }

  localTicks(nowMs) {
    return (nowMs / 1000) * this.rate;
  }
}
