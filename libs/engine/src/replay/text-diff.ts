import type { TextDiff } from '@trellis/contracts';
import { createTwoFilesPatch } from 'diff';

/**
 * Two texts compared: equal, or the unified diff from the first to the second (jsdiff, `diff`
 * on npm), with two lines of context and no "no newline at end of file" noise.
 */
export function textDiff(labelA: string, labelB: string, a: string, b: string): TextDiff {
  if (a === b) return { equal: true, patch: '' };
  const line = (t: string) => (t === '' || t.endsWith('\n') ? t : `${t}\n`);
  const patch = createTwoFilesPatch(labelA, labelB, line(a), line(b), undefined, undefined, { context: 2 });
  return { equal: false, patch: patch.slice(patch.indexOf('---')) };
}

/** A conversation as text: `[role]` then the message's lines, for each message. */
export function conversationText(messages: ReadonlyArray<{ role: string; content: string }>): string {
  return messages.map((m) => `[${m.role}]\n${m.content}${m.content.endsWith('\n') ? '' : '\n'}`).join('');
}
