import { diffLines } from 'diff';

export interface DiffCell {
  /** The line's number in its version. */
  n: number;
  text: string;
}

/** One row of a side-by-side diff: a line kept on both sides, or a change (either side may be empty). */
export interface DiffRow {
  kind: 'same' | 'changed';
  left: DiffCell | null;
  right: DiffCell | null;
}

/**
 * Two texts side by side, line against line (jsdiff's line diff): removed lines on the left
 * facing the lines that replaced them on the right, unchanged lines on both.
 */
export function sideBySide(before: string, after: string): DiffRow[] {
  const rows: DiffRow[] = [];
  let l = 1;
  let r = 1;
  let removed: string[] = [];
  let added: string[] = [];
  const flush = () => {
    for (let i = 0; i < Math.max(removed.length, added.length); i++) {
      rows.push({
        kind: 'changed',
        left: i < removed.length ? { n: l++, text: removed[i]! } : null,
        right: i < added.length ? { n: r++, text: added[i]! } : null,
      });
    }
    removed = [];
    added = [];
  };
  for (const part of diffLines(before, after)) {
    const lines = part.value.replace(/\n$/, '').split('\n');
    if (part.removed) removed.push(...lines);
    else if (part.added) added.push(...lines);
    else {
      flush();
      for (const text of lines) rows.push({ kind: 'same', left: { n: l++, text }, right: { n: r++, text } });
    }
  }
  flush();
  return rows;
}

/** A version's body as text: plain text as it is, a chat template as its messages, one after the other. */
export function bodyText(body: string | Array<{ role: string; content: string }>): string {
  return typeof body === 'string' ? body : body.map((m) => `[${m.role}]\n${m.content}`).join('\n\n');
}
