import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { OverrideAlignmentQuery, PipelineQuery, type SpecSource } from '@trellis/contracts';
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

/** The alignment check as the API documents it: the same on registration, validation and inline runs. */
export const ALIGNMENT_CHECK_DOC =
  "With `orchestrator.check_alignment`, a pipeline whose architecture the orchestrator model finds not to serve its intention is refused (409, with the model's feedback) unless `override_alignment=true`.";

/** `?override_alignment=true`, read the same way on every route that checks a spec's alignment. */
export function overrideAlignment(query: unknown): boolean {
  return OverrideAlignmentQuery.parse(query ?? {}).override_alignment === 'true';
}

/** The query of the routes that register or validate a pipeline: `override_alignment`, and `feature` (whose analysis prompt applies). */
export function pipelineQuery(query: unknown): { overrideAlignment: boolean; feature?: string } {
  const parsed = PipelineQuery.parse(query ?? {});
  return { overrideAlignment: parsed.override_alignment === 'true', ...(parsed.feature !== undefined ? { feature: parsed.feature } : {}) };
}
