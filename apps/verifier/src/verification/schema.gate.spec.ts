import { SchemaGate } from './schema.gate';

describe('SchemaGate', () => {
  const sut = new SchemaGate();
  const schema = { type: 'object', required: ['title'], properties: { title: { type: 'string', minLength: 3 } } };

  it('passes JSON valid against the schema', () => {
    expect(sut.evaluate('{"title":"Brief"}', schema)).toEqual({ gate: 'schema', score: 1, weight: 1, categories: { schema: 1 }, violations: [] });
  });

  it('fails, as critical, output that is not JSON or does not fit, naming the path', () => {
    expect(sut.evaluate('Brief', schema).violations[0]).toMatchObject({ severity: 'critical', message: expect.stringContaining('not valid JSON') });
    const result = sut.evaluate('{"title":"ab"}', schema);
    expect(result.score).toBe(0);
    expect(result.violations).toEqual([{ rule: 'schema', severity: 'critical', message: expect.stringMatching(/^title: /) }]);
  });

  it('only checks that the output parses when the step has no schema', () => {
    expect(sut.evaluate('[1]', undefined).score).toBe(1);
  });
});
