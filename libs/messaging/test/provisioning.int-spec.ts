import { jetstreamManager, RetentionPolicy, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { subjects } from '@trellis/contracts';
import { deleteNamespace, ensureConsumer, provisionStreams, type NatsConnection } from '@trellis/messaging';
import { connect, quietLogs, testNamespace } from './nats-test-kit';

const MINUTE_NS = nanos(60_000);
const DAY_NS = nanos(24 * 60 * 60 * 1000);

describe('stream and consumer provisioning', () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const namespaces: string[] = [];
  const newNamespace = () => {
    const ns = testNamespace('tprov');
    namespaces.push(ns);
    return ns;
  };

  beforeAll(async () => {
    quietLogs();
    nc = await connect('messaging-provisioning-test');
    jsm = await jetstreamManager(nc);
  });

  afterAll(async () => {
    for (const ns of namespaces) await deleteNamespace(nc, ns);
    await nc.close();
  });

  it('creates the three streams and leaves them untouched when run again', async () => {
    const ns = newNamespace();
    const s = subjects(ns);
    const first = await provisionStreams(nc, ns);
    const second = await provisionStreams(nc, ns);

    expect(second.map((i) => i.created)).toEqual(first.map((i) => i.created));
    const [events, work, dlq] = await Promise.all([s.streams.events, s.streams.work, s.streams.deadLetters].map((name) => jsm.streams.info(name)));
    expect(events?.config).toMatchObject({ subjects: [s.allEvents], retention: RetentionPolicy.Limits, storage: StorageType.File, max_age: 7 * DAY_NS, duplicate_window: 2 * MINUTE_NS });
    expect(work?.config).toMatchObject({ subjects: [s.allWork], retention: RetentionPolicy.Workqueue, storage: StorageType.File, duplicate_window: 2 * MINUTE_NS });
    expect(dlq?.config).toMatchObject({ subjects: [s.allDeadLetters], retention: RetentionPolicy.Limits, max_age: 30 * DAY_NS });
  });

  it('is safe when several services provision the same namespace at once', async () => {
    const ns = newNamespace();
    const results = await Promise.all([provisionStreams(nc, ns), provisionStreams(nc, ns), provisionStreams(nc, ns)]);
    expect(results.every((r) => r.length === 3)).toBe(true);
  });

  it('brings a stream whose limits drifted back to its configuration', async () => {
    const ns = newNamespace();
    const { streams } = subjects(ns);
    await provisionStreams(nc, ns);
    await jsm.streams.update(streams.events, { max_age: nanos(60 * 60_000) });

    await provisionStreams(nc, ns);

    expect((await jsm.streams.info(streams.events)).config.max_age).toBe(7 * DAY_NS);
  });

  it('refuses to change a stream retention in place', async () => {
    const ns = newNamespace();
    const s = subjects(ns);
    await jsm.streams.add({ name: s.streams.work, subjects: [s.allWork], retention: RetentionPolicy.Limits });

    await expect(provisionStreams(nc, ns)).rejects.toThrow(/retention "limits", expected "workqueue"/);
  });

  it('creates a durable pull consumer once and updates its changeable settings', async () => {
    const ns = newNamespace();
    const s = subjects(ns);
    await provisionStreams(nc, ns);
    const spec = { stream: s.streams.work, durable: 'executor-default', filterSubject: s.stepWork('default'), ackWaitMs: 30_000, maxAckPending: 64 };

    const created = await ensureConsumer(nc, spec);
    const again = await ensureConsumer(nc, spec);
    const updated = await ensureConsumer(nc, { ...spec, ackWaitMs: 5_000, maxAckPending: 128 });

    expect(created.config).toMatchObject({ durable_name: 'executor-default', ack_policy: 'explicit', max_deliver: -1, filter_subject: s.stepWork('default'), ack_wait: nanos(30_000) });
    expect(again.created).toBe(created.created);
    expect(updated.created).toBe(created.created);
    expect(updated.config).toMatchObject({ ack_wait: nanos(5_000), max_ack_pending: 128, max_deliver: -1 });
  });

  it('deletes a namespace, and tolerates one that is already gone', async () => {
    const ns = newNamespace();
    await provisionStreams(nc, ns);

    await deleteNamespace(nc, ns);
    await deleteNamespace(nc, ns);

    await expect(jsm.streams.info(subjects(ns).streams.events)).rejects.toThrow(/stream not found/);
  });
});
