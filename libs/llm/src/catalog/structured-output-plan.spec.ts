import { isStrictSchema, planStructuredOutput, responseFormatName } from './structured-output-plan';

const loose = { type: 'object', required: ['title'], properties: { title: { type: 'string' }, n: { type: 'integer' } } };
const closed = { type: 'object', additionalProperties: false, required: ['title', 'n'], properties: { title: { type: 'string' }, n: { type: 'integer' } } };

describe('planStructuredOutput', () => {
  it('asks a model the catalog does not know for json_schema, without strict for a schema strict mode would refuse', () => {
    expect(planStructuredOutput({ schema: loose, name: 'outline', catalogLacks: false })).toEqual({
      request: { mode: 'response_format', type: 'json_schema', strict: false },
      responseFormat: { type: 'json_schema', name: 'outline', schema: loose },
    });
  });

  it('asks for strict mode when the schema meets its rules', () => {
    expect(planStructuredOutput({ schema: closed, name: 'outline', catalogLacks: false })).toEqual({
      request: { mode: 'response_format', type: 'json_schema', strict: true },
      responseFormat: { type: 'json_schema', name: 'outline', schema: closed, strict: true },
    });
  });

  it('uses JSON mode for a step without a schema, with or without an object example', () => {
    const expected = { request: { mode: 'response_format', type: 'json_object' }, responseFormat: { type: 'json_object' } };
    expect(planStructuredOutput({ name: 's', catalogLacks: false })).toEqual(expected);
    expect(planStructuredOutput({ name: 's', example: { a: 1 }, catalogLacks: false })).toEqual(expected);
  });

  it.each([[['a', 'b']], ['text'], [3]])('keeps to instructions for a step without a schema whose example is not an object (%j)', (example) => {
    expect(planStructuredOutput({ name: 's', example, catalogLacks: false })).toEqual({ request: { mode: 'instructions', reason: 'not_an_object' } });
  });

  it('keeps to instructions for a model the catalog lists without structured_outputs', () => {
    expect(planStructuredOutput({ schema: closed, name: 's', catalogLacks: true })).toEqual({ request: { mode: 'instructions', reason: 'catalog' } });
    expect(planStructuredOutput({ name: 's', catalogLacks: true })).toEqual({ request: { mode: 'instructions', reason: 'catalog' } });
  });

  it("falls back to instructions once the provider refused response_format, saying whether now or earlier, in the provider's words", () => {
    const message = "400 Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model.";
    expect(planStructuredOutput({ schema: loose, name: 's', catalogLacks: false, rejection: { message, now: true } })).toEqual({
      request: { mode: 'instructions', reason: 'rejected', message },
    });
    expect(planStructuredOutput({ name: 's', catalogLacks: false, rejection: { message, now: false } })).toEqual({
      request: { mode: 'instructions', reason: 'remembered', message },
    });
  });
});

describe('responseFormatName', () => {
  it("keeps to OpenAI's characters and length", () => {
    expect(responseFormatName('my.step')).toBe('my_step');
    expect(responseFormatName('x'.repeat(80))).toHaveLength(64);
    expect(responseFormatName('')).toBe('output');
  });
});

describe('isStrictSchema', () => {
  const object = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    type: 'object',
    additionalProperties: false,
    required: Object.keys(properties),
    properties,
    ...extra,
  });

  it.each<[string, Record<string, unknown>]>([
    ['every property required, no others allowed', closed],
    ['nested objects and arrays of them', object({ sections: { type: 'array', items: object({ heading: { type: 'string' } }) } })],
    ['a nullable field as a type list', object({ note: { type: ['string', 'null'] } })],
    ['enums, consts, anyOf and descriptions', object({ kind: { type: 'string', enum: ['a', 'b'], description: 'which' }, v: { const: 1 }, either: { anyOf: [{ type: 'string' }, { type: 'null' }] } })],
    ['local $refs into $defs', object({ a: { $ref: '#/$defs/leaf' } }, { $defs: { leaf: object({ x: { type: 'number' } }) } })],
    ['an object without properties', object({})],
  ])('accepts %s', (_name, schema) => {
    expect(isStrictSchema(schema)).toBe(true);
  });

  it.each<[string, Record<string, unknown>]>([
    ['an optional property', { ...closed, required: ['title'] }],
    ['additionalProperties left open', { type: 'object', required: ['a'], properties: { a: { type: 'string' } } }],
    ['a required key that is not a property', { ...closed, required: ['title', 'n', 'ghost'] }],
    ['an open nested object', object({ inner: { type: 'object', properties: { x: { type: 'string' } }, required: ['x'] } })],
    ['a root that is not an object', { type: 'array', items: { type: 'string' } }],
    ['a root anyOf', { type: 'object', anyOf: [closed] }],
    ['a keyword outside the strict subset', object({ name: { type: 'string', minLength: 1 } })],
    ['allOf', object({ a: { allOf: [{ type: 'string' }] } })],
    ['a field of any type', object({ anything: {} })],
    ['a remote $ref', object({ a: { $ref: 'https://example.invalid/schema.json' } })],
    ['an open object inside $defs', object({ a: { $ref: '#/$defs/leaf' } }, { $defs: { leaf: { type: 'object', properties: {} } } })],
  ])('refuses %s', (_name, schema) => {
    expect(isStrictSchema(schema)).toBe(false);
  });

  it('refuses nesting deeper than ten levels', () => {
    let deep: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < 11; i++) deep = object({ d: deep });
    expect(isStrictSchema(deep)).toBe(false);
    let shallow: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < 10; i++) shallow = object({ d: shallow });
    expect(isStrictSchema(shallow)).toBe(true);
  });
});
