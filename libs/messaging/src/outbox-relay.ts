import type { NatsConnection } from '@nats-io/transport-node';
import type { OutboxRow } from '@trellis/contracts';
import { logger } from '@trellis/telemetry';
import { EventPublisher } from './event-publisher';
import { Wakeup } from './wakeup';

/**
 * The relay's view of an outbox table (`PgOutboxStore`, libs/persistence). `claim` must hand a row to one relay at a time (a lease, `skip locked`), and
 * give a row back once its lease lapses, so a relay that dies mid-batch delays its rows but
 * never loses them.
 */
export interface OutboxStore {
  claim(limit: number): Promise<OutboxRow[]>;
  markPublished(ids: string[]): Promise<void>;
}

/** Tuning of {@link OutboxRelay}. */
export interface OutboxRelayOptions {
  /** Rows per claim; one batch is published pipelined. Default 256. */
  batchSize?: number;
  /** Poll period when nobody kicks (rows written by another process, retries). Default 500. */
  pollIntervalMs?: number;
  /** Longest pause after repeated failures. Default 10000. */
  maxBackoffMs?: number;
  /** Wait for each publish ack. Default 5000. */
  publishTimeoutMs?: number;
  /**
   * Whether `kick()` starts a claiming pass. Turn it off when every row this process writes
   * reaches {@link OutboxRelay.publishCommitted} after its commit (ADR 0007): a pass would only
   * find them leased. The poll still claims what others left. Default true.
   */
  kickClaims?: boolean;
}

/**
 * Moves committed outbox rows to JetStream. A pass claims a batch, publishes every row at
 * once (pipelined, then awaits the acks) with `Nats-Msg-Id` = row id, marks the published
 * rows, and repeats while batches come back full. A relay that dies between publish and
 * mark leaves the rows to be claimed again, and the stream's dedupe window (2 min) turns the
 * second publish into a no-op. A publish failure leaves its row unmarked for a later pass.
 */
export class OutboxRelay {
  private readonly publisher: EventPublisher;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly maxBackoffMs: number;
  private readonly publishTimeoutMs: number;
  private readonly log = logger('messaging.outbox');
  private readonly wakeup = new Wakeup();
  /** Rings only on stop: cuts a failure backoff short. */
  private readonly stopRequested = new Wakeup();
  /** Resolvers of kicks waiting for the next pass to finish. */
  private kicked: Array<() => void> = [];
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly kickClaims: boolean;
  /** Direct publishes not yet acknowledged (see `publishCommitted`). */
  private readonly inFlight = new Set<Promise<void>>();
  /** Ids published directly, waiting for one coalesced `markPublished`. */
  private unmarked: string[] = [];
  private marking: Promise<void> | undefined;

  constructor(
    nc: NatsConnection,
    private readonly store: OutboxStore,
    options: OutboxRelayOptions = {},
  ) {
    this.publisher = new EventPublisher(nc, { source: 'trellis/outbox' });
    this.batchSize = Math.max(1, options.batchSize ?? 256);
    this.pollIntervalMs = Math.max(1, options.pollIntervalMs ?? 500);
    this.maxBackoffMs = options.maxBackoffMs ?? 10_000;
    this.publishTimeoutMs = options.publishTimeoutMs ?? 5_000;
    this.kickClaims = options.kickClaims ?? true;
  }

  /**
   * Publishes rows the caller has just committed, without claiming them first (ADR 0007):
   * the writer leased them at insert, so no other relay takes them while this one publishes.
   * Marks them published in coalesced batches afterwards. A row whose publish fails stays
   * leased until its lease lapses, then a poll publishes it. Ignored once stopped: the
   * rows' leases lapse and the next relay publishes them.
   */
  publishCommitted(rows: readonly OutboxRow[]): void {
    if (!this.running || !rows.length) return;
    const done: Promise<void> = Promise.allSettled(
      rows.map((row) => this.publisher.publishRaw(row.subject, row.body, { msgId: row.id, headers: row.headers, timeoutMs: this.publishTimeoutMs })),
    ).then((results) => {
      this.inFlight.delete(done);
      const failed = results.filter((r) => r.status === 'rejected');
      if (failed.length) this.log.warn({ failed: failed.length, first: (failed[0] as PromiseRejectedResult).reason as unknown }, 'direct outbox publish failed; a poll publishes the rows once their lease lapses');
      this.unmarked.push(...rows.filter((_, i) => results[i]?.status === 'fulfilled').map((row) => row.id));
      if (this.unmarked.length && !this.marking) {
        const marking: Promise<void> = this.markUnmarked().finally(() => {
          if (this.marking === marking) this.marking = undefined;
        });
        this.marking = marking;
      }
    });
    this.inFlight.add(done);
  }

  /** One `markPublished` for every id published since the last one; repeats while more arrive. */
  private async markUnmarked(): Promise<void> {
    // Yield first: acks that arrive together are marked together.
    await Promise.resolve();
    while (this.unmarked.length) {
      const ids = this.unmarked.splice(0, this.batchSize * 4);
      // A failed mark only means the rows are published again after their lease (a no-op
      // inside the dedupe window): log it, never retry in a loop.
      await this.store.markPublished(ids).catch((err: unknown) => this.log.warn({ err, rows: ids.length }, 'marking directly published rows failed; they will be published again, deduplicated'));
    }
  }

  /** Resolves when the direct publishes handed over so far are acknowledged and marked. */
  private async settleDirect(): Promise<void> {
    while (this.inFlight.size || this.marking) {
      await Promise.all([...this.inFlight]);
      await this.marking;
    }
  }

  /** Starts relaying: a pass now, then one per poll interval or kick. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopRequested.clear();
    this.loop = this.run();
  }

  /**
   * Asks for a pass now (call it right after a commit that wrote outbox rows). Kicks that
   * arrive while a pass runs coalesce into one more pass. Resolves when a pass that began
   * after this call has finished; resolves at once if the relay is not running. With
   * `kickClaims: false` it starts no pass and resolves when the rows handed to
   * `publishCommitted` so far are published and marked.
   */
  kick(): Promise<void> {
    if (!this.running) return Promise.resolve();
    if (!this.kickClaims) return this.settleDirect();
    return new Promise<void>((resolve) => {
      this.kicked.push(resolve);
      this.wakeup.notify();
    });
  }

  /** Finishes the pass in progress (if any) and stops. */
  async stop(): Promise<void> {
    if (!this.running) {
      await this.loop;
      return;
    }
    this.running = false;
    this.wakeup.notify();
    this.stopRequested.notify();
    await this.loop;
    await this.settleDirect();
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      // Kicks made before this pass starts are served by it; later ones wait for the next.
      const served = this.kicked;
      this.kicked = [];
      this.wakeup.clear();
      const ok = await this.pass();
      for (const resolve of served) resolve();
      failures = ok ? 0 : failures + 1;
      if (!this.running) break;
      if (ok) {
        await this.wakeup.wait(this.pollIntervalMs);
      } else {
        // Back off from a failing broker or store; kicks during the pause wait for it.
        const pauseMs = Math.min(this.maxBackoffMs, this.pollIntervalMs * 2 ** Math.min(failures, 10));
        await this.stopRequested.wait(pauseMs);
      }
    }
    for (const resolve of this.kicked.splice(0)) resolve();
  }

  /** Drains the outbox batch by batch; false if anything failed (rows stay for a later pass). */
  private async pass(): Promise<boolean> {
    try {
      while (this.running) {
        const rows = await this.store.claim(this.batchSize);
        if (!rows.length) return true;
        const results = await Promise.allSettled(
          rows.map((row) => this.publisher.publishRaw(row.subject, row.body, { msgId: row.id, headers: row.headers, timeoutMs: this.publishTimeoutMs })),
        );
        const published = rows.filter((_, i) => results[i]?.status === 'fulfilled').map((row) => row.id);
        if (published.length) await this.store.markPublished(published);
        const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [{ id: rows[i]?.id, subject: rows[i]?.subject, err: r.reason as unknown }] : []));
        if (failed.length) {
          this.log.warn({ failed: failed.length, published: published.length, first: failed[0] }, 'outbox publish failed; rows stay for the next pass');
          return false;
        }
        if (rows.length < this.batchSize) return true;
      }
      return true;
    } catch (err) {
      this.log.error({ err }, 'outbox pass failed; retrying after a pause');
      return false;
    }
  }
}
