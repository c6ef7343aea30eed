// The DOM around the canvas: start menu, death screen, stats, leaderboard,
// connection banner, notice and toasts.

const TOAST_MS = 4500;
// A notice stays up at least this long, so a quick move does not flash it.
const NOTICE_MIN_MS = 1000;

export class Hud {
  constructor(doc) {
    const $ = (id) => doc.getElementById(id);
    this.doc = doc;
    this.menu = $('menu');
    this.nameInput = $('name');
    this.death = $('death');
    this.deathBy = $('death-by');
    this.deathMass = $('death-mass');
    this.respawnButton = $('respawn');
    this.mass = $('stat-mass');
    this.ping = $('stat-ping');
    this.fps = $('stat-fps');
    this.spectating = $('spectating');
    this.boardList = $('board-list');
    this.boardCount = $('board-count');
    this.boardOnline = $('board-online');
    this.boardTitle = $('board-title');
    this.boardFleet = $('board-fleet');
    this.boardGlobal = $('board-global');
    this.banner = $('banner');
    this.notice = $('notice');
    this.noticeShownAt = 0;
    this.noticeTimer = null;
    this.toasts = $('toasts');
  }

  // Calls play(name) when the menu is submitted.
  onPlay(play) {
    this.menu.addEventListener('submit', (e) => {
      e.preventDefault();
      const name = this.nameInput.value.trim();
      if (name) play(name);
    });
    this.nameInput.focus();
  }

  onRespawn(respawn) {
    this.respawnButton.addEventListener('click', respawn);
  }

  hideMenu() {
    this.menu.hidden = true;
  }

  showDeath(byName, mass) {
    this.deathBy.textContent = byName || 'a spike ball';
    this.deathMass.textContent = String(mass);
    this.death.hidden = false;
    this.respawnButton.focus();
  }

  hideDeath() {
    this.death.hidden = true;
  }

  setStats({ mass, pingMs, fps, spectating }) {
    this.mass.textContent = mass === null ? '—' : String(Math.round(mass));
    this.ping.textContent = pingMs === null ? '—' : `${Math.round(pingMs)} ms`;
    this.fps.textContent = String(fps);
    this.spectating.hidden = !spectating;
  }

  // board: a BoardState. The fleet's column and count show only when the
  // server sends them.
  setBoard(board, ownName) {
    this.boardList.replaceChildren(...this.rows(board.top, ownName));
    this.boardCount.textContent = `${board.count} in arena`;
    this.boardOnline.hidden = board.online === null;
    this.boardOnline.textContent = board.online === null ? '' : `${board.online} online`;
    const fleet = board.global !== null;
    this.boardFleet.hidden = !fleet;
    this.boardTitle.textContent = fleet ? 'This arena' : 'Leaderboard';
    this.boardGlobal.replaceChildren(...(fleet ? this.rows(board.global, ownName) : []));
  }

  rows(top, ownName) {
    return top.map(([name, mass], i) => {
      const li = this.doc.createElement('li');
      if (name === ownName) li.className = 'me';
      const rank = this.doc.createElement('span');
      rank.className = 'rank';
      rank.textContent = `${i + 1}.`;
      const who = this.doc.createElement('span');
      who.className = 'who';
      who.textContent = name || '—';
      const amount = this.doc.createElement('span');
      amount.className = 'mass';
      amount.textContent = String(mass);
      li.append(rank, who, amount);
      return li;
    });
  }

  boardRowCount() {
    return this.boardList.children.length;
  }

  globalRowCount() {
    return this.boardFleet.hidden ? 0 : this.boardGlobal.children.length;
  }

  // A persistent line about the connection; empty text hides it.
  setBanner(text) {
    this.banner.textContent = text;
    this.banner.hidden = !text;
  }

  // A calm line about something that needs no action (moving to another
  // server); hideNotice keeps it up for at least NOTICE_MIN_MS in all.
  showNotice(text) {
    clearTimeout(this.noticeTimer);
    this.noticeTimer = null;
    if (this.notice.hidden) this.noticeShownAt = performance.now();
    this.notice.textContent = text;
    this.notice.hidden = false;
  }

  hideNotice() {
    if (this.notice.hidden || this.noticeTimer !== null) return;
    const wait = NOTICE_MIN_MS - (performance.now() - this.noticeShownAt);
    const hide = () => {
      this.noticeTimer = null;
      this.notice.hidden = true;
    };
    if (wait <= 0) hide();
    else this.noticeTimer = setTimeout(hide, wait);
  }

  toast(text, kind = 'info') {
    const el = this.doc.createElement('div');
    el.className = `toast ${kind}`;
    el.textContent = text;
    this.toasts.append(el);
    setTimeout(() => el.remove(), TOAST_MS);
  }
}
