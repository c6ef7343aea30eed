// The DOM around the canvas: start menu, death screen, stats, leaderboard,
// kill feed, touch boost button, connection banner, notice and toasts.
import { FEED_SHOW_MS } from './feed.js';

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
    this.playingAs = $('playing-as');
    this.feed = $('feed');
    this.boostButton = $('boost');
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

  // spectating: whom the view follows while not alive (a name, or '' for
  // the leader), or null while alive or not in a game.
  setStats({ mass, pingMs, fps, spectating }) {
    this.mass.textContent = mass === null ? '—' : String(Math.round(mass));
    this.ping.textContent = pingMs === null ? '—' : `${Math.round(pingMs)} ms`;
    this.fps.textContent = String(fps);
    this.spectating.hidden = spectating === null;
    if (spectating !== null) {
      this.spectating.textContent = spectating ? `Watching ${spectating}` : 'Spectating the leader';
    }
    // Leaderboard names take clicks only while there is someone to watch.
    this.doc.body.classList.toggle('spectating', spectating !== null);
  }

  // The name the server has us play under (welcome.name, else the one asked for).
  setPlayingAs(name) {
    this.playingAs.textContent = name;
    this.playingAs.parentElement.hidden = !name;
  }

  // Calls watch(id) when a leaderboard row of this arena is clicked.
  onBoardClick(watch) {
    this.boardList.addEventListener('click', (e) => {
      const li = e.target.closest('li[data-id]');
      if (li) watch(Number(li.dataset.id));
    });
  }

  // lines: the FeedState lines shown at `now`, oldest first. Each fades
  // out over its last seconds (a CSS animation started where it stands).
  setFeed(lines, now) {
    const shown = [...this.feed.children].map((li) => li.dataset.key);
    const keys = lines.map((line) => `${line.at}|${line.text}`);
    if (shown.join('\n') === keys.join('\n')) return;
    this.feed.replaceChildren(
      ...lines.map((line, i) => {
        const li = this.doc.createElement('li');
        li.dataset.key = keys[i];
        li.className = line.what === 'spike' ? 'spike' : 'bust';
        li.textContent = line.text;
        li.style.animationDuration = `${FEED_SHOW_MS}ms`;
        li.style.animationDelay = `${-(now - line.at)}ms`;
        return li;
      }),
    );
  }

  feedTexts() {
    return [...this.feed.children].map((li) => li.textContent);
  }

  // Calls hold(true) while the on-screen boost button is pressed, hold(false)
  // when it is let go (touch screens; the button shows there only).
  onBoostButton(hold) {
    const b = this.boostButton;
    b.addEventListener('pointerdown', (e) => {
      e.preventDefault();
      b.setPointerCapture?.(e.pointerId);
      b.classList.add('held');
      hold(true);
    });
    const release = () => {
      b.classList.remove('held');
      hold(false);
    };
    b.addEventListener('pointerup', release);
    b.addEventListener('pointercancel', release);
    b.addEventListener('lostpointercapture', release);
    b.addEventListener('contextmenu', (e) => e.preventDefault());
  }

  // Shows the boost button once the player has touched the screen.
  showBoostButton(show) {
    this.boostButton.hidden = !show;
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
    return top.map(([name, mass, id], i) => {
      const li = this.doc.createElement('li');
      if (name === ownName) li.className = 'me';
      // An older server sends no id: such a row cannot be watched.
      if (Number.isInteger(id) && id > 0) li.dataset.id = String(id);
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
