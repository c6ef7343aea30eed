// The arena's heightmap from welcome.terrain: the slope query that
// mirrors ecs/terrain.go (the prediction needs the same downhill pull the
// server simulates), and the shaded picture the renderer draws under the
// marbles.

export class Terrain {
  constructor({ n, h }, arenaW, arenaH) {
    this.n = n;
    this.heights = h; // Uint8Array, n*n, row-major, height*255
    this.arenaW = arenaW;
    this.arenaH = arenaH;
    this.cellW = arenaW / (n - 1);
    this.cellH = arenaH / (n - 1);
  }

  sample(x, y) {
    const n = this.n;
    x = Math.min(Math.max(x, 0), n - 1);
    y = Math.min(Math.max(y, 0), n - 1);
    return this.heights[y * n + x] / 255;
  }

  // The sample cell holding an arena point and the point's offset inside it.
  locate(px, py) {
    const n = this.n;
    const gx = Math.min(Math.max(px / this.cellW, 0), n - 1);
    const gy = Math.min(Math.max(py / this.cellH, 0), n - 1);
    const x0 = Math.min(Math.floor(gx), n - 2);
    const y0 = Math.min(Math.floor(gy), n - 2);
    return { x0, y0, fx: gx - x0, fy: gy - y0 };
  }

  // Height gradient (height per unit of distance) of the bilinear surface.
  slope(px, py) {
    const { x0, y0, fx, fy } = this.locate(px, py);
    const h00 = this.sample(x0, y0);
    const h10 = this.sample(x0 + 1, y0);
    const h01 = this.sample(x0, y0 + 1);
    const h11 = this.sample(x0 + 1, y0 + 1);
    return {
      dx: ((h10 - h00) * (1 - fy) + (h11 - h01) * fy) / this.cellW,
      dy: ((h01 - h00) * (1 - fx) + (h11 - h10) * fx) / this.cellH,
    };
  }
}

const IMAGE_SIDE = 1024;
const CONTOUR_STEP = 1 / 14; // height between two contour lines
const LIGHT = normalize([-1, -1, 1.6]); // from the top left, as in most maps
// Exaggerates the relief so that the shading shows gentle hills too.
const RELIEF = 2200;
const PALETTE_STEPS = 1024;

// Paints the terrain once into an offscreen canvas covering the arena:
// dark valleys rising to violet heights, hill-shaded from the top left,
// with faint contour lines so that slopes read at a glance. The picture
// uses a smooth (Catmull-Rom) surface through the samples: the bilinear one
// the physics uses has a slope that jumps at every sample and would shade
// as visible tiles. The loop is plain arithmetic because it runs a million
// times while the player waits for the first frame.
export function paintTerrain(terrain) {
  const side = IMAGE_SIDE;
  const heights = smoothHeights(terrain, side);
  const palette = makePalette(PALETTE_STEPS);
  const canvas = document.createElement('canvas');
  canvas.width = side;
  canvas.height = side;
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(side, side);
  const px = image.data;
  const unitsPerPixel = terrain.arenaW / side;
  const toSlopeX = RELIEF / (2 * unitsPerPixel);
  const toSlopeY = RELIEF / (2 * (terrain.arenaH / side));
  const [lx, ly, lz] = LIGHT;
  for (let j = 0; j < side; j++) {
    const row = j * side;
    const up = Math.max(j - 1, 0) * side;
    const down = Math.min(j + 1, side - 1) * side;
    for (let i = 0; i < side; i++) {
      const left = Math.max(i - 1, 0);
      const right = Math.min(i + 1, side - 1);
      const h = heights[row + i];
      // Surface normal of the exaggerated relief: (-dx, -dy, 1), normalized.
      const nx = -(heights[row + right] - heights[row + left]) * toSlopeX;
      const ny = -(heights[down + i] - heights[up + i]) * toSlopeY;
      const light = (nx * lx + ny * ly + lz) / Math.sqrt(nx * nx + ny * ny + 1);
      const shade = 0.35 + 0.85 * Math.max(0, light);
      const heightPerPixel = (Math.sqrt(nx * nx + ny * ny) / RELIEF) * unitsPerPixel;
      const contour = contourStrength(h, heightPerPixel);
      const c = Math.min(Math.max(Math.round(h * (PALETTE_STEPS - 1)), 0), PALETTE_STEPS - 1) * 3;
      const k = (row + i) * 4;
      px[k] = palette[c] * shade + contour * 60;
      px[k + 1] = palette[c + 1] * shade + contour * 70;
      px[k + 2] = palette[c + 2] * shade + contour * 110;
      px[k + 3] = 255;
    }
  }
  ctx.putImageData(image, 0, 0);
  return canvas;
}

// Heights on a side x side pixel grid, by Catmull-Rom interpolation of the
// samples, first along rows and then along columns.
function smoothHeights(terrain, side) {
  const n = terrain.n;
  const rows = new Float32Array(n * side);
  for (let y = 0; y < n; y++) {
    for (let i = 0; i < side; i++) {
      const g = ((i + 0.5) / side) * (n - 1);
      const x0 = Math.min(Math.floor(g), n - 2);
      rows[y * side + i] = catmullRom(
        terrain.sample(x0 - 1, y), terrain.sample(x0, y), terrain.sample(x0 + 1, y), terrain.sample(x0 + 2, y), g - x0);
    }
  }
  const row = (y, i) => rows[Math.min(Math.max(y, 0), n - 1) * side + i];
  const out = new Float32Array(side * side);
  for (let j = 0; j < side; j++) {
    const g = ((j + 0.5) / side) * (n - 1);
    const y0 = Math.min(Math.floor(g), n - 2);
    const t = g - y0;
    for (let i = 0; i < side; i++) {
      out[j * side + i] = catmullRom(row(y0 - 1, i), row(y0, i), row(y0 + 1, i), row(y0 + 2, i), t);
    }
  }
  return out;
}

function catmullRom(p0, p1, p2, p3, t) {
  return p1 + 0.5 * t * (p2 - p0 + t * (2 * p0 - 5 * p1 + 4 * p2 - p3 + t * (3 * (p1 - p2) + p3 - p0)));
}

// Colour ramp from deep night-blue lowlands to violet heights.
const RAMP = [
  [0.0, [10, 16, 34]],
  [0.35, [18, 36, 62]],
  [0.6, [34, 48, 92]],
  [0.8, [62, 50, 112]],
  [1.0, [112, 84, 150]],
];

// The ramp's colour for `steps` evenly spaced heights, as flat RGB triples.
function makePalette(steps) {
  const palette = new Float32Array(steps * 3);
  for (let s = 0; s < steps; s++) {
    const h = s / (steps - 1);
    const i = RAMP.findIndex(([top]) => h <= top);
    const [h0, c0] = RAMP[Math.max(i - 1, 0)];
    const [h1, c1] = RAMP[i];
    const t = h1 > h0 ? (h - h0) / (h1 - h0) : 0;
    for (let k = 0; k < 3; k++) palette[s * 3 + k] = c0[k] + (c1[k] - c0[k]) * t;
  }
  return palette;
}

// How close a height lies to a contour line, widened by the height change
// across one pixel so lines stay one pixel thick on steep and flat ground.
function contourStrength(h, heightPerPixel) {
  const phase = h / CONTOUR_STEP;
  const distance = Math.abs(phase - Math.round(phase)) * CONTOUR_STEP;
  const width = Math.max(heightPerPixel, 1e-6) * 0.9;
  return Math.max(0, 1 - distance / width) * 0.5;
}

function normalize(v) {
  const len = Math.hypot(...v);
  return v.map((c) => c / len);
}

