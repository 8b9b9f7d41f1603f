import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { logger } from '@trellis/telemetry';

/**
 * Reads the personality files (`<name>.md`) once at start. A missing folder is normal (no
 * personalities beyond the built-in `standard`); an unreadable file is logged and skipped.
 */
export function loadPersonalities(dir: string): Record<string, string> {
  let names: string[];
  try {
    names = readdirSync(dir).filter((f) => /^[a-z0-9][a-z0-9_-]*\.md$/.test(f));
  } catch {
    return {};
  }
  const personalities: Record<string, string> = {};
  for (const file of names) {
    try {
      const text = readFileSync(join(dir, file), 'utf8').trim();
      if (text) personalities[file.slice(0, -3)] = text;
    } catch (err) {
      logger('personalities').warn({ file, err }, 'personality file not read');
    }
  }
  return personalities;
}
