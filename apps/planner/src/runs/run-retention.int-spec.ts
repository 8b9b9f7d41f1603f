import type { Database } from '@trellis/persistence';
import { createTestDatabase } from '@trellis/testing';
import type { PlannerConfig } from '../config';
import { openPlannerDatabase } from '../planner.schema';
import { RunRetention } from './run-retention';

const DAY_MS = 24 * 60 * 60 * 1000;

describe('RunRetention', () => {
  let testDb: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: Database;
  const now = new Date('2026-06-30T12:00:00Z');
  const sql = <T extends object[] = object[]>(query: string, params: unknown[] = []) => db.orm.em.getConnection().execute<T>(query, params);
  const sut = (days: number) => new RunRetention({ PLANNER_RUN_RETENTION_DAYS: days, PLANNER_RETENTION_INTERVAL_MS: 60_000 } as unknown as PlannerConfig, db);

  /** A run with one step, finished `ageDays` before `now` (null: still running). */
  const insertRun = async (id: string, status: string, ageDays: number | null) => {
    const finishedAt = ageDays === null ? null : new Date(now.getTime() - ageDays * DAY_MS);
    await sql(
      `insert into "planner"."run" (id, project, pipeline, pipeline_version, spec_hash, status, inputs, created_at, finished_at)
       values (?, 'p', 'retention', 0, 'h', ?, '{}', ?, ?)`,
      [id, status, new Date(now.getTime() - 400 * DAY_MS), finishedAt],
    );
    await sql(`insert into "planner"."step_run" (run_id, step_id, status, model) values (?, 'a', 'succeeded', 'm')`, [id]);
  };
  const runIds = async () => (await sql<Array<{ id: string }>>(`select id from "planner"."run" order by id`)).map((r) => r.id);

  beforeAll(async () => {
    testDb = await createTestDatabase();
    db = await openPlannerDatabase(testDb.url);
    await sql(`insert into "planner"."spec" (hash, spec) values ('h', '{}')`);
  });
  afterAll(async () => {
    await db?.close();
    await testDb?.drop();
  });
  beforeEach(() => sql(`delete from "planner"."run"`));

  it('deletes finished runs older than the retention with their steps, and keeps the rest', async () => {
    await insertRun('old-succeeded', 'succeeded', 31);
    await insertRun('old-failed', 'failed', 90);
    await insertRun('old-cancelled', 'cancelled', 45);
    await insertRun('recent', 'succeeded', 29);
    await insertRun('running', 'running', null);

    expect(await sut(30).sweep(now)).toBe(3);

    expect(await runIds()).toEqual(['recent', 'running']);
    const steps = await sql<Array<{ run_id: string }>>(`select run_id from "planner"."step_run" order by run_id`);
    expect(steps.map((s) => s.run_id)).toEqual(['recent', 'running']);
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
