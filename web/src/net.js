// The WebSocket connection to the server: msgpack framing, the hello
// handshake, automatic reconnection with backoff, and resuming the session
// with the token of the last welcome (PROTOCOL.md "Resume").
import { encode, decode } from '@msgpack/msgpack';

const PROTOCOL_VERSION = 1;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 8000;
// When every arena is full, asking again at once only adds load.
const FULL_RETRY_MS = 5000;

// Close codes of PROTOCOL.md that need more than a plain reconnect.
export const CLOSE_TRY_AGAIN_LATER = 1013; // `full`
export const CLOSE_GOING_AWAY = 1001; // `shutdown`

// Error codes after which reconnecting would only repeat the refusal.
const FATAL_ERRORS = new Set(['version']);
// The server sends a snap every tick and answers each ping, so this much
// silence means a dead path (a lost network closes nothing by itself).
const SILENCE_MS = 5000;

export class Connection {
  // handlers: { message(msg), state(name, detail) }; every server message,
  // including `error`, goes to message().
  constructor(url, name, handlers) {
    this.url = url;
    this.name = name;
    this.handlers = handlers;
    this.socket = null;
    this.token = '';
    this.attempt = 0;
    this.fatal = false;
    this.reconnects = 0;
    this.state = 'idle';
    this.lastHeardAt = 0;
  }

  start() {
    this.open();
    setInterval(() => this.checkSilence(), 1000);
  }

  send(msg) {
    if (this.socket?.readyState === WebSocket.OPEN) {
      this.socket.send(encode(msg));
    }
  }

  open() {
    const reconnecting = this.attempt > 0;
    this.setState(reconnecting ? 'reconnecting' : 'connecting');
    const socket = new WebSocket(this.url);
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    this.lastHeardAt = performance.now();
    socket.onopen = () => {
      const hello = { t: 'hello', v: PROTOCOL_VERSION, name: this.name };
      if (this.token) hello.token = this.token;
      socket.send(encode(hello));
    };
    socket.onmessage = (event) => {
      this.lastHeardAt = performance.now();
      this.receive(event.data);
    };
    socket.onclose = (event) => this.closed(event);
  }

  // Gives up on a connection (or connection attempt) that has gone quiet
  // without waiting for a close handshake that will never come.
  checkSilence() {
    const socket = this.socket;
    if (!socket || performance.now() - this.lastHeardAt < SILENCE_MS) return;
    socket.onclose = socket.onmessage = null;
    socket.close();
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
      this.token = msg.token;
      if (this.attempt > 0) this.reconnects++;
      this.attempt = 0;
      this.setState('open');
    } else if (msg.t === 'error') {
      if (FATAL_ERRORS.has(msg.code)) this.fatal = true;
      // Never offer a refused token again, even if this connection fails
      // before its welcome brings a new one.
      if (msg.code === 'resume_expired') this.token = '';
    }
    this.handlers.message(msg);
  }

  closed(event) {
    this.socket = null;
    if (this.fatal) {
      this.setState('closed', { code: event.code, reason: event.reason });
      return;
    }
    this.attempt++;
    const retryMs = this.retryDelay(event.code);
    this.setState('waiting', { code: event.code, reason: event.reason, retryMs });
    setTimeout(() => this.open(), retryMs);
  }

  // Exponential backoff with jitter, so that a restarted server is not hit
  // by every client in the same instant.
  retryDelay(closeCode) {
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (this.attempt - 1));
    const floor = closeCode === CLOSE_TRY_AGAIN_LATER ? FULL_RETRY_MS : 0;
    return Math.max(floor, base * (0.75 + Math.random() * 0.5));
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
