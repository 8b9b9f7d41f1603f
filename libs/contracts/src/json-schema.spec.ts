import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipelineJsonSchema } from './json-schema';

describe('docs/pipeline.schema.json', () => {
  it('matches the pipeline spec schema (regenerate with `npm run -s trellis -- schema > docs/pipeline.schema.json`)', () => {
    const committed = JSON.parse(readFileSync(join(__dirname, '../../../docs/pipeline.schema.json'), 'utf8'));
    expect(committed).toEqual(pipelineJsonSchema());
  });
});
