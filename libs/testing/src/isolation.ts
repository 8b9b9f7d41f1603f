import { randomBytes } from 'node:crypto';
import { dropDatabase, ensureDatabaseExists } from '@trellis/persistence';
import { testEnv } from './env';

/** A short unique token for names that must not collide between test files running at once. */
export function uniqueToken(prefix = 't'): string {
  return `${prefix}${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

/** A database of its own for one test file; `drop()` removes it with any open session. */
export async function createTestDatabase(): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const name = `trellis_${uniqueToken()}`;
  const url = new URL(testEnv.databaseUrl);
  url.pathname = `/${name}`;
  await ensureDatabaseExists(url.toString());
  return { url: url.toString(), name, drop: () => dropDatabase(url.toString()) };
}

/** A NATS namespace of its own for one test file: its streams and subjects are invisible to others. */
export function createTestNamespace(): string {
  return uniqueToken('t');
}
