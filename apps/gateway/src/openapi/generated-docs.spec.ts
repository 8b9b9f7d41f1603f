import { Controller, Get, Post } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { SERVED_CONTROLLERS } from '../gateway.module';
import { ApiRoute } from './api-route';
import { asyncApiYaml } from './asyncapi.document';
import { declaredRoutes } from './declared-routes';
import { openApiDocument, openApiJson } from './openapi.document';

const ROOT = resolve(__dirname, '../../../..');
const REGENERATE = 'run `npm run build && node dist/apps/gateway/src/openapi/write-docs.js` and commit the result';

describe('generated API documents', () => {
  it('documents every route the gateway serves (health included), and no other', () => {
    const served = declaredRoutes(SERVED_CONTROLLERS).map((r) => `${r.method} ${r.path}`);
    const documented = Object.entries(openApiDocument(SERVED_CONTROLLERS).paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(served).toEqual(expect.arrayContaining(['GET /healthz', 'GET /readyz', 'GET /v1/runs/{id}/products/{path}']));
    expect(documented.sort()).toEqual(served.sort());
  });

  it('refuses to build a document with a route that has no @ApiRoute', () => {
    @Controller('v1/things')
    class ThingsController {
      @Get()
      @ApiRoute({ tag: 'things', summary: 'List things', responses: { 200: { description: 'things' } } })
      list() {}

      @Post()
      create() {}
    }
    expect(() => openApiDocument([ThingsController])).toThrow('POST /v1/things (ThingsController) has no @ApiRoute');
  });

  it(`matches the committed docs/openapi.json (else ${REGENERATE})`, () => {
    expect(readFileSync(resolve(ROOT, 'docs/openapi.json'), 'utf8')).toBe(openApiJson(SERVED_CONTROLLERS));
  });

  it(`matches the committed docs/asyncapi.yaml to the event schemas (else ${REGENERATE})`, () => {
    expect(readFileSync(resolve(ROOT, 'docs/asyncapi.yaml'), 'utf8')).toBe(asyncApiYaml());
  });
});
