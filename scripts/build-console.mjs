// Builds the console (apps/console) into dist/console with Vite, unless the build is newer than
// every source of it; then writes gzip and brotli variants of the assets, which the gateway
// serves to browsers that accept them. `--force` builds regardless.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const app = join(root, 'apps/console');
const out = join(root, 'dist/console');
const force = process.argv.includes('--force');

const files = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
const mtime = (file) => {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
};

const newestSource = Math.max(...files(app).map(mtime), mtime(join(root, 'package-lock.json')));
if (!force && mtime(join(out, 'index.html')) > newestSource) process.exit(0);

const t0 = performance.now();
const { build } = await import('vite');
await build({ configFile: join(app, 'vite.config.mts') });

let raw = 0;
let gzipped = 0;
for (const file of files(out).filter((f) => /\.(js|css|html|svg|json)$/.test(f))) {
  const data = readFileSync(file);
  const gz = gzipSync(data, { level: 9 });
  raw += data.length;
  gzipped += gz.length;
  if (!file.endsWith('.html')) {
    writeFileSync(`${file}.gz`, gz);
    writeFileSync(`${file}.br`, brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
  }
}
const kb = (n) => `${(n / 1024).toFixed(0)} kB`;
process.stderr.write(`console: built ${relative(root, out)} in ${((performance.now() - t0) / 1000).toFixed(1)} s (${kb(raw)}, ${kb(gzipped)} gzipped)\n`);
