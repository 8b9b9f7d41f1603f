import { randomBytes } from 'node:crypto';
import { jetstreamManager, type StoredMsg } from '@nats-io/jetstream';
import { connectNats, type NatsConnection } from '@trellis/messaging';
import { configureLogger } from '@trellis/telemetry';

/** The NATS the integration tests meet: `NATS_URL`, else the local server. */
export const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

/**
 * Failures are what these tests provoke, so the runner's warnings are expected noise: log
 * errors only, unless `TRELLIS_TEST_LOG_LEVEL` asks for more.
 */
export function quietLogs(): void {
  configureLogger({ service: 'messaging-test', level: process.env.TRELLIS_TEST_LOG_LEVEL ?? 'error' });
}

/** A namespace no other test file uses, so streams never collide. */
export function testNamespace(prefix = 't'): string {
  return `${prefix}${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

export function token(): string {
  return randomBytes(4).toString('hex');
}

export function connect(name: string): Promise<NatsConnection> {
  return connectNats({ servers: natsUrl, name });
}

/** Waits until `probe` returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, options: { timeoutMs?: number; what?: string } = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${options.what ?? 'a condition'}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The last message stored on `subject` in `stream`, or undefined. */
export async function lastMessage(nc: NatsConnection, stream: string, subject: string): Promise<StoredMsg | undefined> {
  const jsm = await jetstreamManager(nc);
  return (await jsm.streams.getMessage(stream, { last_by_subj: subject })) ?? undefined;
}

/** Every message of `stream`, in order (small test streams only). */
export async function allMessages(nc: NatsConnection, stream: string): Promise<StoredMsg[]> {
  const jsm = await jetstreamManager(nc);
  const { state } = await jsm.streams.info(stream);
  const out: StoredMsg[] = [];
  for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
    const msg = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (msg) out.push(msg);
  }
  return out;
}

/** A promise with its resolve function outside, to hold handlers until a test releases them. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}
