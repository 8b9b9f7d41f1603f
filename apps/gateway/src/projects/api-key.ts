import { createHash, randomBytes } from 'node:crypto';

/** Keys look like `trls_<32 url-safe characters>`; the first 12 characters are shown in lists. */
export const KEY_PREFIX_LENGTH = 12;

export function newApiKey(): string {
  return `trls_${randomBytes(24).toString('base64url')}`;
}

/** What is stored: a SHA-256 of the key. Keys are random and long, so no slow hash or salt is needed. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export const visiblePrefix = (key: string) => key.slice(0, KEY_PREFIX_LENGTH);
