import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * `/docs`: Swagger UI over `/openapi.json`, every file served by the gateway itself from the
 * pinned `swagger-ui-dist` package (no CDN: the page works offline, and its CSP allows nothing
 * but this origin). The start-up script is a file of its own, so no inline script is needed.
 * URLs are relative, so the page also works behind a path prefix.
 */
export const DOCS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Trellis API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="docs/assets/swagger-ui.css">
</head><body>
<div id="swagger-ui"></div>
<script src="docs/assets/swagger-ui-bundle.js"></script>
<script src="docs/assets/docs.js"></script>
</body></html>
`;

/**
 * The page may load scripts, styles and images from this origin only (Swagger UI sets inline
 * styles and draws icons from `data:` URLs) and call the API it documents ("Try it out").
 */
export const DOCS_CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// No validator badge: Swagger UI would send the document to validator.swagger.io.
const START = `window.ui = SwaggerUIBundle({
  url: new URL('openapi.json', document.baseURI).href,
  dom_id: '#swagger-ui',
  validatorUrl: null,
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
});
`;

const SWAGGER_UI = dirname(require.resolve('swagger-ui-dist/package.json'));
const JS = 'text/javascript; charset=utf-8';
const SOURCES: Record<string, { contentType: string; body: () => string | Buffer }> = {
  'swagger-ui.css': { contentType: 'text/css; charset=utf-8', body: () => readFileSync(join(SWAGGER_UI, 'swagger-ui.css')) },
  'swagger-ui-bundle.js': { contentType: JS, body: () => readFileSync(join(SWAGGER_UI, 'swagger-ui-bundle.js')) },
  'docs.js': { contentType: JS, body: () => START },
};
const loaded = new Map<string, { contentType: string; body: string | Buffer }>();

/** A file of the docs page by name (read once, on first use), or undefined for any other name. */
export function docsAsset(name: string): { contentType: string; body: string | Buffer } | undefined {
  if (!Object.prototype.hasOwnProperty.call(SOURCES, name)) return undefined;
  let asset = loaded.get(name);
  if (!asset) {
    const source = SOURCES[name]!;
    asset = { contentType: source.contentType, body: source.body() };
    loaded.set(name, asset);
  }
  return asset;
}

/** The names `docsAsset` serves. */
export const DOCS_ASSETS = Object.keys(SOURCES);
