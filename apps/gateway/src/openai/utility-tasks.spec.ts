import type { ChatCompletionMessage } from '@trellis/contracts';
import { detectUtilityTask } from './utility-tasks';

const ask = (content: string): ChatCompletionMessage[] => [{ role: 'user', content }];
const history = '<chat_history>\nUSER: Why is the sky blue?\nASSISTANT: Rayleigh scattering.\n</chat_history>';

describe('detectUtilityTask', () => {
  it('answers Open WebUI title, tag, follow-up and query prompts with their JSON shapes', () => {
    expect(detectUtilityTask(ask(`### Task:\nGenerate a concise, 3-5 word title with an emoji summarizing the chat history.\n${history}`))).toEqual({ task: 'title', content: '{"title":"Why is the sky blue"}' });
    expect(detectUtilityTask(ask(`### Task:\nGenerate 1-3 broad tags categorizing the main themes of the chat history.\n${history}`))?.content).toBe('{"tags":["General"]}');
    expect(detectUtilityTask(ask(`### Task:\nSuggest 3-5 relevant follow-up questions or prompts.\n${history}`))?.content).toBe('{"follow_ups":[]}');
    expect(detectUtilityTask(ask(`### Task:\nAnalyze the chat history to determine the necessity of generating search queries.\n${history}`))?.content).toBe('{"queries":[]}');
  });

  it('answers the same prompt the same way', () => {
    const prompt = ask(`### Task:\nGenerate a concise, 3-5 word title.\n${history}`);
    expect(detectUtilityTask(prompt)).toEqual(detectUtilityTask(prompt));
  });

  it('leaves ordinary messages, even ones mentioning titles, to the pipeline', () => {
    expect(detectUtilityTask(ask('Generate a concise, 3-5 word title for my essay about rivers'))).toBeUndefined();
    expect(detectUtilityTask(ask('hello'))).toBeUndefined();
  });
});
