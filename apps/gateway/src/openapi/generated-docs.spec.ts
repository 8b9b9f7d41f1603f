import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { RequestMethod } from '@nestjs/common';
import { GATEWAY_CONTROLLERS } from '../gateway.module';
import { asyncApiYaml } from './asyncapi.document';
import { openApiDocument, openApiJson } from './openapi.document';

const ROOT = resolve(__dirname, '../../../..');
const REGENERATE = 'run `npm run build && node dist/apps/gateway/src/openapi/write-docs.js` and commit the result';

/** Every route the gateway's controllers declare, as OpenAPI `METHOD /path/{param}`. */
function declaredRoutes(): string[] {
  const routes: string[] = ['GET /healthz', 'GET /readyz']; // RuntimeModule's health controller
  for (const controller of GATEWAY_CONTROLLERS) {
    const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
    for (const name of Object.getOwnPropertyNames(controller.prototype).filter((n) => n !== 'constructor')) {
      const handler = (controller.prototype as unknown as Record<string, unknown>)[name];
      if (typeof handler !== 'function') continue;
      const path = Reflect.getMetadata(PATH_METADATA, handler);
      if (path === undefined) continue;
      const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as number]!;
      const full = `/${[base, String(path)].filter((p) => p && p !== '/').join('/')}`
        .replace(/:(\w+)/g, '{$1}')
        .replace(/\*$/, '{path}');
      routes.push(`${method} ${full}`);
    }
  }
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
