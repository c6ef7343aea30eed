// The WebSocket connection to the server: msgpack framing, the hello
// handshake, automatic reconnection with backoff, resuming the session with
// the latest token (PROTOCOL.md "Resume"), and following the fleet
// (PROTOCOL.md "Fleet"): on `moved` it goes to the node named there with
// the seat, back to where it came from if that node cannot be reached, and
// to the page's origin when the node it plays on is gone.
import { encode, decode } from '@msgpack/msgpack';

const PROTOCOL_VERSION = 1;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 8000;
// When every arena is full, asking again at once only adds load.
const FULL_RETRY_MS = 5000;
// PROTOCOL.md: a `moved` URL that cannot be reached for this long sends the
// client back to where it came from, with its token.
export const MOVE_TIMEOUT_MS = 5000;
// Moves in a row without a welcome beyond this many wait out the backoff
// first, so a fleet that keeps bouncing the client is not hammered by it.
const FREE_MOVES = 3;

// Close codes of PROTOCOL.md that need more than a plain reconnect.
export const CLOSE_GOING_AWAY = 1001; // `shutdown`
export const CLOSE_TRY_AGAIN_LATER = 1013; // `full`
export const CLOSE_MOVED = 4003; // after `moved`
export const CLOSE_KICKED = 4004; // `kicked`: never reconnect by itself

// Error codes after which reconnecting would only repeat the refusal.
const FATAL_ERRORS = new Set(['version', 'kicked']);
// Error codes after which the client waits for the player (wake) rather
// than reconnecting by itself: `idle` closed a session nobody played, and
// a session opened again would only sit idle until the next one.
const WAIT_ERRORS = new Set(['idle']);
// The server sends a snap every tick and answers each ping, so this much
// silence means a dead path (a lost network closes nothing by itself).
const SILENCE_MS = 5000;

const WS_OPEN = 1;

// What the connection takes from the browser; tests pass their own.
export function browserEnv() {
  return {
    WebSocket: globalThis.WebSocket,
    now: () => performance.now(),
    random: Math.random,
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (id) => clearTimeout(id),
    setInterval: (fn, ms) => setInterval(fn, ms),
  };
}

// States passed to handlers.state(name, detail):
//   connecting    the first connection to the page's origin
//   reconnecting  a later attempt, with the token (a resume)
//   moving        on the way to the node of a `moved` (detail: why, url)
//   open          welcomed (detail: url, the node's WebSocket URL)
//   waiting       between attempts (detail: code, reason, retryMs)
//   asleep        closed after `idle`; wake() connects again (detail: code, reason)
//   closed        for good: a fatal error or kicked (detail: code, reason)
export class Connection {
  // url is the WebSocket of the page's origin: the first node, and the way
  // back when the node the player is on is gone (any node of a fleet
  // honours a token). handlers: { message(msg), state(name, detail) };
  // every server message, `error` and `moved` included, goes to message().
  constructor(url, name, handlers, env = browserEnv()) {
    this.home = url;
    this.url = url; // the node this player plays on, or last played on
    this.name = name;
    this.handlers = handlers;
    this.env = env;
    this.socket = null;
    this.target = ''; // the URL `socket` was opened to
    this.opened = false; // `socket` is open (the node was reached)
    this.welcomed = false; // `socket` had its welcome
    this.server = ''; // the node of the last welcome
    this.token = ''; // always the latest one received
    // A `moved` being followed: { url, seat, why, from, deadline }.
    this.move = null;
    this.moveTimer = null;
    this.retryTimer = null;
    this.unwelcomedMoves = 0;
    this.attempt = 0; // failed or dropped connections since the last welcome
    this.fatal = false;
    this.asleep = false; // closed after `idle`, until wake()
    this.reconnects = 0; // welcomes after a drop
    this.moves = 0; // welcomes after a `moved`
    this.state = 'idle';
    this.lastHeardAt = 0;
  }

  start() {
    this.open();
    this.env.setInterval(() => this.checkSilence(), 1000);
  }

  // Connects again after `idle` (the player is back), as a new session
  // (the token of a session without a marble has expired). Does nothing
  // unless asleep.
  wake() {
    if (!this.asleep || this.socket) return;
    this.asleep = false;
    this.attempt = 0;
    this.open();
  }

  send(msg) {
    if (this.socket?.readyState === WS_OPEN) {
      this.socket.send(encode(msg));
    }
  }

  open() {
    this.cancelRetry();
    const move = this.move;
    const target = move ? move.url : this.url;
    if (move) this.setState('moving', { why: move.why, url: move.url });
    else this.setState(this.attempt > 0 ? 'reconnecting' : 'connecting');
    const socket = new this.env.WebSocket(target);
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    this.target = target;
    this.opened = false;
    this.welcomed = false;
    this.lastHeardAt = this.env.now();
    socket.onopen = () => {
      this.opened = true;
      socket.send(encode(this.hello()));
    };
    socket.onmessage = (event) => {
      this.lastHeardAt = this.env.now();
      this.receive(event.data);
    };
    socket.onclose = (event) => this.closed(event);
  }

  // A seat wins over a token (PROTOCOL.md "Fleet"), and needs none.
  hello() {
    const hello = { t: 'hello', v: PROTOCOL_VERSION, name: this.name };
    if (this.move) {
      if (this.move.seat) hello.seat = this.move.seat;
    } else if (this.token) {
      hello.token = this.token;
    }
    return hello;
  }

  // Gives up on a connection (or connection attempt) that has gone quiet
  // without waiting for a close handshake that will never come.
  checkSilence() {
    const socket = this.socket;
    if (!socket || this.env.now() - this.lastHeardAt < SILENCE_MS) return;
    this.abandon(socket);
    this.closed({ code: 0, reason: 'the server went silent' });
  }

  receive(data) {
    if (!(data instanceof ArrayBuffer)) return; // the protocol is binary only
    let msg;
    try {
      msg = decode(new Uint8Array(data));
    } catch (err) {
      console.warn('shatter: undecodable frame', err);
      return;
    }
    if (msg === null || typeof msg !== 'object' || typeof msg.t !== 'string') return;
    if (msg.t === 'welcome') {
      this.welcomed = true;
      if (typeof msg.token === 'string') this.token = msg.token;
      // Whichever node welcomed us is the one we play on now.
      this.url = this.server = this.target;
      if (this.move) {
        this.moves++;
        this.endMove();
      } else if (this.attempt > 0) {
        this.reconnects++;
      }
      this.attempt = 0;
      this.unwelcomedMoves = 0;
      this.setState('open', { url: this.server });
    } else if (msg.t === 'error') {
      if (FATAL_ERRORS.has(msg.code)) this.fatal = true;
      if (WAIT_ERRORS.has(msg.code)) this.asleep = true;
      // Never offer a refused token again, even if this connection fails
      // before its welcome brings a new one.
      if (msg.code === 'resume_expired') this.token = '';
      // The node goes on with a new session; a retry must not offer the
      // seat again either.
      if (msg.code === 'bad_seat' && this.move) this.move.seat = '';
    }
    this.handlers.message(msg);
    if (msg.t === 'moved') this.follow(msg);
  }

  // PROTOCOL.md `moved`: the last message of this connection (close 4003
  // follows, and is not waited for). A malformed one is ignored, so its
  // close is a plain drop and the client resumes where it was.
  follow(msg) {
    if (typeof msg.url !== 'string' || !/^wss?:\/\//i.test(msg.url) || typeof msg.seat !== 'string') return;
    const from = this.target;
    this.abandon(this.socket);
    this.endMove();
    this.cancelRetry();
    this.move = {
      url: msg.url,
      seat: msg.seat,
      why: typeof msg.why === 'string' ? msg.why : '',
      from,
      deadline: this.env.now() + MOVE_TIMEOUT_MS,
    };
    this.moveTimer = this.env.setTimeout(() => this.moveTimedOut(), MOVE_TIMEOUT_MS);
    this.attempt = 0;
    this.unwelcomedMoves++;
    if (this.unwelcomedMoves > FREE_MOVES) {
      this.setState('moving', { why: this.move.why, url: this.move.url });
      this.schedule(this.backoff(this.unwelcomedMoves - FREE_MOVES));
    } else {
      this.open();
    }
  }

  // The moved URL was not reached in time: back to where the `moved` came
  // from, with the token. A connection that did reach it is left to finish
  // (its silence or close decides).
  moveTimedOut() {
    this.moveTimer = null;
    const move = this.move;
    if (!move || (this.socket && this.opened)) return;
    this.endMove();
    this.abandon(this.socket);
    this.url = move.from;
    this.attempt = Math.max(this.attempt, 1);
    this.open();
  }

  closed(event) {
    const welcomed = this.welcomed;
    this.socket = null;
    if (event.code === CLOSE_KICKED) this.fatal = true;
    if (this.fatal || this.asleep) {
      this.endMove();
      this.cancelRetry();
      this.setState(this.fatal ? 'closed' : 'asleep', { code: event.code, reason: event.reason });
      return;
    }
    this.attempt++;
    if (this.move) {
      const left = this.move.deadline - this.env.now();
      if (left <= 0) {
        this.moveTimedOut();
      } else {
        // Stays 'moving': the notice is still true.
        this.schedule(Math.min(left, this.retryDelay(event.code)));
      }
      return;
    }
    // A connection that never got its welcome was a failed (re)connect:
    // the node is unreachable, or refuses us. Any node of the fleet honours
    // the token, so the way back is through the page's origin. A single
    // node is its own origin, and nothing changes there.
    if (!welcomed) this.url = this.home;
    const retryMs = this.retryDelay(event.code);
    this.setState('waiting', { code: event.code, reason: event.reason, retryMs });
    this.schedule(retryMs);
  }

  // Exponential backoff with jitter, so that a restarted server is not hit
  // by every client in the same instant.
  retryDelay(closeCode) {
    const floor = closeCode === CLOSE_TRY_AGAIN_LATER ? FULL_RETRY_MS : 0;
    return Math.max(floor, this.backoff(this.attempt));
  }

  backoff(attempt) {
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (attempt - 1));
    return base * (0.75 + this.env.random() * 0.5);
  }

  schedule(ms) {
    this.cancelRetry();
    this.retryTimer = this.env.setTimeout(() => this.open(), ms);
  }

  cancelRetry() {
    if (this.retryTimer !== null) this.env.clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  endMove() {
    if (this.moveTimer !== null) this.env.clearTimeout(this.moveTimer);
    this.moveTimer = null;
    this.move = null;
  }

  // Closes a socket that no longer concerns us, silencing its handlers.
  abandon(socket) {
    if (!socket) return;
    socket.onopen = socket.onmessage = socket.onclose = null;
    try {
      socket.close();
    } catch {
      // already closed
    }
    if (this.socket === socket) this.socket = null;
  }

  setState(name, detail = {}) {
    this.state = name;
    this.handlers.state(name, detail);
  }
}

// The WebSocket endpoint on the origin that served the page.
export function socketURL(location) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws`;
}
