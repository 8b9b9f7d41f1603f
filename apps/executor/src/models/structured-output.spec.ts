import { planStructuredOutput } from '@trellis/llm';
import { jsonRequest, parseJsonOutput } from './structured-output';

const schema = { type: 'object', required: ['title'], properties: { title: { type: 'string' }, n: { type: 'integer' } } };
const messages = [{ role: 'user' as const, content: 'Give me a title' }];

describe('jsonRequest', () => {
  it('sends the json_schema response format and leaves the prompt as written', () => {
    const plan = planStructuredOutput({ schema, name: 'my.step', catalogLacks: false });
    expect(jsonRequest({ format: 'json', schema, example: { title: 'x' } }, messages, plan)).toEqual({
      messages,
      responseFormat: { type: 'json_schema', name: 'my_step', schema },
    });
  });

  it('appends the schema and example to the prompt when the plan is instructions', () => {
    const plan = planStructuredOutput({ schema, name: 's', catalogLacks: true });
    const request = jsonRequest({ format: 'json', schema, example: { title: 'x' } }, messages, plan);
    expect(request.responseFormat).toBeUndefined();
    expect(request.messages[0]!.content).toContain('Give me a title');
    expect(request.messages[0]!.content).toContain(JSON.stringify(schema));
    expect(request.messages[0]!.content).toContain('{"title":"x"}');
  });

  it('says "JSON" in the prompt beside JSON mode, which OpenAI requires', () => {
    const plan = planStructuredOutput({ name: 's', catalogLacks: false });
    const request = jsonRequest({ format: 'json', example: { title: 'x' } }, messages, plan);
    expect(request.responseFormat).toEqual({ type: 'json_object' });
    expect(request.messages[0]!.content).toMatch(/Answer with JSON only[\s\S]*\{"title":"x"\}/);
  });
});

describe('parseJsonOutput', () => {
  it('parses and validates an answer, tolerating a code fence', () => {
    expect(parseJsonOutput('```json\n{"title":"a","n":2}\n```', { format: 'json', schema })).toEqual({ ok: true, value: { title: 'a', n: 2 } });
  });

  it('names the field that does not match', () => {
    const parsed = parseJsonOutput('{"n":"two"}', { format: 'json', schema });
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.message).toMatch(/title/);
    expect(!parsed.ok && parsed.message).toMatch(/n:/);
  });

  it('refuses an answer that is not JSON', () => {
    expect(parseJsonOutput('Sure! Here it is', { format: 'json' })).toMatchObject({ ok: false, message: expect.stringContaining('not JSON') });
  });
});
