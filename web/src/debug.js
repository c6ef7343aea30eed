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
    // Welcomes that followed a `moved`, and the last `moved` ({url, why}).
    get moves() {
      return game.connection?.moves ?? 0;
    },
    get lastMove() {
      return game.stats.lastMove && { ...game.stats.lastMove };
    },
    // The WebSocket URL of the node of the last welcome (also
    // document.body.dataset.server).
    get server() {
      return game.connection?.server ?? '';
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
    // global and online are null when the server sends none (one node).
    get board() {
      const b = game.board;
      return {
        count: b.count,
        top: b.top.map((row) => [...row]),
        global: b.global && b.global.map((row) => [...row]),
        online: b.online,
      };
    },
    get boardRows() {
      return game.hud.boardRowCount();
    },
    get globalRows() {
      return game.hud.globalRowCount();
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
    // The performance.now() of the last frame that drew our marble.
    get ownDrawnAt() {
      return game.stats.ownDrawnAt;
    },
    get fps() {
      return game.stats.fps;
    },
    // The name we play under (welcome.name when the server changed ours).
    get name() {
      return game.name;
    },
    // The kill feed lines on screen, oldest first.
    get feed() {
      return game.hud.feedTexts();
    },
    // While not alive: the id the view follows (snap.eye), else null.
    get eye() {
      return game.eye;
    },
    get watchesSent() {
      return game.stats.watchesSent;
    },
    // The other marbles in view with what the server says of them.
    get marbles() {
      return [...game.table.entities.values()]
        .filter((e) => e.kind === 0 || e.kind === 1)
        .map((e) => ({ id: e.id, name: e.name, heading: e.heading, boosting: e.boosting, spikeTick: e.spikeTick }));
    },
    // The marbles of the last frame in screen pixels ({ id, name, sx, sy, r }).
    get drawn() {
      return game.renderer.drawn.map((m) => ({ ...m }));
    },
    // How often the renderer drew heading eyes, other marbles' boost
    // trails and spike flashes since the page loaded.
    get effects() {
      return { ...game.renderer.effects };
    },
    // Steering as the player holds it now, and the last input sent.
    get steering() {
      return { angle: game.steering.angle, boost: game.steering.boost };
    },
    get lastInput() {
      return game.lastInput && { ...game.lastInput };
    },
    // Watching a recording: the replay server's last status, the tick of
    // the newest snap, and the tick and time the controls show; null live.
    get replay() {
      const r = game.replay;
      if (!r.active) return null;
      return {
        ...r.status,
        players: r.status.players.map((p) => ({ ...p })),
        snapTick: game.lastSnapTick,
        shownTick: Number(r.tickText.dataset.tick ?? NaN),
        tickText: r.tickText.textContent,
        timeText: r.timeText.textContent,
        seeking: r.seekingTo !== null,
      };
    },
  };
  Object.defineProperty(window, '__shatter', { value: Object.freeze(debug), enumerable: false });
}
