import { z } from 'zod';
import { PipelineSpec } from './pipeline-spec';

/**
 * The JSON Schema of a pipeline file as a user writes it (before defaults), for editors'
 * completion and validation (`# yaml-language-server: $schema=…`). Committed as
 * docs/pipeline.schema.json; a test keeps the file equal to this.
 */
export function pipelineJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(PipelineSpec, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://trellis.dev/schemas/pipeline-v1.json',
    title: 'Trellis pipeline (version 1)',
    description: 'A pipeline of LLM and tool steps: dependencies, conditions and routing, quality gates, outputs and products. See docs/pipeline-spec.md.',
    ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== '$schema')),
  };
}
