// Bundles the client into dist/: src/main.js and its modules into app.js,
// next to the static files of public/. The Go server serves dist/ at "/".
// The operator's console goes into dist/console/ (console/main.js into
// console.js, next to its page and style), which the admin listener
// serves at its "/".
import { build } from 'esbuild';
import { cp, mkdir, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));
const dist = `${root}dist`;

await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });
await cp(`${root}public`, dist, { recursive: true });
await mkdir(`${dist}/console`);
for (const f of ['index.html', 'console.css']) await cp(`${root}console/${f}`, `${dist}/console/${f}`);
// The game's icon, also so that the browser asks no /favicon.ico of the
// admin API (401 with a token).
await cp(`${root}public/favicon.svg`, `${dist}/console/favicon.svg`);
const common = { bundle: true, format: 'esm', target: 'es2020', minify: true, sourcemap: true, logLevel: 'warning' };
await build({ ...common, entryPoints: [`${root}console/main.js`], outfile: `${dist}/console/console.js` });
await build({ ...common, entryPoints: [`${root}src/main.js`], outfile: `${dist}/app.js` });
console.log(`built ${dist}`);
