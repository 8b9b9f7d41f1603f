/**
 * A product path stays inside its run: relative, `/`-separated, no `.`/`..` segments, no
 * backslashes or control characters, a plain file name at the end.
 */
export function productPathProblem(path: string): string | undefined {
  if (path.startsWith('/') || /^[a-zA-Z]:/.test(path)) return `product path "${path}" must be relative to the run`;
  if (path.includes('\\')) return `product path "${path}" uses "/" between folders, not "\\"`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) return `product path "${path}" contains a control character`;
  const segments = path.split('/');
  if (segments.some((s) => s === '..')) return `product path "${path}" leaves the run's folder ("..")`;
  if (segments.some((s) => s === '' || s === '.')) return `product path "${path}" has an empty or "." segment`;
  if (!segments.every((s) => /^[A-Za-z0-9._ -]+$/.test(s))) return `product path "${path}": use letters, digits, ".", "_", "-" and spaces`;
  return undefined;
}

/** The format of a product: given, or from the file extension. */
export function productFormat(path: string, given?: 'text' | 'json' | 'csv' | 'markdown'): 'text' | 'json' | 'csv' | 'markdown' {
  if (given) return given;
  const ext = path.toLowerCase().split('.').pop();
  if (ext === 'json') return 'json';
  if (ext === 'csv') return 'csv';
  if (ext === 'md' || ext === 'markdown') return 'markdown';
  return 'text';
}

/**
 * Why a csv product's `from` cannot give it rows, as far as the spec shows: a template (CSV is
 * written from data, never assembled by hand), or a reference into a model step that answers
 * text. Given no steps, only the first is checked (at run time the value itself is checked).
 */
export function csvSourceProblem(from: string, steps: Record<string, { tool?: string; output?: { format: string } }> = {}): string | undefined {
  if (/\{\{|\{%/.test(from)) return '"from" must reference an array of objects, such as steps.<id>.output.rows, not a template';
  const id = /^\s*steps\.([a-z_][a-z0-9_]*)\.output\b/.exec(from)?.[1];
  const step = id === undefined ? undefined : steps[id];
  if (step && step.tool === undefined && (step.output?.format ?? 'text') !== 'json') {
    return `step "${id}" answers text, and CSV is written from an array of objects: give it output: { format: json } and reference its rows`;
  }
  return undefined;
}

/** Milliseconds of a spec duration: a number of seconds, or "500ms", "30s", "2m", "1h". */
export function durationMs(value: number | string): number {
  if (typeof value === 'number') return Math.round(value * 1000);
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value);
  if (!m) throw new Error(`not a duration: ${value}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}
