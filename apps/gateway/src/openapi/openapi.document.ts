import type { Type } from '@nestjs/common';
import { GUARDS_METADATA } from '@nestjs/common/constants';
import { z } from 'zod';
import { AdminOrApiKeyGuard } from '../audit/audit.controller';
import { AdminGuard } from '../http/admin.guard';
import { ApiKeyGuard } from '../http/api-key.guard';
import { apiRouteOf, type ApiRouteDoc } from './api-route';
import { declaredRoutes, type DeclaredRoute } from './declared-routes';
import { SCHEMAS } from './schemas';

/** Nest's injection token of the document OpenApiController serves (built by GatewayModule from its controllers). */
export const OPENAPI_DOCUMENT = 'trellis:openapi-document';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** What each guard asks of a caller, as OpenAPI security requirements (any one of them). */
const SECURITY = new Map<unknown, Array<Record<string, []>>>([
  [ApiKeyGuard, [{ apiKey: [] }]],
  [AdminGuard, [{ adminToken: [] }]],
  [AdminOrApiKeyGuard, [{ apiKey: [] }, { adminToken: [] }]],
]);

/** A zod schema as OpenAPI 3.1 (JSON Schema 2020-12), references to named schemas kept. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

/** The route's security, from the guards on its controller and on itself: none for a public route. */
function security(route: DeclaredRoute): Array<Record<string, []>> {
  const guards = [...((Reflect.getMetadata(GUARDS_METADATA, route.controller) as unknown[]) ?? []), ...((Reflect.getMetadata(GUARDS_METADATA, route.handler) as unknown[]) ?? [])];
  return guards.flatMap((guard) => {
    const requirements = SECURITY.get(guard);
    if (!requirements) throw new Error(`${route.method} ${route.path}: no security scheme for the guard ${String((guard as { name?: string }).name ?? guard)}`);
    return requirements;
  });
}

function operation(route: DeclaredRoute, doc: ApiRouteDoc) {
  const requirements = security(route);
  const errorSchema = doc.openAiErrors ? 'OpenAiError' : 'Problem';
  const errorType = doc.openAiErrors ? 'application/json' : 'application/problem+json';
  const errors: Record<number, string> =
    requirements.length === 0
      ? {}
      : {
          400: 'invalid request: every problem listed',
          401: 'no key, or not a valid one',
          404: 'not found, or belongs to another project',
          413: 'body larger than GATEWAY_BODY_LIMIT',
          429: 'rate limit of the key (or running runs of the project) reached; see Retry-After',
          503: 'a service behind the gateway did not answer (starting, restarting or down); see Retry-After',
        };
  const responses: Record<string, unknown> = {};
  for (const [status, r] of Object.entries(doc.responses)) {
    responses[status] = {
      description: r.description,
      ...(r.schema ? { content: { [r.contentType ?? 'application/json']: { schema: ref(r.schema) } } } : r.contentType ? { content: { [r.contentType]: {} } } : {}),
    };
  }
  for (const [status, description] of Object.entries(errors)) responses[status] ??= { description, content: { [errorType]: { schema: ref(errorSchema) } } };

  const parameters = [
    ...[...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
    ...(doc.headers ?? []).map((h) => ({ name: h.name, in: 'header', required: false, description: h.description, schema: { type: 'string' } })),
    ...queryParameters(doc.query),
  ];
  const method = route.method.toLowerCase();
  return {
    operationId: `${method}${route.path.replace(/[{}]/g, '').replace(/[^a-zA-Z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
    tags: [doc.tag],
    summary: doc.summary,
    ...(doc.description ? { description: doc.description } : {}),
    security: requirements,
    ...(parameters.length ? { parameters } : {}),
    ...(doc.body
      ? {
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: ref(doc.body.schema) },
              ...(doc.body.yaml ? { 'application/yaml': { schema: { type: 'string', description: 'the pipeline as YAML' } } } : {}),
            },
          },
        }
      : {}),
    responses,
  };
}

function queryParameters(query: z.ZodType | undefined) {
  if (!query) return [];
  const schema = jsonSchema(query, 'input') as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(schema.properties ?? {}).map(([name, s]) => ({ name, in: 'query', required: schema.required?.includes(name) ?? false, schema: s }));
}

/**
 * The gateway's OpenAPI 3.1 document, from the routes the controllers declare (in their order),
 * each one's `@ApiRoute`, its guards and the zod contracts. A route without `@ApiRoute` is an
 * error: every route served is documented.
 */
export function openApiDocument(controllers: readonly Type[]) {
  const paths: Record<string, Record<string, unknown>> = {};
  const tags = new Set<string>();
  for (const route of declaredRoutes(controllers)) {
    const doc = apiRouteOf(route.handler);
    if (!doc) throw new Error(`${route.method} ${route.path} (${route.controller.name}) has no @ApiRoute: document it`);
    tags.add(doc.tag);
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operation(route, doc);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Trellis gateway',
      version: '1.0.0',
      description:
        'REST, SSE and an OpenAI-compatible API over Trellis pipelines. Every key belongs to one project and sees only its data. Errors are RFC 9457 problem+json, except on the OpenAI-compatible routes.',
    },
    servers: [{ url: '/' }],
    tags: [...tags].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'an API key of the project' },
        adminToken: { type: 'http', scheme: 'bearer', description: 'TRELLIS_ADMIN_TOKEN' },
      },
      schemas: Object.fromEntries(Object.entries(SCHEMAS).map(([name, s]) => [name, jsonSchema(s.schema, s.io)])),
    },
  };
}

/** The document as committed in docs/openapi.json. */
export function openApiJson(controllers: readonly Type[]): string {
  return `${JSON.stringify(openApiDocument(controllers), null, 2)}\n`;
}
