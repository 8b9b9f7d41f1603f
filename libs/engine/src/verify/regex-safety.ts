/**
 * JavaScript regular expressions backtrack, and Node offers no timeout, so a gate pattern
 * is a denial-of-service risk on model output we do not control. Two guards: patterns
 * whose shape is known to backtrack exponentially (a quantified group that itself holds a
 * quantifier, as in `(a+)+`) are refused, here and at compile time; and a pattern only ever
 * sees the first `MAX_REGEX_INPUT_CHARS` characters, which bounds polynomial blow-ups.
 */
export const MAX_REGEX_INPUT_CHARS = 32_768;

export type PatternCheck = { ok: true; regex: RegExp } | { ok: false; reason: string };

export function compilePattern(pattern: string): PatternCheck {
  let regex: RegExp;
  try {
    regex = new RegExp(pattern);
  } catch (error) {
    return { ok: false, reason: `invalid regex: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (hasNestedQuantifier(pattern)) {
    return { ok: false, reason: `regex /${pattern}/ repeats a group that itself repeats (like (a+)+), which can take exponential time` };
  }
  return { ok: true, regex };
}

/** A quantifier (`*`, `+`, `{n,m}`) applied to a group that contains one. `?` is not counted: it cannot repeat. */
export function hasNestedQuantifier(pattern: string): boolean {
  const groups: boolean[] = [false];
  const markTop = () => {
    groups[groups.length - 1] = true;
  };
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      i++; // an escaped character is an atom; a quantifier after it is seen next round
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === '(') groups.push(false);
    else if (c === ')') {
      const innerRepeats = groups.pop() ?? false;
      if (groups.length === 0) groups.push(false);
      const repeated = isQuantifierAt(pattern, i + 1);
      if (innerRepeats && repeated) return true;
      if (innerRepeats || repeated) markTop();
    } else if (isQuantifierAt(pattern, i)) markTop();
  }
  return false;
}

function isQuantifierAt(pattern: string, i: number): boolean {
  const c = pattern[i];
  if (c === '*' || c === '+') return true;
  return c === '{' && /^\{\d+(,\d*)?\}/.test(pattern.slice(i, i + 24));
}
