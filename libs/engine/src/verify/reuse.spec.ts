import { fieldsNamed, keptValues, laterRoundSchema, mergeReused, outputFields, outputTokensSaved, planReuse } from './reuse';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['title', 'examples', 'body'],
  properties: { title: { type: 'string' }, examples: { type: 'array', items: { type: 'string' } }, body: { type: 'string' } },
};

describe('reuse of earlier rounds (iterate.reuse)', () => {
  it('reads the top-level fields of an object schema in order, none of anything else', () => {
    expect(outputFields(schema)).toEqual(['title', 'examples', 'body']);
    expect(outputFields({ type: 'array' })).toEqual([]);
    expect(outputFields(undefined)).toEqual([]);
  });

  it('finds a field named as a whole word, in any case, and in a schema path', () => {
    expect(fieldsNamed(['examples', 'title'], ['The Examples repeat the task'])).toEqual(['examples']);
    expect(fieldsNamed(['examples'], ['/examples/0: must be string'])).toEqual(['examples']);
    expect(fieldsNamed(['examples'], ['counterexamples are missing', 'examples_count is off'])).toEqual([]);
    expect(fieldsNamed(['a.b'], ['axb'])).toEqual([]);
  });

  it('keeps the reusable fields nothing named, and writes the rest', () => {
    expect(planReuse(['examples'], schema, [{ rule: 'judge.clarity', severity: 'major', message: 'the body rambles' }], ['Tighten the body.'])).toEqual({ kept: ['examples'], write: ['title', 'body'] });
  });

  it('writes a kept field again when a violation or the judge feedback names it', () => {
    expect(planReuse(['examples'], schema, [{ rule: 'judge.accuracy', severity: 'major', message: 'two examples are wrong' }], [])).toBeUndefined();
    expect(planReuse(['examples', 'title'], schema, [], ['The title is vague.'])).toEqual({ kept: ['examples'], write: ['title', 'body'] });
  });

  it('keeps nothing without reuse, without a schema, for a field the schema lacks, or when nothing would be left to write', () => {
    expect(planReuse(undefined, schema, [], [])).toBeUndefined();
    expect(planReuse(['examples'], undefined, [], [])).toBeUndefined();
    expect(planReuse(['nope'], schema, [], [])).toBeUndefined();
    expect(planReuse(['title', 'examples', 'body'], schema, [], [])).toBeUndefined();
  });

  it('asks a later round for the other fields only: its schema drops the kept properties and their requirement', () => {
    expect(laterRoundSchema(schema, ['examples'])).toEqual({
      type: 'object',
      additionalProperties: false,
      required: ['title', 'body'],
      properties: { title: { type: 'string' }, body: { type: 'string' } },
    });
    expect(schema.properties.examples).toBeDefined();
  });

  it("merges the kept values into the answer in the schema's order, the kept value winning", () => {
    const kept = keptValues({ title: 'Old', examples: ['a', 'b'], body: 'old' }, ['examples']);
    expect(kept).toEqual({ examples: ['a', 'b'] });
    const merged = mergeReused(schema, kept, { body: 'new body', title: 'New', examples: ['ignored'], extra: 1 });
    expect(merged).toEqual({ title: 'New', examples: ['a', 'b'], body: 'new body', extra: 1 });
    expect(Object.keys(merged)).toEqual(['title', 'examples', 'body', 'extra']);
    expect(keptValues('not an object', ['examples'])).toEqual({});
  });

  it("estimates the output tokens saved as the kept part's share of the round that wrote it", () => {
    const written = JSON.stringify({ title: 'T', examples: ['aaaa', 'bbbb'], body: 'b' });
    const kept = { examples: ['aaaa', 'bbbb'] };
    expect(outputTokensSaved(100, written, kept)).toBe(Math.round((100 * JSON.stringify(kept).length) / written.length));
    expect(outputTokensSaved(0, written, kept)).toBe(0);
    expect(outputTokensSaved(100, written, {})).toBe(0);
  });
});
