import { jetstreamManager } from '@nats-io/jetstream';
import { z } from 'zod';
import { defineEvent, subjects, type OutboxRow } from '@trellis/contracts';
import { OutboxRelay, deleteNamespace, encodeEvent, provisionStreams, type NatsConnection, type OutboxStore } from '@trellis/messaging';
import { allMessages, connect, quietLogs, testNamespace, token, waitFor } from './nats-test-kit';

const Noted = defineEvent('run', 'noted', z.object({ runId: z.string(), n: z.number() }));

/**
 * The outbox contract in memory: a claim leases rows to one relay; a lease is released when
 * its relay "dies" (`expireLeases`), as the Postgres store's lease times out.
 */
class MemoryOutbox implements OutboxStore {
  readonly rows = new Map<string, { row: OutboxRow; leased: boolean; published: boolean }>();
  claims = 0;

  add(row: OutboxRow): void {
    this.rows.set(row.id, { row, leased: false, published: false });
  }

  async claim(limit: number): Promise<OutboxRow[]> {
    this.claims++;
    const free = [...this.rows.values()].filter((r) => !r.leased && !r.published).slice(0, limit);
    for (const r of free) r.leased = true;
    return free.map((r) => r.row);
  }

  async markPublished(ids: string[]): Promise<void> {
    for (const id of ids) {
      const r = this.rows.get(id);
      if (r) Object.assign(r, { published: true, leased: false });
    }
  }

  expireLeases(): void {
    for (const r of this.rows.values()) r.leased = false;
  }

  get unpublished(): number {
    return [...this.rows.values()].filter((r) => !r.published).length;
  }
}

describe('OutboxRelay', () => {
  let nc: NatsConnection;
  const ns = testNamespace('tobx');
  const s = subjects(ns);
  const relays: OutboxRelay[] = [];
  const extraNamespaces: string[] = [];

  const row = (runId: string, n: number): OutboxRow => {
    const event = encodeEvent(Noted, { runId, n }, { id: `${runId}-${n}`, source: 'trellis/planner' });
    return { id: event.id, subject: s.event('run', 'noted', runId), body: event.text, headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } };
  };
  const relay = (store: OutboxStore, options: ConstructorParameters<typeof OutboxRelay>[2] = {}) => {
    const r = new OutboxRelay(nc, store, options);
    relays.push(r);
    return r;
  };

  beforeAll(async () => {
    quietLogs();
    nc = await connect('messaging-outbox-test');
    await provisionStreams(nc, ns);
  });

  afterEach(async () => {
    await Promise.all(relays.splice(0).map((r) => r.stop()));
  });

  afterAll(async () => {
    for (const extra of [ns, ...extraNamespaces]) await deleteNamespace(nc, extra);
    await nc.close();
  });

  it('publishes each row once when a relay dies between publish and mark and another takes over', async () => {
    const runId = `run-${token()}`;
    const store = new MemoryOutbox();
    for (let n = 0; n < 5; n++) store.add(row(runId, n));
    let crashed = false;
    // The first relay publishes its batch, then "dies" before it can mark it.
    const dying: OutboxStore = {
      claim: (limit) => store.claim(limit),
      markPublished: async () => {
        crashed = true;
        throw new Error('process killed before markPublished');
      },
    };
    const first = relay(dying);
    first.start();
    await waitFor(() => crashed, { what: 'the first relay to publish and die' });
    await first.stop();
    store.expireLeases();
    expect(store.unpublished).toBe(5);

    relay(store).start();

    await waitFor(() => store.unpublished === 0, { what: 'the second relay to mark every row' });
    const stored = (await allMessages(nc, s.streams.events)).filter((m) => m.subject === s.event('run', 'noted', runId));
    expect(stored.map((m) => m.header.get('Nats-Msg-Id')).sort()).toEqual([0, 1, 2, 3, 4].map((n) => `${runId}-${n}`));
    expect(stored.every((m) => m.header.get('traceparent').startsWith('00-0af7651916cd43dd8448eb211c80319c'))).toBe(true);
  });

  it('publishes promptly when kicked, long before the next poll', async () => {
    const runId = `run-${token()}`;
    const store = new MemoryOutbox();
    const r = relay(store, { pollIntervalMs: 60_000 });
    r.start();
    await r.kick(); // the first pass, over an empty outbox

    store.add(row(runId, 1));
    const kickedAt = performance.now();
    await r.kick();
    const elapsedMs = performance.now() - kickedAt;

    expect(store.unpublished).toBe(0);
    expect(elapsedMs).toBeLessThan(100);
    const jsm = await jetstreamManager(nc);
    expect((await jsm.streams.getMessage(s.streams.events, { last_by_subj: s.event('run', 'noted', runId) }))?.header.get('Nats-Msg-Id')).toBe(`${runId}-1`);
  });

  it('coalesces kicks made together into one pass', async () => {
    const store = new MemoryOutbox();
    const r = relay(store, { pollIntervalMs: 60_000 });
    r.start();
    await r.kick();
    const claimsBefore = store.claims;
    const runId = `run-${token()}`;
    for (let n = 0; n < 3; n++) store.add(row(runId, n));

    await Promise.all(Array.from({ length: 10 }, () => r.kick()));

    expect(store.unpublished).toBe(0);
    expect(store.claims - claimsBefore).toBe(1);
  });

  it('drains a backlog larger than one batch in one pass', async () => {
    const runId = `run-${token()}`;
    const store = new MemoryOutbox();
    for (let n = 0; n < 25; n++) store.add(row(runId, n));
    const r = relay(store, { batchSize: 10, pollIntervalMs: 60_000 });

    r.start();
    await r.kick();

    expect(store.unpublished).toBe(0);
  });

  it('leaves a row whose publish failed for a later pass', async () => {
    // A namespace whose streams do not exist yet: publishing there fails.
    const later = testNamespace('tobx');
    extraNamespaces.push(later);
    const store = new MemoryOutbox();
    const event = encodeEvent(Noted, { runId: 'r', n: 1 }, { id: `late-${token()}`, source: 'trellis/planner' });
    store.add({ id: event.id, subject: subjects(later).event('run', 'noted', 'r'), body: event.text });
    let claims = 0;
    const counting: OutboxStore = {
      claim: async (limit) => {
        claims++;
        const rows = await store.claim(limit);
        store.expireLeases(); // a lease shorter than the retry pause, so the row comes back
        return rows;
      },
      markPublished: (ids) => store.markPublished(ids),
    };
    relay(counting, { pollIntervalMs: 50, maxBackoffMs: 200, publishTimeoutMs: 1_000 }).start();

    await waitFor(() => claims >= 2, { what: 'a second attempt' });
    expect(store.unpublished).toBe(1);
    await provisionStreams(nc, later);

    await waitFor(() => store.unpublished === 0, { what: 'the row to be published once the stream exists' });
  });

  it('publishes committed rows handed to it without claiming them, and marks them in one batch', async () => {
    const runId = `run-${token()}`;
    const store = new MemoryOutbox();
    const marks: string[][] = [];
    const recording: OutboxStore = {
      claim: (limit) => store.claim(limit),
      markPublished: async (ids) => {
        marks.push(ids);
        await store.markPublished(ids);
      },
    };
    const r = relay(recording, { pollIntervalMs: 60_000, kickClaims: false });
    r.start();
    await waitFor(() => store.claims === 1, { what: 'the first pass' });
    const rows = [0, 1, 2].map((n) => row(runId, n));
    for (const x of rows) store.add(x);

    r.publishCommitted(rows.slice(0, 2));
    r.publishCommitted(rows.slice(2));
    await r.kick();

    expect(store.claims).toBe(1);
    expect(store.unpublished).toBe(0);
    expect(marks.flat().sort()).toEqual(rows.map((x) => x.id).sort());
    expect(marks.length).toBeLessThanOrEqual(2);
    const stored = (await allMessages(nc, s.streams.events)).filter((m) => m.subject === s.event('run', 'noted', runId));
    expect(stored.map((m) => m.header.get('Nats-Msg-Id'))).toEqual(rows.map((x) => x.id));
  });

  it('leaves a directly published row unmarked when its publish fails, for a poll once its lease lapses', async () => {
    const later = testNamespace('tobx');
    extraNamespaces.push(later);
    const store = new MemoryOutbox();
    const event = encodeEvent(Noted, { runId: 'r', n: 1 }, { id: `direct-${token()}`, source: 'trellis/planner' });
    const lost = { id: event.id, subject: subjects(later).event('run', 'noted', 'r'), body: event.text };
    store.add(lost);
    await store.claim(10); // leased from birth to this relay
    const r = relay(store, { pollIntervalMs: 60_000, kickClaims: false, publishTimeoutMs: 500 });
    r.start();

    r.publishCommitted([lost]);
    await r.kick();

    expect(store.unpublished).toBe(1);
  });
});
