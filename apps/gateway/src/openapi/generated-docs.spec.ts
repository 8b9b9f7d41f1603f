import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { declaredRoutes as controllerRoutes } from '../../test/declared-routes';
import { asyncApiYaml } from './asyncapi.document';
import { openApiDocument, openApiJson } from './openapi.document';

const ROOT = resolve(__dirname, '../../../..');
const REGENERATE = 'run `npm run build && node dist/apps/gateway/src/openapi/write-docs.js` and commit the result';

/** Every route the gateway serves, as OpenAPI `METHOD /path/{param}`. */
function declaredRoutes(): string[] {
  const routes: string[] = ['GET /healthz', 'GET /readyz']; // RuntimeModule's health controller
  for (const route of controllerRoutes()) routes.push(`${route.method} ${route.path}`);
  return routes.sort();
}

describe('generated API documents', () => {
  it('documents every route the gateway serves, and no other', () => {
    const documented = Object.entries(openApiDocument().paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    expect(documented).toEqual(declaredRoutes());
  });

  it(`matches the committed docs/openapi.json (else ${REGENERATE})`, () => {
    expect(readFileSync(resolve(ROOT, 'docs/openapi.json'), 'utf8')).toBe(openApiJson());
  });

  it(`matches the committed docs/asyncapi.yaml to the event schemas (else ${REGENERATE})`, () => {
    expect(readFileSync(resolve(ROOT, 'docs/asyncapi.yaml'), 'utf8')).toBe(asyncApiYaml());
  });
});
