import { z } from 'zod';
import { defineEvent, subjects } from '@trellis/contracts';
import { OutboxRelay, connectNats, deleteNamespace, encodeEvent, provisionStreams, type NatsConnection, type OutboxStore } from '@trellis/messaging';
import { Database, Migration, PgOutboxStore, outboxTableSql } from '@trellis/persistence';
import { configureLogger } from '@trellis/telemetry';
import { createTestDatabase, createTestNamespace, streamMessages, testEnv, waitFor } from '@trellis/testing';

const Noted = defineEvent('run', 'noted', z.object({ runId: z.string(), n: z.number() }));

class InitialOutbox extends Migration {
  override up() {
    this.addSql(outboxTableSql('relaykill'));
  }
}

/** The relay "dies" at its `killAt`-th mark: the batch is published, the rows are not deleted. */
class DyingStore implements OutboxStore {
  marks = 0;
  killed = false;

  constructor(
    private readonly store: PgOutboxStore,
    private readonly killAt: number,
  ) {}

  claim(limit: number) {
    if (this.killed) return Promise.resolve([]);
    return this.store.claim(limit);
  }

  async markPublished(ids: string[]): Promise<void> {
    this.marks += 1;
    if (this.killed || this.marks >= this.killAt) {
      this.killed = true;
      throw new Error('relay killed between publish and mark');
    }
    await this.store.markPublished(ids);
  }
}

/**
 * Fault: the outbox relay is killed between publishing a batch to JetStream and deleting its
 * rows from PostgreSQL, 100 times in a row, each time at a different batch, and a new relay
 * takes over once the dead one's lease lapses. Real PostgreSQL (PgOutboxStore) and NATS; the
 * kill is simulated by abandoning the relay mid-drain. Expected: every row reaches the events
 * stream exactly once (zero lost, zero duplicates: the stream drops a republish with the same
 * `Nats-Msg-Id` inside its dedupe window), and the outbox ends empty.
 */
describe('fault: the outbox relay killed between publish and mark, 100 times', () => {
  let nc: NatsConnection;
  let db: Database;
  let testDb: Awaited<ReturnType<typeof createTestDatabase>>;
  const ns = createTestNamespace();
  const s = subjects(ns);

  beforeAll(async () => {
    // Each simulated kill logs an error from the relay: expected here.
    configureLogger({ service: 'test', level: process.env.TRELLIS_TEST_LOG_LEVEL ?? 'fatal' });
    testDb = await createTestDatabase();
    db = await Database.open({ url: testDb.url, schema: 'relaykill', entities: [], migrations: [{ name: 'InitialOutbox', class: InitialOutbox }] });
    nc = await connectNats({ servers: testEnv.natsUrl, name: 'fault-test' });
    await provisionStreams(nc, ns);
  }, 60_000);
  afterAll(async () => {
    await deleteNamespace(nc, ns).catch(() => undefined);
    await nc?.close();
    await db?.close();
    await testDb?.drop();
  }, 60_000);

  it('loses no event and duplicates none when the relay dies after publishing, 100 times', async () => {
    // A short lease: a dead relay's rows come back to the next one after 100 ms.
    const store = new PgOutboxStore(db, 100);
    const runId = 'run_relaykill';
    let next = 0;
    const write = async (count: number) => {
      const rows = Array.from({ length: count }, () => {
        const event = encodeEvent(Noted, { runId, n: next }, { id: `noted.${runId}.${next}`, source: 'trellis/test' });
        next += 1;
        return { id: event.id, subject: s.event('run', 'noted', runId), body: event.text };
      });
      await db.sqlAtomic([], rows);
    };

    for (let kill = 0; kill < 100; kill++) {
      await write(7);
      // Batches of 3: the relay dies after its 1st, 2nd or 3rd publish of the pass.
      const dying = new DyingStore(store, 1 + (kill % 3));
      const relay = new OutboxRelay(nc, dying, { batchSize: 3, pollIntervalMs: 20 });
      relay.start();
      await waitFor(`relay ${kill} to publish a batch and die`, () => dying.killed);
      await relay.stop();
    }

    // A healthy relay drains what the dead ones left.
    const survivor = new OutboxRelay(nc, store, { batchSize: 64, pollIntervalMs: 20 });
    survivor.start();
    try {
      await waitFor(
        'the outbox to be empty',
        async () => (await db.orm.em.getConnection().execute<Array<{ n: string }>>(`select count(*) as n from "relaykill"."outbox"`))[0]!.n === '0',
        { timeoutMs: 30_000 },
      );
    } finally {
      await survivor.stop();
    }

    const stored = await streamMessages(nc, s.streams.events, s.event('run', 'noted', runId));
    const ids = stored.map((m) => m.headers['Nats-Msg-Id']);
    expect(ids).toHaveLength(700);
    expect(new Set(ids).size).toBe(700);
    expect(new Set(stored.map((m) => (JSON.parse(m.text) as { data: { n: number } }).data.n))).toEqual(new Set(Array.from({ length: 700 }, (_, n) => n)));
  }, 120_000);
});
