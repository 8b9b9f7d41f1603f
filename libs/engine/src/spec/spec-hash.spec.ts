import { canonicalJson, specHash } from './spec-hash';

describe('canonicalJson', () => {
  it('sorts keys at every level and drops undefined fields', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: null, y: undefined }], c: 'x' } })).toBe('{"a":{"c":"x","d":[2,{"z":null}]},"b":1}');
  });

  it('writes undefined array items and non-finite numbers as null, as JSON does', () => {
    expect(canonicalJson([undefined, Number.NaN, Infinity])).toBe('[null,null,null]');
  });
});

describe('specHash', () => {
  it('is the same for equal data in any key order', () => {
    expect(specHash({ a: 1, b: [1, 2] })).toBe(specHash({ b: [1, 2], a: 1 }));
    expect(specHash({ a: 1 })).not.toBe(specHash({ a: 2 }));
    expect(specHash({ a: 1 })).toMatch(/^[0-9a-f]{64}$/);
  });
});
