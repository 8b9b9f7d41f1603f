/**
 * Builds one deterministic JSON value valid against a JSON Schema, so structured-output
 * callers (the judge above all) get something their own validation accepts.
 *
 * Covers what structured outputs use: `type` (or a list of types), `properties`/`required`,
 * `items`/`prefixItems`/`minItems`/`maxItems`, `enum` (first value), `const`, `anyOf`/`oneOf`
 * (first non-null branch), `allOf` (merged), local `$ref` (`#/$defs/...`, `#/definitions/...`),
 * string `format`/`minLength`/`maxLength` and numeric bounds/`multipleOf`. Not covered:
 * `pattern`, `uniqueItems` with more than one item, `not`, `if`/`then`, remote refs.
 */
export function jsonInstanceFor(schema: unknown): unknown {
  return generate(schema, { root: schema, depth: 0 });
}

type Schema = Record<string, unknown>;

interface Context {
  root: unknown;
  depth: number;
  /** Property name, used to make strings readable ("simulated feedback"). */
  name?: string;
}

// Recursive schemas ($ref to itself) terminate here; optional recursion is simply cut.
const MAX_DEPTH = 24;

function isSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function generate(schema: unknown, ctx: Context): unknown {
  if (!isSchema(schema) || ctx.depth > MAX_DEPTH) return null;
  const nested = (sub: unknown, name?: string): unknown =>
    generate(sub, { root: ctx.root, depth: ctx.depth + 1, ...(name === undefined ? {} : { name }) });

  if (typeof schema['$ref'] === 'string') {
    const { $ref, ...rest } = schema;
    return nested({ ...(resolveRef(ctx.root, $ref) ?? {}), ...rest }, ctx.name);
  }
  if ('const' in schema) return schema['const'];
  if (Array.isArray(schema['enum']) && schema['enum'].length > 0) return schema['enum'][0];
  if (Array.isArray(schema['allOf'])) {
    const { allOf, ...rest } = schema;
    return nested(allOf.filter(isSchema).reduce<Schema>(mergeSchemas, rest), ctx.name);
  }
  for (const key of ['anyOf', 'oneOf'] as const) {
    const branches = schema[key];
    if (Array.isArray(branches) && branches.length > 0) {
      const { [key]: _omitted, ...rest } = schema;
      const branch = branches.find((b) => isSchema(b) && b['type'] !== 'null') ?? branches[0];
      return nested({ ...rest, ...(isSchema(branch) ? branch : {}) }, ctx.name);
    }
  }

  switch (typeOf(schema)) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const properties = isSchema(schema['properties']) ? schema['properties'] : {};
      for (const [key, sub] of Object.entries(properties)) out[key] = nested(sub, key);
      const required = Array.isArray(schema['required']) ? schema['required'] : [];
      for (const key of required) if (typeof key === 'string' && !(key in out)) out[key] = null;
      return out;
    }
    case 'array':
      return arrayFor(schema, nested);
    case 'string':
      return stringFor(schema, ctx.name);
    case 'integer':
      return numberFor(schema, true);
    case 'number':
      return numberFor(schema, false);
    case 'boolean':
      return true;
    default:
      return null;
  }
}

function typeOf(schema: Schema): string | undefined {
  const type = schema['type'];
  if (typeof type === 'string') return type;
  if (Array.isArray(type)) return (type.find((t) => t !== 'null') ?? type[0]) as string | undefined;
  // Untyped schemas: infer from the keywords present.
  if ('properties' in schema || 'required' in schema || 'additionalProperties' in schema) return 'object';
  if ('items' in schema || 'prefixItems' in schema) return 'array';
  if ('minLength' in schema || 'maxLength' in schema || 'format' in schema || 'pattern' in schema) return 'string';
  if (['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf'].some((k) => k in schema)) {
    return 'number';
  }
  return undefined;
}

function mergeSchemas(into: Schema, next: Schema): Schema {
  const merged: Schema = { ...into, ...next };
  if (isSchema(into['properties']) && isSchema(next['properties'])) {
    merged['properties'] = { ...into['properties'], ...next['properties'] };
  }
  if (Array.isArray(into['required']) && Array.isArray(next['required'])) {
    merged['required'] = [...new Set([...into['required'], ...next['required']])];
  }
  return merged;
}

function resolveRef(root: unknown, ref: string): Schema | undefined {
  if (!ref.startsWith('#')) return undefined;
  let node: unknown = root;
  for (const raw of ref.slice(1).split('/').filter(Boolean)) {
    const token = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    node = isSchema(node) ? node[token] : Array.isArray(node) ? node[Number(token)] : undefined;
  }
  return isSchema(node) ? node : undefined;
}

function arrayFor(schema: Schema, nested: (sub: unknown) => unknown): unknown[] {
  const prefix = Array.isArray(schema['prefixItems'])
    ? schema['prefixItems']
    : Array.isArray(schema['items'])
      ? schema['items'] // draft-07 tuple form
      : [];
  const items = Array.isArray(schema['items']) ? schema['additionalItems'] : schema['items'];
  const min = typeof schema['minItems'] === 'number' ? schema['minItems'] : 0;
  const max = typeof schema['maxItems'] === 'number' ? schema['maxItems'] : Infinity;
  // One item shows the shape; more only when minItems demands it.
  const count = Math.min(max, Math.max(prefix.length, min, items === false ? 0 : 1));
  const out: unknown[] = [];
  for (let i = 0; i < count; i++) out.push(nested(i < prefix.length ? prefix[i] : isSchema(items) ? items : {}));
  return out;
}

const FORMATS: Record<string, string> = {
  'date-time': '2025-01-01T00:00:00.000Z',
  date: '2025-01-01',
  time: '00:00:00Z',
  duration: 'PT1S',
  email: 'sim@example.com',
  'idn-email': 'sim@example.com',
  hostname: 'example.com',
  'idn-hostname': 'example.com',
  ipv4: '127.0.0.1',
  ipv6: '::1',
  uri: 'https://example.com/',
  'uri-reference': 'https://example.com/',
  iri: 'https://example.com/',
  url: 'https://example.com/',
  uuid: '00000000-0000-4000-8000-000000000000',
};

function stringFor(schema: Schema, name: string | undefined): string {
  const format = typeof schema['format'] === 'string' ? FORMATS[schema['format']] : undefined;
  if (format !== undefined) return format;
  const base = name ? `simulated ${name}` : 'simulated';
  const min = typeof schema['minLength'] === 'number' ? schema['minLength'] : 0;
  const max = typeof schema['maxLength'] === 'number' ? schema['maxLength'] : Infinity;
  let value = base;
  while (value.length < min) value += ` ${base}`;
  return value.slice(0, Math.max(min, Math.min(max, value.length)));
}

function numberFor(schema: Schema, integer: boolean): number {
  const num = (key: string): number | undefined => (typeof schema[key] === 'number' ? (schema[key] as number) : undefined);
  const minimum = num('minimum');
  const maximum = num('maximum');
  // Draft-04 spelled exclusive bounds as booleans next to minimum/maximum.
  const exMin = num('exclusiveMinimum') ?? (schema['exclusiveMinimum'] === true ? minimum : undefined);
  const exMax = num('exclusiveMaximum') ?? (schema['exclusiveMaximum'] === true ? maximum : undefined);
  const multipleOf = num('multipleOf');

  const valid = (v: number): boolean =>
    Number.isFinite(v) &&
    (!integer || Number.isInteger(v)) &&
    (minimum === undefined || v >= minimum) &&
    (maximum === undefined || v <= maximum) &&
    (exMin === undefined || v > exMin) &&
    (exMax === undefined || v < exMax) &&
    (multipleOf === undefined || Math.abs(v / multipleOf - Math.round(v / multipleOf)) < 1e-9);

  const lo = exMin ?? minimum;
  const hi = exMax ?? maximum;
  // Try simple, readable values first; the first one that fits every bound wins.
  const candidates: number[] = [1, 0];
  if (minimum !== undefined) candidates.push(minimum, Math.ceil(minimum));
  if (maximum !== undefined) candidates.push(maximum, Math.floor(maximum));
  if (lo !== undefined && hi !== undefined) candidates.push((lo + hi) / 2, Math.round((lo + hi) / 2));
  if (lo !== undefined) candidates.push(Math.floor(lo) + 1, lo + 1);
  if (hi !== undefined) candidates.push(Math.ceil(hi) - 1, hi - 1);
  if (multipleOf !== undefined) {
    const start = lo ?? hi ?? 0;
    const first = Math.ceil(start / multipleOf) * multipleOf;
    candidates.push(multipleOf, first, first + multipleOf, first - multipleOf);
  }
  return candidates.find(valid) ?? lo ?? hi ?? 0;
}
