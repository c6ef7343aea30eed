// The DOM around the canvas: start menu, death screen, stats, leaderboard,
// connection banner and toasts.

const TOAST_MS = 4500;

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
    this.banner = $('banner');
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

  setBoard(top, count, ownName) {
    const rows = top.map(([name, mass], i) => {
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
    this.boardList.replaceChildren(...rows);
    this.boardCount.textContent = `${count} in arena`;
  }

  boardRowCount() {
    return this.boardList.children.length;
  }

  // A persistent line about the connection; empty text hides it.
  setBanner(text) {
    this.banner.textContent = text;
    this.banner.hidden = !text;
  }

  toast(text, kind = 'info') {
    const el = this.doc.createElement('div');
    el.className = `toast ${kind}`;
    el.textContent = text;
    this.toasts.append(el);
    setTimeout(() => el.remove(), TOAST_MS);
  }
}
