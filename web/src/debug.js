// A read-only window onto the client's state for tests and for people
// debugging in the console: window.__shatter. Every getter returns a copy,
// so nothing read from it can change the game.

export function installDebug(game) {
  const debug = {
    get connection() {
      return game.connection?.state ?? 'idle';
    },
    get phase() {
      return game.phase;
    },
    get session() {
      return game.welcome?.session ?? null;
    },
    get reconnects() {
      return game.connection?.reconnects ?? 0;
    },
    get snapshots() {
      return game.stats.snapshots;
    },
    get inputsSent() {
      return game.stats.inputsSent;
    },
    get deaths() {
      return game.stats.deaths;
    },
    get alive() {
      return game.ownId !== null;
    },
    get arena() {
      return { w: game.rules.arena_w, h: game.rules.arena_h };
    },
    // The server's positions of our marble, oldest first, in arena units.
    get positions() {
      return game.stats.positions.map((p) => ({ ...p }));
    },
    get board() {
      return { count: game.board.count, top: game.board.top.map((row) => [...row]) };
    },
    get boardRows() {
      return game.hud.boardRowCount();
    },
    // The largest reconciliation error since the last welcome, in arena
    // units: small means the prediction matches the server.
    get largestCorrection() {
      return game.predictor?.largestCorrection ?? 0;
    },
    get entities() {
      return game.table.entities.size;
    },
    get errors() {
      return game.stats.errors.map((e) => ({ ...e }));
    },
    get pingMs() {
      return game.pingMs;
    },
    get fps() {
      return game.stats.fps;
    },
  };
  Object.defineProperty(window, '__shatter', { value: Object.freeze(debug), enumerable: false });
}
