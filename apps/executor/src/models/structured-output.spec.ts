import { jsonRequest, parseJsonOutput } from './structured-output';

const schema = { type: 'object', required: ['title'], properties: { title: { type: 'string' }, n: { type: 'integer' } } };
const messages = [{ role: 'user' as const, content: 'Give me a title' }];

describe('jsonRequest', () => {
  it('asks for a json_schema response format when the model supports structured outputs', () => {
    expect(jsonRequest({ format: 'json', schema }, 'my.step', messages, true)).toEqual({
      messages,
      responseFormat: { type: 'json_schema', name: 'my_step', schema },
    });
  });

  it('appends the schema and example to the prompt otherwise', () => {
    const request = jsonRequest({ format: 'json', schema, example: { title: 'x' } }, 's', messages, false);
    expect(request.responseFormat).toBeUndefined();
    expect(request.messages[0]!.content).toContain('Give me a title');
    expect(request.messages[0]!.content).toContain(JSON.stringify(schema));
    expect(request.messages[0]!.content).toContain('{"title":"x"}');
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
