import { jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { subjects } from '@trellis/contracts';
import { connectNats, drainNats, type NatsConnection } from '@trellis/messaging';
import type { Database } from '@trellis/persistence';
import { createTestDatabase, createTestNamespace, testEnv } from '@trellis/testing';
import type { PlannerConfig } from '../config';
import { openPlannerDatabase } from '../planner.schema';
import { ProductStore } from './product-store';
import { RunRetention } from './run-retention';

const DAY_MS = 24 * 60 * 60 * 1000;

describe('RunRetention', () => {
  let testDb: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: Database;
  let nc: NatsConnection;
  let products: ProductStore;
  const namespace = createTestNamespace();
  const bucket = subjects(namespace).buckets.products;
  const now = new Date('2026-06-30T12:00:00Z');
  const sql = <T extends object[] = object[]>(query: string, params: unknown[] = []) => db.orm.em.getConnection().execute<T>(query, params);
  const config = (days: number) =>
    ({ PLANNER_RUN_RETENTION_DAYS: days, PLANNER_RETENTION_INTERVAL_MS: 60_000, TRELLIS_NAMESPACE: namespace, NATS_STREAM_REPLICAS: 1 }) as unknown as PlannerConfig;
  const sut = (days: number) => new RunRetention(config(days), db, products);

  /** A run with one step, finished `ageDays` before `now` (null: still running). */
  const insertRun = async (id: string, status: string, ageDays: number | null) => {
    const finishedAt = ageDays === null ? null : new Date(now.getTime() - ageDays * DAY_MS);
    await sql(
      `insert into "planner"."run" (id, project, pipeline, pipeline_version, spec_hash, status, inputs, created_at, finished_at)
       values (?, 'p', 'retention', 0, 'h', ?, '{}', ?, ?)`,
      [id, status, new Date(now.getTime() - 400 * DAY_MS), finishedAt],
    );
    await sql(`insert into "planner"."step_run" (run_id, step_id, status, model) values (?, 'a', 'succeeded', 'm')`, [id]);
    await sql(`insert into "planner"."step_call" (run_id, step_id, attempt, iteration, call, request, answer, at) values (?, 'a', 1, 1, 'generate', '{}', '{}', now())`, [id]);
  };
  const runIds = async () => (await sql<Array<{ id: string }>>(`select id from "planner"."run" order by id`)).map((r) => r.id);

  /** A finished run whose products were built by the planner's ProductStore, as a succeeding run's are. */
  const insertRunWithProducts = async (id: string, ageDays: number) => {
    await insertRun(id, 'succeeded', ageDays);
    const built = await products.write(id, [
      { path: 'brief.md', contentType: 'text/markdown; charset=utf-8', content: `the brief of ${id}` },
      { path: 'data/rows.csv', contentType: 'text/csv; charset=utf-8', error: 'not rows' }, // not built: listed with its error, no file
      { path: 'data/out.json', contentType: 'application/json', content: JSON.stringify({ id }) },
    ]);
    await sql(`update "planner"."run" set products = ? where id = ?`, [JSON.stringify(built), id]);
    return built;
  };
  /** Every object name in the products bucket. */
  const storedNames = async () => {
    const store = await new Objm(nc).open(bucket);
    return (await store.list()).map((o) => o.name).sort();
  };

  beforeAll(async () => {
    testDb = await createTestDatabase();
    db = await openPlannerDatabase(testDb.url);
    nc = await connectNats({ servers: testEnv.natsUrl, name: 'retention-test' });
    products = new ProductStore(nc, config(30));
    await sql(`insert into "planner"."spec" (hash, spec) values ('h', '{}')`);
  });
  afterAll(async () => {
    await new Objm(nc).open(bucket).then((store) => store.destroy()).catch(() => undefined);
    await drainNats(nc);
    await db?.close();
    await testDb?.drop();
  });
  beforeEach(() => sql(`delete from "planner"."run"`));

  it('deletes finished runs older than the retention with their steps and recorded calls, and keeps the rest', async () => {
    await insertRun('old-succeeded', 'succeeded', 31);
    await insertRun('old-failed', 'failed', 90);
    await insertRun('old-cancelled', 'cancelled', 45);
    await insertRun('recent', 'succeeded', 29);
    await insertRun('running', 'running', null);

    expect(await sut(30).sweep(now)).toBe(3);

    expect(await runIds()).toEqual(['recent', 'running']);
    const steps = await sql<Array<{ run_id: string }>>(`select run_id from "planner"."step_run" order by run_id`);
    expect(steps.map((s) => s.run_id)).toEqual(['recent', 'running']);
    const calls = await sql<Array<{ run_id: string }>>(`select run_id from "planner"."step_call" order by run_id`);
    expect(calls.map((c) => c.run_id)).toEqual(['recent', 'running']);
  });

  it('deletes the product files of the runs it deletes, leaving nothing of them in the bucket, and keeps the others', async () => {
    const built = await insertRunWithProducts('old-with-products', 40);
    expect(built).toEqual([
      { path: 'brief.md', contentType: 'text/markdown; charset=utf-8', size: 'the brief of old-with-products'.length },
      { path: 'data/rows.csv', contentType: 'text/csv; charset=utf-8', size: 0, error: 'not rows' },
      { path: 'data/out.json', contentType: 'application/json', size: expect.any(Number) },
    ]);
    await insertRunWithProducts('recent-with-products', 2);
    expect(await storedNames()).toEqual(['old-with-products/brief.md', 'old-with-products/data/out.json', 'recent-with-products/brief.md', 'recent-with-products/data/out.json']);

    expect(await sut(30).sweep(now)).toBe(1);

    expect(await runIds()).toEqual(['recent-with-products']);
    expect(await storedNames()).toEqual(['recent-with-products/brief.md', 'recent-with-products/data/out.json']);
    const store = await new Objm(nc).open(bucket);
    expect(await store.info('old-with-products/brief.md')).toBeNull();
    expect(new TextDecoder().decode((await store.getBlob('recent-with-products/brief.md')) ?? undefined)).toBe('the brief of recent-with-products');
    // Neither chunks nor tombstones of the deleted run are left: only the recent run's 2 chunks and 2 meta entries.
    const stream = await (await jetstreamManager(nc)).streams.info(`OBJ_${bucket}`);
    expect(stream.state.messages).toBe(4);
  });

  it('deletes in batches until nothing past retention is left', async () => {
    for (let i = 0; i < 1_200; i++) await insertRun(`old-${String(i).padStart(4, '0')}`, 'succeeded', 40);
    await insertRun('recent', 'succeeded', 1);
    expect(await sut(30).sweep(now)).toBe(1_200);
    expect(await runIds()).toEqual(['recent']);
  });

  it('keeps everything when retention is 0 days', async () => {
    await insertRun('ancient', 'succeeded', 3_000);
    expect(await sut(0).sweep(now)).toBe(0);
    expect(await runIds()).toEqual(['ancient']);
  });

  it("counts a project's running runs (the run quota) from the partial index, not from its history", async () => {
    await sql(
      `insert into "planner"."run" (id, project, pipeline, pipeline_version, spec_hash, status, inputs, created_at)
       select 'hist-' || i, 'p', 'retention', 0, 'h', 'succeeded', '{}', now() from generate_series(1, 5000) as i`,
    );
    await insertRun('live', 'running', null);
    await sql('analyze "planner"."run"');
    const plan = await sql<Array<{ 'QUERY PLAN': string }>>(`explain select count(*) from "planner"."run" where project = 'p' and status = 'running'`);
    expect(plan.map((r) => r['QUERY PLAN']).join('\n')).toContain('run_project_running_index');
  });

  it('deletes each run once when two replicas sweep at the same time', async () => {
    await insertRun('old', 'succeeded', 60);
    const [a, b] = await Promise.all([sut(30).sweep(now), sut(30).sweep(now)]);
    expect(a + b).toBe(1);
    expect(await runIds()).toEqual([]);
  });
});
