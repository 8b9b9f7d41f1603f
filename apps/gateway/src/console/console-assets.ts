import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply } from 'fastify';

/**
 * What a console page may load: its own scripts, styles and API, nothing inline, nothing from
 * elsewhere. Model answers and prompts are shown as text; this policy is the second line of
 * defence should one ever reach the DOM as HTML (no inline script, no foreign image or beacon).
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "worker-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};

/** First path segments that belong to the API (or to the build's assets), never to the console's client routes. */
const NOT_CONSOLE = new Set(['v1', 'openapi.json', 'docs', 'healthz', 'readyz', 'assets', 'favicon.ico']);

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Trellis console not built</title></head>
<body><h1>The console is not built</h1><p>Build it with <code>npm run build</code> (or only the console:
<code>npm run build:console</code>); this page then serves it without a restart.</p>
<p>The API is here all the same: <a href="/docs">/docs</a>.</p></body></html>`;

/**
 * Serves the console's build (`dist/console`): `/assets/*` as files (hashed names, cached for
 * a year, gzip and brotli variants when the build wrote them), and every other path outside the
 * API as `index.html`, so that a client route such as `/runs/<id>` survives a reload. Registered
 * on Fastify directly, before Nest adds its routes, which take precedence over the wildcard.
 */
export async function serveConsole(app: NestFastifyApplication, dir: string): Promise<void> {
  await app.register(fastifyStatic, {
    root: join(dir, 'assets'),
    prefix: '/assets/',
    index: false,
    preCompressed: true,
    immutable: true,
    maxAge: '365d',
    setHeaders: (reply) => void withSecurityHeaders(reply),
  });
  const index = join(dir, 'index.html');
  app
    .getHttpAdapter()
    .getInstance()
    .get('/*', (request, reply) => {
      const first = request.url.split(/[/?#]/)[1] ?? '';
      if (NOT_CONSOLE.has(first)) return reply.callNotFound();
      withSecurityHeaders(reply).header('cache-control', 'no-cache');
      if (!existsSync(index)) return reply.code(503).type('text/html; charset=utf-8').send(NOT_BUILT);
      return reply.sendFile('index.html', dir);
    });
}

function withSecurityHeaders(reply: FastifyReply): FastifyReply {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) void reply.header(name, value);
  return reply;
}
