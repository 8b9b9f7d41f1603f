import { getOwn, setOwn } from './records';

describe('setOwn', () => {
  it('adds names that are special on Object.prototype as plain own properties', () => {
    const record: Record<string, number> = {};
    for (const [i, key] of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'plan'].entries()) setOwn(record, key, i);
    expect(Object.getPrototypeOf(record)).toBe(Object.prototype);
    expect(Object.keys(record)).toEqual(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'plan']);
    expect(getOwn(record, '__proto__')).toBe(0);
    expect(getOwn(record, 'toString')).toBe(2);
    expect(JSON.parse(JSON.stringify(record))).toEqual(JSON.parse('{"__proto__":0,"constructor":1,"toString":2,"hasOwnProperty":3,"plan":4}'));
  });

  it('replaces a value it set before, `__proto__` included', () => {
    const record: Record<string, string> = {};
    setOwn(record, '__proto__', 'a');
    setOwn(record, '__proto__', 'b');
    setOwn(record, 'x', 'a');
    setOwn(record, 'x', 'b');
    expect(getOwn(record, '__proto__')).toBe('b');
    expect(record.x).toBe('b');
    expect(Object.keys(record)).toEqual(['__proto__', 'x']);
  });

  it('reads no inherited name as its own', () => {
    expect(getOwn({}, 'toString')).toBeUndefined();
    expect(getOwn({}, '__proto__')).toBeUndefined();
  });
});
