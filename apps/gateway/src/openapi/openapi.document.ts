import { z } from 'zod';
import { ROUTES, SCHEMAS, type RouteDoc } from './routes';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** A zod schema as OpenAPI 3.1 (JSON Schema 2020-12), references to named schemas kept. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

function operation(route: RouteDoc) {
  const errorSchema = route.openAiErrors ? 'OpenAiError' : 'Problem';
  const errorType = route.openAiErrors ? 'application/json' : 'application/problem+json';
  const errors: Record<number, string> =
    route.auth === 'none'
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
  for (const [status, r] of Object.entries(route.responses)) {
    responses[status] = {
      description: r.description,
      ...(r.schema ? { content: { [r.contentType ?? 'application/json']: { schema: ref(r.schema) } } } : r.contentType ? { content: { [r.contentType]: {} } } : {}),
    };
  }
  for (const [status, description] of Object.entries(errors)) responses[status] ??= { description, content: { [errorType]: { schema: ref(errorSchema) } } };

  const parameters = [
    ...(route.params ?? []).map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
    ...(route.headers ?? []).map((h) => ({ name: h.name, in: 'header', required: false, description: h.description, schema: { type: 'string' } })),
    ...queryParameters(route.query),
  ];
  return {
    operationId: `${route.method}${route.path.replace(/[{}]/g, '').replace(/[^a-zA-Z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
    tags: [route.tag],
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    security: { none: [], apiKey: [{ apiKey: [] }], admin: [{ adminToken: [] }], apiKeyOrAdmin: [{ apiKey: [] }, { adminToken: [] }] }[route.auth],
    ...(parameters.length ? { parameters } : {}),
    ...(route.body
      ? {
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: ref(route.body.name) },
              ...(route.body.yaml ? { 'application/yaml': { schema: { type: 'string', description: 'the pipeline as YAML' } } } : {}),
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

/** The gateway's OpenAPI 3.1 document, from the route table and the zod contracts. */
export function openApiDocument(routes: RouteDoc[] = ROUTES) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) (paths[route.path] ??= {})[route.method] = operation(route);
  return {
    openapi: '3.1.0',
    info: {
      title: 'Trellis gateway',
      version: '1.0.0',
      description:
        'REST, SSE and an OpenAI-compatible API over Trellis pipelines. Every key belongs to one project and sees only its data. Errors are RFC 9457 problem+json, except on the OpenAI-compatible routes.',
    },
    servers: [{ url: '/' }],
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
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
export function openApiJson(): string {
  return `${JSON.stringify(openApiDocument(), null, 2)}\n`;
}
