import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/**
 * The console's build: a static single-page app in `dist/console`, served by the gateway at `/`.
 * No plugin: Vite's own transformer (Oxc) compiles TSX with React's automatic runtime; Fast
 * Refresh (what @vitejs/plugin-react adds) only matters for `vite dev`, which we do not ship.
 */
export default defineConfig({
  root: here('.'),
  base: '/',
  publicDir: false,
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: here('../../dist/console'),
    emptyOutDir: true,
    target: 'es2023',
    sourcemap: false,
    // Every chunk under this size; the run page's graph and the template diff are loaded on demand.
    chunkSizeWarningLimit: 400,
    reportCompressedSize: false,
    rolldownOptions: {
      // "use client" marks React Server Components boundaries; a client-only app has none to keep.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
});
