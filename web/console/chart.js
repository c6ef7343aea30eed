// A small line chart of an arena's tick p50 and p99 over the last minute
// of the live stream, drawn on its own canvas.

export const CHART_POINTS = 60; // one a second

const WIDTH = 180;
const HEIGHT = 36;

export function newChart() {
  const canvas = document.createElement('canvas');
  canvas.className = 'chart';
  const ratio = window.devicePixelRatio || 1;
  canvas.width = WIDTH * ratio;
  canvas.height = HEIGHT * ratio;
  canvas.style.width = `${WIDTH}px`;
  canvas.style.height = `${HEIGHT}px`;
  canvas.getContext('2d').scale(ratio, ratio);
  return canvas;
}

// drawChart draws points ([{p50, p99}], oldest first) scaled to their
// largest p99, at least 1 ms, with that scale written in a corner.
export function drawChart(canvas, points) {
  const g = canvas.getContext('2d');
  g.clearRect(0, 0, WIDTH, HEIGHT);
  const top = Math.max(1, ...points.map((p) => p.p99)) * 1.1;
  const x = (i) => WIDTH - (points.length - 1 - i) * (WIDTH / (CHART_POINTS - 1));
  const y = (v) => HEIGHT - 2 - (v / top) * (HEIGHT - 4);
  const line = (key, colour) => {
    g.strokeStyle = colour;
    g.lineWidth = 1.5;
    g.beginPath();
    points.forEach((p, i) => (i === 0 ? g.moveTo(x(i), y(p[key])) : g.lineTo(x(i), y(p[key]))));
    g.stroke();
  };
  line('p50', '#5fa8d3');
  line('p99', '#ffb84d');
  g.fillStyle = '#8a94a0';
  g.font = '10px sans-serif';
  g.fillText(`${(top / 1.1).toFixed(1)} ms`, 3, 10);
}
