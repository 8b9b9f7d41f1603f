import { z } from 'zod';
import { jsonInstanceFor } from './json-instance';

/** Generates from the JSON Schema zod emits, then validates with the zod schema itself. */
function roundTrip(schema: z.ZodType): unknown {
  const instance = jsonInstanceFor(z.toJSONSchema(schema));
  expect(schema.safeParse(instance)).toEqual(expect.objectContaining({ success: true }));
  return instance;
}

describe('jsonInstanceFor', () => {
  it("answers the judge's schema (DESIGN §10) with a valid verdict", () => {
    const Verdict = z.strictObject({
      score: z.number().min(0).max(1),
      categories: z.record(z.string(), z.number().min(0).max(1)),
      violations: z.array(
        z.strictObject({ rule: z.string(), severity: z.enum(['critical', 'major', 'minor']), message: z.string() }),
      ),
      feedback: z.string(),
    });
    expect(roundTrip(Verdict)).toEqual({
      score: 1,
      categories: {},
      violations: [{ rule: 'simulated rule', severity: 'critical', message: 'simulated message' }],
      feedback: 'simulated feedback',
    });
  });

  it('fills every declared property, nested objects and arrays included', () => {
    const Schema = z.object({
      title: z.string(),
      published: z.boolean(),
      pages: z.number().int(),
      author: z.object({ name: z.string(), email: z.email() }),
      tags: z.array(z.string()),
      nickname: z.string().optional(),
    });
    expect(roundTrip(Schema)).toEqual({
      title: 'simulated title',
      published: true,
      pages: 1,
      author: { name: 'simulated name', email: 'sim@example.com' },
      tags: ['simulated'],
      nickname: 'simulated nickname',
    });
  });

  it.each<[string, z.ZodType]>([
    ['integer bounds excluding 1', z.number().int().min(5).max(9)],
    ['exclusive bounds', z.number().gt(2).lt(3)],
    ['negative range', z.number().int().max(-10)],
    ['multipleOf', z.number().int().min(7).multipleOf(5)],
    ['string lengths', z.string().min(40).max(45)],
    ['a short maxLength', z.string().max(3)],
    ['min and max items', z.array(z.number()).min(3).max(4)],
    ['a tuple', z.tuple([z.string(), z.number().int(), z.boolean()])],
    ['a nullable string', z.string().nullable()],
    ['a union', z.union([z.null(), z.object({ id: z.uuid() })])],
    ['a literal', z.literal('fixed')],
    ['an intersection', z.intersection(z.object({ a: z.string() }), z.object({ b: z.number() }))],
    ['date-time and url formats', z.object({ at: z.iso.datetime(), link: z.url(), day: z.iso.date() })],
  ])('produces a valid instance for %s', (_name, schema) => {
    roundTrip(schema);
  });

  it('follows local $refs, recursive ones included, without looping', () => {
    interface Node {
      value: string;
      children: Node[];
    }
    const NodeSchema: z.ZodType<Node> = z.lazy(() => z.object({ value: z.string(), children: z.array(NodeSchema) }));
    const instance = jsonInstanceFor(z.toJSONSchema(z.object({ root: NodeSchema }))) as { root: Node };
    expect(instance.root.value).toBe('simulated value');
    expect(Array.isArray(instance.root.children)).toBe(true);
  });

  it('understands draft-07 spellings: definitions, tuple items, boolean exclusive bounds', () => {
    const schema = {
      $schema: 'http://json-schema.org/draft-07/schema#',
      definitions: { level: { type: 'integer', minimum: 3, maximum: 3 } },
      type: 'object',
      properties: {
        level: { $ref: '#/definitions/level' },
        pair: { type: 'array', items: [{ type: 'string' }, { type: 'number' }], additionalItems: false },
        ratio: { type: 'number', minimum: 0, maximum: 1, exclusiveMaximum: true, exclusiveMinimum: true },
      },
      required: ['level', 'pair', 'ratio', 'undeclared'],
    };
    expect(jsonInstanceFor(schema)).toEqual({ level: 3, pair: ['simulated', 1], ratio: 0.5, undeclared: null });
  });

  it('takes the first enum value and a const as given', () => {
    expect(jsonInstanceFor({ type: 'string', enum: ['b', 'a'] })).toBe('b');
    expect(jsonInstanceFor({ const: { x: [1] } })).toEqual({ x: [1] });
  });

  it('prefers a non-null type in a type list', () => {
    expect(jsonInstanceFor({ type: ['null', 'integer'] })).toBe(1);
  });

  it('answers null for a schema that allows anything', () => {
    expect(jsonInstanceFor({})).toBeNull();
    expect(jsonInstanceFor(true)).toBeNull();
  });

  it('is deterministic', () => {
    const schema = z.toJSONSchema(z.object({ a: z.array(z.object({ b: z.string() })) }));
    expect(JSON.stringify(jsonInstanceFor(schema))).toBe(JSON.stringify(jsonInstanceFor(schema)));
  });
});
