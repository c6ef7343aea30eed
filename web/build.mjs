// Bundles the client into dist/: src/main.js and its modules into app.js,
// next to the static files of public/. The Go server serves dist/ at "/".
import { build } from 'esbuild';
import { cp, mkdir, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));
const dist = `${root}dist`;

await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });
await cp(`${root}public`, dist, { recursive: true });
await build({
  entryPoints: [`${root}src/main.js`],
  outfile: `${dist}/app.js`,
  bundle: true,
  format: 'esm',
  target: 'es2020',
  minify: true,
  sourcemap: true,
  logLevel: 'warning',
});
console.log(`built ${dist}`);
