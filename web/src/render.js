// Draws one frame on the canvas: the shaded terrain, a faint world grid,
// fragments, spike balls and marbles. Glows and glass shading are painted
// once per colour into small sprites, so a frame is only drawImage calls.
import { Kind } from './interp.js';
import { radiusOf } from './rules.js';

const GRID_UNITS = 100;
const SPRITE_SIZE = 256; // marble sprites, in pixels, glow included
const GLOW = 1.45; // a sprite's half-width over the marble radius
const FRAGMENT_GLOW = 2.3; // the same for fragments, mostly glow
const OWN_HUE = 190;
const ZOMBIE_HUE = 95;
// A spike ball hit flashes the marble for this many ticks.
const SPIKE_FLASH_TICKS = 12;

export class Renderer {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d');
    this.sprites = new Map();
    this.terrainImage = null;
    this.width = 0;
    this.height = 0;
    // The marbles of the last frame in screen pixels ({ id, name, sx, sy,
    // r }), for clicks and tests, and counts of what the effects drew
    // (trails: those of other marbles).
    this.drawn = [];
    this.effects = { pointers: 0, trails: 0, flashes: 0, shields: 0 };
  }

  setTerrain(image) {
    this.terrainImage = image;
  }

  resize() {
    const dpr = window.devicePixelRatio || 1;
    this.width = window.innerWidth;
    this.height = window.innerHeight;
    this.canvas.width = Math.round(this.width * dpr);
    this.canvas.height = Math.round(this.height * dpr);
    this.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  }

  // Scale that fits the server's view rectangle to the screen. "Cover"
  // rather than "contain": nothing outside the view is ever shown empty
  // of the marbles that are really there.
  scaleFor(view) {
    return Math.max(this.width / (2 * view.w), this.height / (2 * view.h));
  }

  // scene: { camera {x, y, scale}, rules, entities, own, timeMs }. A
  // marble may carry heading (radians or null), trail ({x, y} where a
  // boost trail starts, or null) and spikeAge (ticks since a spike hit).
  draw(scene) {
    this.drawn = [];
    const { ctx } = this;
    ctx.fillStyle = '#04060d';
    ctx.fillRect(0, 0, this.width, this.height);
    this.toScreen = makeProjection(scene.camera, this.width, this.height);
    this.drawGround(scene);
    const fragments = [];
    const obstacles = [];
    const marbles = [];
    for (const e of scene.entities) {
      if (e.kind === Kind.FRAGMENT) fragments.push(e);
      else if (e.kind === Kind.OBSTACLE) obstacles.push(e);
      else marbles.push(e);
    }
    if (scene.own) marbles.push(scene.own);
    const scale = scene.camera.scale;
    for (const f of fragments) this.drawFragment(f, radiusOf(scene.rules, f.mass || 1) * scale);
    for (const o of obstacles) this.drawObstacle(o, scene.rules.obstacle_radius * scale, scene.timeMs);
    marbles.sort((a, b) => a.mass - b.mass);
    // Trails first, so no marble is painted over by another's trail.
    for (const m of marbles) if (m.trail) this.drawTrail(m, radiusOf(scene.rules, m.mass) * scale, m === scene.own);
    for (const m of marbles) this.drawMarble(m, radiusOf(scene.rules, m.mass) * scale, m === scene.own);
  }

  // A glowing streak from where the marble was a few ticks ago (or, when
  // it has hardly moved, from behind its heading) to where it is.
  drawTrail(m, radius, isOwn) {
    const [x, y] = this.toScreen(m.x, m.y);
    let [tx, ty] = this.toScreen(m.trail.x, m.trail.y);
    if (Math.hypot(tx - x, ty - y) < radius && m.heading !== null && m.heading !== undefined) {
      tx = x - Math.cos(m.heading) * radius * 2.5;
      ty = y - Math.sin(m.heading) * radius * 2.5;
    }
    if (!this.visible(x, y, radius * 6)) return;
    const { ctx } = this;
    const hue = isOwn ? OWN_HUE : m.kind === Kind.ZOMBIE ? ZOMBIE_HUE : Math.round(hueOf(m.id));
    const gradient = ctx.createLinearGradient(x, y, tx, ty);
    gradient.addColorStop(0, `hsla(${hue}, 100%, 75%, 0.75)`);
    gradient.addColorStop(1, `hsla(${hue}, 100%, 60%, 0)`);
    ctx.save();
    ctx.lineCap = 'round';
    ctx.strokeStyle = gradient;
    ctx.lineWidth = radius * 1.3;
    ctx.beginPath();
    ctx.moveTo(x, y);
    ctx.lineTo(tx, ty);
    ctx.stroke();
    ctx.restore();
    if (!isOwn) this.effects.trails++;
  }

  drawGround({ camera, rules }) {
    const { ctx } = this;
    const [x0, y0] = this.toScreen(0, 0);
    const w = rules.arena_w * camera.scale;
    const h = rules.arena_h * camera.scale;
    if (this.terrainImage) {
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(this.terrainImage, x0, y0, w, h);
    }
    // Grid lines give a sense of speed on flat ground.
    ctx.beginPath();
    const step = GRID_UNITS * camera.scale;
    const left = Math.max(x0, 0);
    const right = Math.min(x0 + w, this.width);
    const top = Math.max(y0, 0);
    const bottom = Math.min(y0 + h, this.height);
    for (let x = x0 + Math.ceil((left - x0) / step) * step; x <= right; x += step) {
      ctx.moveTo(x, top);
      ctx.lineTo(x, bottom);
    }
    for (let y = y0 + Math.ceil((top - y0) / step) * step; y <= bottom; y += step) {
      ctx.moveTo(left, y);
      ctx.lineTo(right, y);
    }
    ctx.strokeStyle = 'rgba(160, 200, 255, 0.06)';
    ctx.lineWidth = 1;
    ctx.stroke();
    // The arena's edge, glowing like a force field.
    ctx.save();
    ctx.strokeStyle = 'rgba(255, 70, 120, 0.85)';
    ctx.shadowColor = 'rgba(255, 70, 120, 0.9)';
    ctx.shadowBlur = 18;
    ctx.lineWidth = 3;
    ctx.strokeRect(x0, y0, w, h);
    ctx.restore();
  }

  drawFragment(f, radius) {
    const [x, y] = this.toScreen(f.x, f.y);
    // Never smaller than a few pixels: food must stay visible zoomed out.
    const size = Math.max(radius, 2) * 2 * FRAGMENT_GLOW;
    if (!this.visible(x, y, size)) return;
    const hue = Math.round(hueOf(f.id));
    const sprite = this.sprite(`f${hue}`, () => paintFragment(hue));
    this.ctx.drawImage(sprite, x - size / 2, y - size / 2, size, size);
  }

  drawObstacle(o, radius, timeMs) {
    const [x, y] = this.toScreen(o.x, o.y);
    const size = radius * 2 * GLOW;
    if (!this.visible(x, y, size)) return;
    const sprite = this.sprite('obstacle', paintSpikeBall);
    const { ctx } = this;
    ctx.save();
    ctx.translate(x, y);
    // A slow spin, different for each ball, makes them read as hazards.
    ctx.rotate((timeMs / 4000 + (o.id % 7)) % (2 * Math.PI));
    ctx.drawImage(sprite, -size / 2, -size / 2, size, size);
    ctx.restore();
  }

  drawMarble(m, radius, isOwn) {
    const [x, y] = this.toScreen(m.x, m.y);
    const size = radius * 2 * GLOW;
    if (!this.visible(x, y, size)) return;
    const zombie = m.kind === Kind.ZOMBIE;
    const hue = Math.round(isOwn ? OWN_HUE : zombie ? ZOMBIE_HUE : hueOf(m.id));
    const sprite = this.sprite(`m${hue}${zombie ? 'z' : ''}`, () => paintMarble(hue, zombie));
    const { ctx } = this;
    ctx.drawImage(sprite, x - size / 2, y - size / 2, size, size);
    this.drawn.push({ id: m.id, name: m.name, sx: x, sy: y, r: radius });
    if (m.spikeAge >= 0 && m.spikeAge < SPIKE_FLASH_TICKS) this.drawFlash(x, y, radius, m.spikeAge / SPIKE_FLASH_TICKS);
    if (m.heading !== null && m.heading !== undefined) this.drawEye(x, y, radius, m.heading);
    if (m.shield > 0) this.drawShield(x, y, radius, m.shield);
    if (isOwn) {
      ctx.beginPath();
      ctx.arc(x, y, radius + 3, 0, 2 * Math.PI);
      ctx.strokeStyle = 'rgba(255, 255, 255, 0.55)';
      ctx.lineWidth = 1.5;
      ctx.stroke();
    }
    if (m.name) this.drawName(m.name, x, y, radius);
  }

  // A bright pupil on the rim where the marble is heading.
  drawEye(x, y, radius, heading) {
    const { ctx } = this;
    const d = radius * 0.72;
    const ex = x + Math.cos(heading) * d;
    const ey = y + Math.sin(heading) * d;
    const r = Math.max(2, radius * 0.2);
    ctx.beginPath();
    ctx.arc(ex, ey, r, 0, 2 * Math.PI);
    ctx.fillStyle = 'rgba(255, 255, 255, 0.9)';
    ctx.fill();
    ctx.beginPath();
    ctx.arc(ex + Math.cos(heading) * r * 0.35, ey + Math.sin(heading) * r * 0.35, r * 0.5, 0, 2 * Math.PI);
    ctx.fillStyle = '#0b0f1e';
    ctx.fill();
    this.effects.pointers++;
  }

  // The spawn shield: a cyan ring whose arc is the part of the shield
  // left (1 to 0).
  drawShield(x, y, radius, left) {
    const { ctx } = this;
    ctx.beginPath();
    ctx.arc(x, y, radius + 7, -Math.PI / 2, -Math.PI / 2 + left * 2 * Math.PI);
    ctx.strokeStyle = 'rgba(120, 230, 255, 0.85)';
    ctx.lineWidth = 3;
    ctx.stroke();
    this.effects.shields++;
  }

  // A red-white burst over a marble that hit a spike ball, fading as
  // `age` (0 to 1) grows.
  drawFlash(x, y, radius, age) {
    const { ctx } = this;
    const glow = ctx.createRadialGradient(x, y, radius * 0.2, x, y, radius * (1.3 + age));
    glow.addColorStop(0, `rgba(255, 255, 255, ${0.85 * (1 - age)})`);
    glow.addColorStop(0.6, `rgba(255, 60, 60, ${0.6 * (1 - age)})`);
    glow.addColorStop(1, 'rgba(255, 60, 60, 0)');
    ctx.fillStyle = glow;
    ctx.beginPath();
    ctx.arc(x, y, radius * (1.3 + age), 0, 2 * Math.PI);
    ctx.fill();
    this.effects.flashes++;
  }

  drawName(name, x, y, radius) {
    const { ctx } = this;
    const size = Math.max(11, Math.min(28, radius * 0.55));
    ctx.font = `600 ${size}px system-ui, sans-serif`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.lineWidth = 3;
    ctx.strokeStyle = 'rgba(0, 0, 0, 0.7)';
    ctx.strokeText(name, x, y);
    ctx.fillStyle = '#fff';
    ctx.fillText(name, x, y);
  }

  visible(x, y, size) {
    return x + size > 0 && y + size > 0 && x - size < this.width && y - size < this.height;
  }

  sprite(key, paint) {
    let sprite = this.sprites.get(key);
    if (!sprite) {
      sprite = paint();
      this.sprites.set(key, sprite);
    }
    return sprite;
  }
}

function makeProjection(camera, width, height) {
  return (x, y) => [(x - camera.x) * camera.scale + width / 2, (y - camera.y) * camera.scale + height / 2];
}

// Spreads ids over the colour wheel by the golden angle, so neighbours in
// id (often spawned together) get clearly different colours.
function hueOf(id) {
  return (id * 137.508) % 360;
}

function spriteCanvas(size) {
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = size;
  return canvas;
}

// A glass marble: outer glow, a body lit from the top left, a rim and a
// specular highlight. Zombies are duller and show a dark core.
function paintMarble(hue, zombie) {
  const canvas = spriteCanvas(SPRITE_SIZE);
  const ctx = canvas.getContext('2d');
  const c = SPRITE_SIZE / 2;
  const r = c / GLOW;
  const sat = zombie ? 35 : 90;
  const glow = ctx.createRadialGradient(c, c, r * 0.8, c, c, c);
  glow.addColorStop(0, `hsla(${hue}, ${sat}%, 60%, ${zombie ? 0.3 : 0.55})`);
  glow.addColorStop(1, `hsla(${hue}, ${sat}%, 60%, 0)`);
  ctx.fillStyle = glow;
  ctx.fillRect(0, 0, SPRITE_SIZE, SPRITE_SIZE);

  const body = ctx.createRadialGradient(c - r * 0.35, c - r * 0.4, r * 0.1, c, c, r);
  body.addColorStop(0, `hsl(${hue}, ${sat}%, ${zombie ? 55 : 72}%)`);
  body.addColorStop(0.55, `hsl(${hue}, ${sat}%, ${zombie ? 32 : 48}%)`);
  body.addColorStop(1, `hsl(${hue}, ${sat}%, ${zombie ? 14 : 22}%)`);
  ctx.beginPath();
  ctx.arc(c, c, r, 0, 2 * Math.PI);
  ctx.fillStyle = body;
  ctx.fill();
  if (zombie) {
    const core = ctx.createRadialGradient(c, c, 0, c, c, r * 0.45);
    core.addColorStop(0, 'rgba(10, 20, 5, 0.55)');
    core.addColorStop(1, 'rgba(10, 20, 5, 0)');
    ctx.fillStyle = core;
    ctx.fill();
  }
  ctx.lineWidth = r * 0.06;
  ctx.strokeStyle = `hsla(${hue}, 100%, 85%, 0.6)`;
  ctx.stroke();

  const shine = ctx.createRadialGradient(c - r * 0.4, c - r * 0.45, 0, c - r * 0.4, c - r * 0.45, r * 0.45);
  shine.addColorStop(0, 'rgba(255, 255, 255, 0.85)');
  shine.addColorStop(1, 'rgba(255, 255, 255, 0)');
  ctx.fillStyle = shine;
  ctx.beginPath();
  ctx.arc(c, c, r, 0, 2 * Math.PI);
  ctx.fill();
  return canvas;
}

// A small glowing gem.
function paintFragment(hue) {
  const size = 48;
  const canvas = spriteCanvas(size);
  const ctx = canvas.getContext('2d');
  const c = size / 2;
  const glow = ctx.createRadialGradient(c, c, 0, c, c, c);
  glow.addColorStop(0, `hsla(${hue}, 100%, 85%, 1)`);
  glow.addColorStop(0.25, `hsla(${hue}, 100%, 65%, 0.9)`);
  glow.addColorStop(0.45, `hsla(${hue}, 100%, 55%, 0.25)`);
  glow.addColorStop(1, `hsla(${hue}, 100%, 50%, 0)`);
  ctx.fillStyle = glow;
  ctx.fillRect(0, 0, size, size);
  return canvas;
}

// A dark metal ball with red-hot spikes.
function paintSpikeBall() {
  const canvas = spriteCanvas(SPRITE_SIZE);
  const ctx = canvas.getContext('2d');
  const c = SPRITE_SIZE / 2;
  const r = c / GLOW;
  const glow = ctx.createRadialGradient(c, c, r * 0.6, c, c, c);
  glow.addColorStop(0, 'rgba(255, 60, 40, 0.45)');
  glow.addColorStop(1, 'rgba(255, 60, 40, 0)');
  ctx.fillStyle = glow;
  ctx.fillRect(0, 0, SPRITE_SIZE, SPRITE_SIZE);

  const spikes = 14;
  ctx.beginPath();
  for (let i = 0; i < spikes * 2; i++) {
    const a = (i / (spikes * 2)) * 2 * Math.PI;
    const d = i % 2 === 0 ? r : r * 0.68;
    ctx.lineTo(c + Math.cos(a) * d, c + Math.sin(a) * d);
  }
  ctx.closePath();
  const metal = ctx.createRadialGradient(c - r * 0.3, c - r * 0.3, r * 0.1, c, c, r);
  metal.addColorStop(0, '#ffb199');
  metal.addColorStop(0.5, '#c0302a');
  metal.addColorStop(1, '#4a0a10');
  ctx.fillStyle = metal;
  ctx.fill();
  ctx.lineWidth = 2;
  ctx.strokeStyle = 'rgba(255, 200, 180, 0.7)';
  ctx.stroke();

  const core = ctx.createRadialGradient(c - r * 0.2, c - r * 0.2, 0, c, c, r * 0.6);
  core.addColorStop(0, '#5b5f6b');
  core.addColorStop(1, '#15161c');
  ctx.beginPath();
  ctx.arc(c, c, r * 0.58, 0, 2 * Math.PI);
  ctx.fillStyle = core;
  ctx.fill();
  return canvas;
}
