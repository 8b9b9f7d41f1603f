import { ChatCompletionRequest, flattenMessages } from './chat-request';
import { answer, chunkContent, simulatedReply } from './answers';

const request = (body: Record<string, unknown>) => ChatCompletionRequest.parse({ model: 'gpt-4.1', ...body });

describe('simulatedReply', () => {
  it('quotes the last user message without its directives and ends with the conversation digest', () => {
    const reply = simulatedReply('gpt-4.1', [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'First question' },
      { role: 'assistant', content: 'An answer' },
      { role: 'user', content: '  Second\n question [[sim latency_ms=5]] ' },
    ]);
    expect(reply).toMatch(/^Simulated reply from gpt-4\.1 to: "Second question" \[[0-9a-f]{8}\]$/);
  });

  it('cuts a long message at 160 characters', () => {
    const reply = simulatedReply('m', [{ role: 'user', content: 'x'.repeat(500) }]);
    expect(reply).toContain(`"${'x'.repeat(160)}…"`);
  });

  it('gives the same answer to the same conversation and a different one when any message differs', () => {
    const a = simulatedReply('m', [{ role: 'system', content: 'A' }, { role: 'user', content: 'Q' }]);
    const b = simulatedReply('m', [{ role: 'system', content: 'B' }, { role: 'user', content: 'Q' }]);
    expect(simulatedReply('m', [{ role: 'system', content: 'A' }, { role: 'user', content: 'Q' }])).toBe(a);
    expect(b).not.toBe(a);
  });
});

describe('answer', () => {
  it('flattens text parts and estimates tokens as ceil(chars / 4)', () => {
    const req = request({ messages: [{ role: 'user', content: [{ type: 'text', text: 'abcde' }, { type: 'image_url' }] }] });
    const messages = flattenMessages(req);
    expect(messages).toEqual([{ role: 'user', content: 'abcde' }]);
    const result = answer(req, messages, undefined);
    expect(result.promptTokens).toBe(2);
    expect(result.completionTokens).toBe(Math.ceil(result.content.length / 4));
  });

  it('truncates to the token limit with finish_reason "length"', () => {
    const req = request({ messages: [{ role: 'user', content: 'hi' }], max_completion_tokens: 3 });
    expect(answer(req, flattenMessages(req), undefined)).toMatchObject({ content: 'Simulated re', finishReason: 'length', completionTokens: 3 });
  });

  it('answers json_object with a small JSON object', () => {
    const req = request({ messages: [{ role: 'user', content: 'hi' }], response_format: { type: 'json_object' } });
    expect(JSON.parse(answer(req, flattenMessages(req), undefined).content)).toMatchObject({ simulated: true, model: 'gpt-4.1' });
  });
});

describe('chunkContent', () => {
  it('splits into several chunks that join back to the content', () => {
    const content = 'Simulated reply from gpt-4.1 to: "hello" [0123abcd]';
    const chunks = chunkContent(content);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.join('')).toBe(content);
    expect(chunkContent('ab')).toEqual(['a', 'b']);
  });
});
