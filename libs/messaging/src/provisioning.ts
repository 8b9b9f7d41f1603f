import type { NatsConnection } from '@nats-io/transport-node';
import { nanos } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  jetstreamManager,
  type ConsumerConfig,
  type ConsumerInfo,
  type JetStreamManager,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';
import { subjects } from '@trellis/contracts';
import { logger } from '@trellis/telemetry';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Limits of the namespace's streams; the defaults suit production. */
export interface ProvisionOptions {
  /** How long events stay replayable. Default 7 days. */
  eventsMaxAgeMs?: number;
  /** How long dead letters are kept for inspection and replay. Default 30 days. */
  deadLettersMaxAgeMs?: number;
  /** The `Nats-Msg-Id` dedupe window; it must outlast a relay restart. Default 2 minutes. */
  duplicateWindowMs?: number;
  /** Replicas per stream (1 on a single server, 3 on a cluster). Default 1. */
  replicas?: number;
}

type ManagedStreamConfig = Pick<StreamConfig, 'name' | 'subjects' | 'retention' | 'storage' | 'max_age' | 'duplicate_window' | 'num_replicas'>;

/** The three streams of a namespace (DESIGN §4): events, work queues, dead letters. */
export function streamConfigs(ns: string, options: ProvisionOptions = {}): ManagedStreamConfig[] {
  const s = subjects(ns);
  const duplicateWindowMs = options.duplicateWindowMs ?? 2 * 60 * 1000;
  // The server refuses a dedupe window longer than the stream's max age.
  const window = (maxAgeMs: number) => nanos(maxAgeMs > 0 ? Math.min(duplicateWindowMs, maxAgeMs) : duplicateWindowMs);
  const eventsMaxAgeMs = options.eventsMaxAgeMs ?? 7 * DAY_MS;
  const deadLettersMaxAgeMs = options.deadLettersMaxAgeMs ?? 30 * DAY_MS;
  const replicas = options.replicas ?? 1;
  return [
    {
      name: s.streams.events,
      subjects: [s.allEvents],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: nanos(eventsMaxAgeMs),
      duplicate_window: window(eventsMaxAgeMs),
      num_replicas: replicas,
    },
    {
      // Work-queue retention: a job is removed once acked, and each subject has at most one
      // consumer (one durable per pool, shared by every replica of the pool).
      name: s.streams.work,
      subjects: [s.allWork],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      max_age: 0,
      duplicate_window: window(0),
      num_replicas: replicas,
    },
    {
      name: s.streams.deadLetters,
      subjects: [s.allDeadLetters],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: nanos(deadLettersMaxAgeMs),
      // Dead letters are published with a Msg-Id per original message, so a consumer that
      // dead-letters, crashes before term and sees the message again stores it once.
      duplicate_window: window(deadLettersMaxAgeMs),
      num_replicas: replicas,
    },
  ];
}

/**
 * Creates the namespace's streams, or brings existing ones to the expected configuration.
 * Idempotent and safe to run at every start by every service at once. Throws when a stream
 * exists with a setting that cannot change in place (retention, storage): that needs a
 * deliberate migration, not a silent recreate.
 */
export async function provisionStreams(nc: NatsConnection, ns: string, options: ProvisionOptions = {}): Promise<StreamInfo[]> {
  const jsm = await jetstreamManager(nc);
  const out: StreamInfo[] = [];
  for (const config of streamConfigs(ns, options)) out.push(await ensureStream(jsm, config));
  return out;
}

async function ensureStream(jsm: JetStreamManager, wanted: ManagedStreamConfig): Promise<StreamInfo> {
  const log = logger('messaging.provisioning');
  const existing = await streamInfo(jsm, wanted.name);
  if (!existing) {
    try {
      const created = await jsm.streams.add({ ...wanted });
      log.info({ stream: wanted.name }, 'stream created');
      return created;
    } catch (err) {
      // Another service created it between our info and add: reconcile with theirs.
      const raced = await streamInfo(jsm, wanted.name);
      if (!raced) throw err;
      return reconcileStream(jsm, raced, wanted);
    }
  }
  return reconcileStream(jsm, existing, wanted);
}

async function reconcileStream(jsm: JetStreamManager, current: StreamInfo, wanted: ManagedStreamConfig): Promise<StreamInfo> {
  const c = current.config;
  for (const key of ['retention', 'storage'] as const) {
    if (c[key] !== wanted[key]) {
      throw new Error(`stream ${wanted.name} exists with ${key} "${c[key]}", expected "${wanted[key]}"; it cannot change in place`);
    }
  }
  const drift =
    !sameSet(c.subjects ?? [], wanted.subjects ?? []) ||
    c.max_age !== wanted.max_age ||
    c.duplicate_window !== wanted.duplicate_window ||
    c.num_replicas !== wanted.num_replicas;
  if (!drift) return current;
  const updated = await jsm.streams.update(wanted.name, {
    subjects: wanted.subjects,
    max_age: wanted.max_age,
    duplicate_window: wanted.duplicate_window,
    num_replicas: wanted.num_replicas,
  });
  logger('messaging.provisioning').info({ stream: wanted.name }, 'stream configuration updated');
  return updated;
}

async function streamInfo(jsm: JetStreamManager, name: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(name);
  } catch (err) {
    if (isApiError(err, JetStreamApiCodes.StreamNotFound)) return undefined;
    throw err;
  }
}

/** A durable pull consumer as the consumer runner expects it. */
export interface ConsumerSpec {
  stream: string;
  /** `<app>-<handler>` (see `subjects(ns).durable`); every replica of the app shares it. */
  durable: string;
  /** One subject or wildcard (NATS 2.9 allows a single filter per consumer). */
  filterSubject: string;
  /** How long the server waits for an ack before redelivering; the runner heartbeats at a third of it. */
  ackWaitMs: number;
  /** Unacked messages the server lets out across all replicas: the cap on the pool's total concurrency. */
  maxAckPending: number;
  /** Where a new consumer starts; ignored for an existing one. Default `all`. */
  deliverPolicy?: 'all' | 'new' | 'last' | 'last_per_subject';
}

/**
 * Creates a durable pull consumer, or updates the settings that may change (ack wait, max
 * ack pending, filter). The server's delivery limit is left unlimited (`max_deliver` -1):
 * the consumer runner counts deliveries itself so that it can dead-letter the message with
 * the reason, which a server-side limit would drop silently.
 */
export async function ensureConsumer(nc: NatsConnection, spec: ConsumerSpec): Promise<ConsumerInfo> {
  const jsm = await jetstreamManager(nc);
  const log = logger('messaging.provisioning');
  const wanted = {
    ack_wait: nanos(spec.ackWaitMs),
    max_ack_pending: spec.maxAckPending,
    max_deliver: -1,
    filter_subject: spec.filterSubject,
  } satisfies Partial<ConsumerConfig>;
  const current = await consumerInfo(jsm, spec.stream, spec.durable);
  if (!current) {
    try {
      const created = await jsm.consumers.add(spec.stream, {
        ...wanted,
        durable_name: spec.durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: spec.deliverPolicy ?? DeliverPolicy.All,
      });
      log.info({ stream: spec.stream, durable: spec.durable }, 'consumer created');
      return created;
    } catch (err) {
      if (!(await consumerInfo(jsm, spec.stream, spec.durable))) throw err;
      // Created concurrently by another replica: fall through to reconcile.
    }
  }
  const existing = current ?? (await jsm.consumers.info(spec.stream, spec.durable));
  const c = existing.config;
  if (c.ack_policy !== AckPolicy.Explicit) {
    throw new Error(`consumer ${spec.stream}/${spec.durable} exists with ack policy "${c.ack_policy}", expected "explicit"`);
  }
  if (c.ack_wait === wanted.ack_wait && c.max_ack_pending === wanted.max_ack_pending && c.max_deliver === wanted.max_deliver && c.filter_subject === wanted.filter_subject) {
    return existing;
  }
  const updated = await jsm.consumers.update(spec.stream, spec.durable, wanted);
  log.info({ stream: spec.stream, durable: spec.durable }, 'consumer configuration updated');
  return updated;
}

async function consumerInfo(jsm: JetStreamManager, stream: string, durable: string): Promise<ConsumerInfo | undefined> {
  try {
    return await jsm.consumers.info(stream, durable);
  } catch (err) {
    if (isApiError(err, JetStreamApiCodes.ConsumerNotFound)) return undefined;
    throw err;
  }
}

/** Deletes the namespace's streams and buckets (and so their consumers). For tests and throwaway environments. */
export async function deleteNamespace(nc: NatsConnection, ns: string): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const { streams, buckets } = subjects(ns);
  // KV and object-store buckets are streams too (`KV_<bucket>`, `OBJ_<bucket>`).
  for (const name of [streams.events, streams.work, streams.deadLetters, `KV_${buckets.rateLimits}`, `KV_${buckets.requestLimits}`, `KV_${buckets.registry}`, `OBJ_${buckets.products}`]) {
    try {
      await jsm.streams.delete(name);
    } catch (err) {
      if (!isApiError(err, JetStreamApiCodes.StreamNotFound)) throw err;
    }
  }
}

function isApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/**
 * Deletes durable consumers that this version no longer reads, so that they stop holding
 * state on the server (absent ones are skipped). Answers the names it deleted.
 */
export async function retireConsumers(nc: NatsConnection, stream: string, durables: readonly string[]): Promise<string[]> {
  const jsm = await jetstreamManager(nc);
  const deleted: string[] = [];
  for (const durable of durables) {
    try {
      await jsm.consumers.delete(stream, durable);
      deleted.push(durable);
    } catch (err) {
      if (!(isApiError(err, JetStreamApiCodes.ConsumerNotFound) || isApiError(err, JetStreamApiCodes.StreamNotFound))) throw err;
    }
  }
  if (deleted.length) logger('messaging.provisioning').info({ stream, consumers: deleted }, 'retired consumers deleted');
  return deleted;
}
