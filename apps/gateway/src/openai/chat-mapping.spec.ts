import type { ChatCompletionMessage } from '@trellis/contracts';
import { answerStep, conversationInputs } from './chat-mapping';

const user = (content: string): ChatCompletionMessage => ({ role: 'user', content });
const spec = (inputs: Record<string, unknown>, steps: Record<string, unknown> = { a: {} }) => ({ inputs, steps });

describe('conversationInputs', () => {
  const chat = [{ role: 'system', content: 'be brief' } as ChatCompletionMessage, user('first'), { role: 'assistant', content: 'ok' } as ChatCompletionMessage, user('last')];

  it('gives the last user message to an input named message before any other', () => {
    expect(conversationInputs(spec({ topic: { type: 'string', required: true }, message: { type: 'string' } }), chat)).toEqual({ message: 'last' });
  });

  it('falls back to the first required string input, then the first string input', () => {
    expect(conversationInputs(spec({ n: { type: 'integer' }, a: { type: 'string' }, b: { type: 'string', required: true } }), chat)).toEqual({ b: 'last' });
    expect(conversationInputs(spec({ n: { type: 'integer' }, a: { type: 'string' } }), chat)).toEqual({ a: 'last' });
  });

  it('passes the whole conversation to a messages input, as a list or as a transcript', () => {
    expect(conversationInputs(spec({ messages: { type: 'array' } }), chat).messages).toHaveLength(4);
    expect(conversationInputs(spec({ messages: { type: 'string' } }), chat).messages).toBe('system: be brief\nuser: first\nassistant: ok\nuser: last');
  });

  it('joins text parts and passes system messages to a system input', () => {
    const parts = [{ role: 'user', content: [{ type: 'text', text: 'hello ' }, { type: 'image_url' }, { type: 'text', text: 'there' }] } as ChatCompletionMessage];
    expect(conversationInputs(spec({ prompt: { type: 'string' }, system: { type: 'string' } }), [chat[0]!, ...parts])).toEqual({ prompt: 'hello there', system: 'be brief' });
  });

  it('rejects a pipeline with nowhere to put the message, naming the model', () => {
    expect(() => conversationInputs(spec({ n: { type: 'integer' } }), chat)).toThrow(/no string input/);
  });
});

describe('answerStep', () => {
  it('is the step named answer when there is one, else the last in topological order', () => {
    expect(answerStep(spec({}, { answer: {}, log: {} }), ['answer', 'log'])).toBe('answer');
    expect(answerStep(spec({}, { a: {}, b: {} }), ['a', 'b'])).toBe('b');
  });
});
