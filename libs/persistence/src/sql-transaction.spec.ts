import { escapeLiteral } from 'pg';
import { quoteLiteral, sqlLiteral, sqlTable } from './sql-transaction';

describe('sqlLiteral', () => {
  it('quotes text, doubling quotes and escaping backslashes', () => {
    expect(sqlLiteral("it's", 'text')).toBe("'it''s'");
    expect(sqlLiteral('a\\b', 'text')).toBe(" E'a\\\\b'");
    expect(sqlLiteral("'); drop table run; --", 'text')).toBe("'''); drop table run; --'");
  });

  it("quotes exactly as pg's escapeLiteral does", () => {
    const samples = ['', "'", "''", '\\', "\\'", 'plain', "it's a \\path\\ and 'quotes'", '{"json":"with \\" escapes"}', 'ünïcødé 🚀 \'', 'nul\u0000byte', "e'\\x41'"];
    for (let i = 0; i < 200; i++) samples.push(Array.from({ length: i % 17 }, (_, j) => "a'\\ \n😀"[(i * 7 + j * 3) % 8]).join(''));
    for (const text of samples) expect(quoteLiteral(text)).toBe(escapeLiteral(text));
  });

  it('writes null for null and undefined of every kind', () => {
    for (const kind of ['text', 'int', 'float', 'bool', 'json', 'time'] as const) {
      expect(sqlLiteral(null, kind)).toBe('null');
      expect(sqlLiteral(undefined, kind)).toBe('null');
    }
  });

  it('writes numbers as numbers and refuses what is not a finite number', () => {
    expect(sqlLiteral(42, 'int')).toBe('42');
    expect(sqlLiteral(0.125, 'float')).toBe('0.125');
    expect(sqlLiteral('7', 'int')).toBe('7');
    expect(() => sqlLiteral(Number.NaN, 'float')).toThrow('not a finite number');
    expect(() => sqlLiteral('1; select 1', 'int')).toThrow('not a finite number');
  });

  it('writes JSON as jsonb text and times as timestamptz', () => {
    expect(sqlLiteral({ a: "b'c" }, 'json')).toBe(`'{"a":"b''c"}'::jsonb`);
    expect(sqlLiteral('plain', 'json')).toBe(`'"plain"'::jsonb`);
    expect(sqlLiteral(new Date('2026-01-02T03:04:05.006Z'), 'time')).toBe("'2026-01-02T03:04:05.006Z'::timestamptz");
    expect(sqlLiteral(true, 'bool')).toBe('true');
  });

  it('quotes schema and table names', () => {
    expect(sqlTable('planner', 'run')).toBe('"planner"."run"');
    expect(sqlTable('we"ird', 'run')).toBe('"we""ird"."run"');
  });
});
