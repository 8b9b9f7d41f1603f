import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { OverrideAlignmentQuery, type SpecSource } from '@trellis/contracts';
import { GatewayError } from './gateway.errors';

export const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];

/** YAML bodies arrive as text so the compiler can point at lines and columns. */
export function acceptYamlBodies(app: NestFastifyApplication): void {
  app
    .getHttpAdapter()
    .getInstance()
    .addContentTypeParser(YAML_TYPES, { parseAs: 'string' }, (_request, body, done) => done(null, body));
}

/** A pipeline as sent: YAML text, or a JSON object. */
export function specSource(body: unknown): SpecSource {
  if (typeof body === 'string') return { yaml: body };
  if (body && typeof body === 'object' && !Array.isArray(body)) return { json: body };
  throw new GatewayError('invalid_argument', 'send the pipeline as YAML (application/yaml) or as a JSON object', [
    { path: [], message: 'expected a YAML document or a JSON object' },
  ]);
}

/** `?override_alignment=true`, read the same way on every route that checks a spec's alignment. */
export function overrideAlignment(query: unknown): boolean {
  return OverrideAlignmentQuery.parse(query ?? {}).override_alignment === 'true';
}
