import type { ChatCompletionMessage } from '@trellis/contracts';
import { messageText } from './chat-mapping';

/**
 * Chat front-ends (Open WebUI) ask the selected model for chores around a chat: a title, tags,
 * follow-up questions, search queries, autocompletion. Running a whole pipeline for those
 * would cost a run each; they are recognised by their well-known prompt shapes and answered
 * here, cheaply and deterministically, in the JSON shapes those front-ends parse.
 */
const TASKS: Array<{ name: string; pattern: RegExp; answer: (history: string) => unknown }> = [
  { name: 'title', pattern: /(generate|create) a concise, 3-5 word title/i, answer: (h) => ({ title: titleOf(h) }) },
  { name: 'tags', pattern: /generate 1-3 broad tags/i, answer: () => ({ tags: ['General'] }) },
  { name: 'follow_ups', pattern: /suggest 3-5 relevant follow-up questions/i, answer: () => ({ follow_ups: [] }) },
  { name: 'queries', pattern: /(search queries|generate .*queries)/i, answer: () => ({ queries: [] }) },
  { name: 'autocomplete', pattern: /you are an autocompletion system/i, answer: () => ({ text: '' }) },
  { name: 'emoji', pattern: /reply with a single emoji|respond .*with a single emoji/i, answer: () => '💬' },
];

export interface UtilityAnswer {
  task: string;
  content: string;
}

export function detectUtilityTask(messages: ChatCompletionMessage[]): UtilityAnswer | undefined {
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  if (!lastUser) return undefined;
  const text = messageText(lastUser);
  // Open WebUI's task prompts start with "### Task:" and quote the chat in <chat_history>.
  const shaped = /^\s*### Task:/i.test(text) || /<chat_history>/i.test(text);
  if (!shaped) return undefined;
  const history = /<chat_history>([\s\S]*?)<\/chat_history>/i.exec(text)?.[1] ?? '';
  const task = TASKS.find((t) => t.pattern.test(text));
  if (!task) return { task: 'other', content: '{}' };
  const answer = task.answer(history);
  return { task: task.name, content: typeof answer === 'string' ? answer : JSON.stringify(answer) };
}

/** The first user line of the quoted history, cut to five words. */
function titleOf(history: string): string {
  const firstUser = /USER:\s*(.+)/i.exec(history)?.[1] ?? history;
  const words = firstUser.replace(/[^\p{L}\p{N}\s'-]/gu, ' ').split(/\s+/).filter(Boolean).slice(0, 5);
  return words.length ? words.join(' ') : 'New chat';
}
