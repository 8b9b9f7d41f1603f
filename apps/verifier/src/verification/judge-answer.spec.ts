import { judgeResponseSchema, parseJudgeAnswer } from './judge-answer';

describe('the judge answer', () => {
  const valid = { score: 0.7, categories: { accuracy: 0.6, clarity: 0.8, extra: 1 }, violations: [{ rule: 'accuracy', severity: 'major', message: 'wrong price' }], feedback: 'Fix the price.' };

  it('reads back a valid answer', () => {
    expect(parseJudgeAnswer(JSON.stringify(valid), ['accuracy', 'clarity'])).toEqual({ ok: true, answer: valid });
  });

  it('names what is wrong with a malformed answer instead of throwing', () => {
    expect(parseJudgeAnswer('Sure! Here is my verdict', [])).toMatchObject({ ok: false, problem: expect.stringContaining('is not JSON') });
    expect(parseJudgeAnswer(JSON.stringify({ ...valid, score: 7 }), [])).toMatchObject({ ok: false, problem: expect.stringContaining('score:') });
    expect(parseJudgeAnswer(JSON.stringify({ ...valid, violations: [{ rule: 'x', severity: 'fatal', message: 'm' }] }), [])).toMatchObject({
      ok: false,
      problem: expect.stringContaining('violations.0.severity'),
    });
    expect(parseJudgeAnswer(JSON.stringify(valid), ['accuracy', 'tone'])).toEqual({ ok: false, problem: "the judge's answer has no score for categories.tone" });
  });

  it('asks for every declared category in a closed, fully required schema (strict-mode compatible)', () => {
    const schema = judgeResponseSchema(['accuracy', 'clarity']) as { required: string[]; additionalProperties: boolean; properties: { categories: { required: string[]; additionalProperties: boolean } } };
    expect(schema).toMatchObject({ additionalProperties: false, required: ['score', 'categories', 'violations', 'feedback'] });
    expect(schema.properties.categories).toMatchObject({ additionalProperties: false, required: ['accuracy', 'clarity'] });
  });
});
