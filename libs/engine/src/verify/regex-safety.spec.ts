import { compilePattern, hasNestedQuantifier } from './regex-safety';

describe('hasNestedQuantifier', () => {
  it.each(['(a+)+', '(a*)*', '^(\\w+\\s?)*$', '(x{2,})+', '((ab)*c)+', '(?:a|b+){3,}', '([a-z]+)*'])('flags %s', (pattern) => {
    expect(hasNestedQuantifier(pattern)).toBe(true);
  });

  it.each(['^# .+$', '(ab)+', '\\d+-\\d+', '[(+)]+', '\\(a+\\)+', '(a?)+b', '(?:foo|bar)+', 'a{2,3}b*'])('allows %s', (pattern) => {
    expect(hasNestedQuantifier(pattern)).toBe(false);
  });
});

describe('compilePattern', () => {
  it('compiles a safe pattern', () => {
    const check = compilePattern('^Summary:');
    expect(check.ok && check.regex.test('Summary: yes')).toBe(true);
  });

  it('explains an invalid pattern', () => {
    expect(compilePattern('[unclosed')).toMatchObject({ ok: false, reason: expect.stringMatching(/^invalid regex: /) });
  });
});
