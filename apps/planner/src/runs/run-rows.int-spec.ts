import { PgOutboxStore, uuidv7, type Database } from '@trellis/persistence';
import { createTestDatabase } from '@trellis/testing';
import { openPlannerDatabase } from '../planner.schema';
import { Run, StepRun } from './run.entity';
import { RunRows } from './run-rows';

/** The planner's hot path in SQL (ADR 0008) must read and write exactly what the ORM does. */
describe('RunRows', () => {
  let testDb: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: Database;

  const createRun = async (): Promise<string> => {
    const runId = uuidv7();
    await db.fork().transactional(async (tx) => {
      tx.create(Run, {
        id: runId,
        project: 'p',
        pipeline: 'rows',
        pipelineVersion: 3,
        specHash: 'h',
        status: 'running',
        inputs: { topic: "it's \\ here", n: 2 },
        inputTokens: 5,
        outputTokens: 7,
        cost: 0.25,
        error: null,
        products: [],
        templates: [],
        subject: null,
        actor: 'key-0',
        createdAt: new Date('2026-03-04T05:06:07.089Z'),
        finishedAt: null,
      });
      await tx.flush();
      tx.create(StepRun, { runId, stepId: 'a', status: 'dispatched', attempt: 1, model: 'm', structured: null, dispatchedAt: new Date('2026-03-04T05:06:08.000Z') });
      tx.create(StepRun, { runId, stepId: 'b', status: 'pending', attempt: 0, model: 'm', structured: null });
    });
    return runId;
  };
  const viaOrm = async (runId: string) => {
    const em = db.fork();
    const run = await em.findOneOrFail(Run, { id: runId });
    const steps = await em.find(StepRun, { runId }, { orderBy: { stepId: 'asc' } });
    return { run, steps };
  };
  const plain = (entity: object) => JSON.parse(JSON.stringify(entity)) as Record<string, unknown>;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    db = await openPlannerDatabase(testDb.url);
    await db.orm.em.getConnection().execute(`insert into "planner"."spec" (hash, spec) values ('h', '{}')`);
  });
  afterAll(async () => {
    await db?.close();
    await testDb?.drop();
  });

  it('loads a run and its steps as the ORM does', async () => {
    const runId = await createRun();
    const loaded = await db.sqlTransaction(RunRows.select(db.schema, [runId]), async (_tx, [runRows, stepRows]) => RunRows.load(db.schema, runRows!.rows, stepRows!.rows).get(runId)!);
    const orm = await viaOrm(runId);
    expect(loaded.run).toBeInstanceOf(Run);
    expect(plain(loaded.run)).toEqual(plain(orm.run));
    expect(loaded.steps.map(plain).sort((x, y) => String(x.stepId).localeCompare(String(y.stepId)))).toEqual(orm.steps.map(plain));
    expect(loaded.updates()).toEqual([]);
  });

  it('inserts a new run and its steps that the ORM reads back as written', async () => {
    const runId = uuidv7();
    const run = RunRows.newRun({
      id: runId,
      project: 'p',
      pipeline: 'rows',
      pipelineVersion: 0,
      specHash: 'h2',
      inputs: { q: "o'clock" },
      templates: [],
      subject: 'user-1',
      stream: true,
      actor: 'key-1',
      createdAt: new Date('2026-03-04T05:06:07.089Z'),
    });
    const steps = [RunRows.newStep(runId, 'a', 'm'), RunRows.newStep(runId, 'b', 'm2')];
    steps[0]!.status = 'dispatched';
    steps[0]!.attempt = 1;
    await db.orm.em.getConnection().execute(`insert into "planner"."spec" (hash, spec) values ('h2', '{}')`);
    await db.sqlTransaction([], async (tx) => {
      for (const statement of RunRows.insert(db.schema, run, steps)) tx.write(statement);
      await tx.commit();
    });
    const orm = await viaOrm(runId);
    expect(plain(orm.run)).toEqual(plain(run));
    expect(orm.steps.map(plain)).toEqual(steps.map(plain));
  });

  it("counts a project's running runs under its quota lock", async () => {
    await createRun();
    const project = await db.sqlTransaction(RunRows.countRunning(db.schema, 'p'), async (_tx, results) => Number(results.at(-1)!.rows[0].running));
    const other = await db.sqlTransaction(RunRows.countRunning(db.schema, "nobody's"), async (_tx, results) => Number(results.at(-1)!.rows[0].running));
    expect(project).toBeGreaterThanOrEqual(1);
    expect(other).toBe(0);
  });

  it('writes only the rows and columns that changed, and the ORM reads them back', async () => {
    const runId = await createRun();
    await db.sqlTransaction(RunRows.select(db.schema, [runId]), async (tx, [runRows, stepRows]) => {
      const rows = RunRows.load(db.schema, runRows!.rows, stepRows!.rows).get(runId)!;
      const a = rows.steps.find((s) => s.stepId === 'a')!;
      a.status = 'succeeded';
      a.output = "l'output \\n with quotes";
      a.structured = { answer: ['x', 1, null] };
      a.messages = [{ role: 'user', content: 'hi' }];
      a.finishedAt = new Date('2026-03-04T05:06:09.123Z');
      a.score = 0.5;
      rows.run.inputTokens += 10;
      rows.run.error = { code: 'c', message: 'm', retryable: false };
      const updates = rows.updates();
      expect(updates).toHaveLength(2); // the run and step a; step b is untouched
      expect(updates[0]).toMatch(/^update "planner"\."run" set "input_tokens" = 15, "error" = /);
      for (const statement of updates) tx.write(statement);
      await tx.commit();
    });
    const { run, steps } = await viaOrm(runId);
    expect(run.inputTokens).toBe(15);
    expect(run.error).toEqual({ code: 'c', message: 'm', retryable: false });
    const a = steps.find((s) => s.stepId === 'a')!;
    expect(a).toMatchObject({ status: 'succeeded', output: "l'output \\n with quotes", structured: { answer: ['x', 1, null] }, messages: [{ role: 'user', content: 'hi' }], score: 0.5 });
    expect(a.finishedAt?.toISOString()).toBe('2026-03-04T05:06:09.123Z');
    expect(a.dispatchedAt?.toISOString()).toBe('2026-03-04T05:06:08.000Z');
    expect(steps.find((s) => s.stepId === 'b')).toMatchObject({ status: 'pending', attempt: 0, output: null });
  });

  it('writes nothing when the work ends without committing, or throws', async () => {
    const runId = await createRun();
    await db.sqlTransaction(RunRows.select(db.schema, [runId]), async (tx, [runRows, stepRows]) => {
      const rows = RunRows.load(db.schema, runRows!.rows, stepRows!.rows).get(runId)!;
      rows.run.status = 'failed';
      for (const statement of rows.updates()) tx.write(statement);
      tx.outbox({ id: uuidv7(), subject: 'never', body: '' });
    });
    await expect(
      db.sqlTransaction(RunRows.select(db.schema, [runId]), async (tx) => {
        tx.write(`update "planner"."run" set status = 'failed' where id = '${runId}'`);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect((await viaOrm(runId)).run.status).toBe('running');
    const outbox = await db.orm.em.getConnection().execute<Array<{ n: string }>>(`select count(*) as n from "planner"."outbox" where subject = 'never'`);
    expect(Number(outbox[0]!.n)).toBe(0);
  });

  it('makes concurrent transactions on one run take turns, each seeing what the previous committed', async () => {
    const runId = await createRun();
    const bump = () =>
      db.sqlTransaction(RunRows.select(db.schema, [runId]), async (tx, [runRows, stepRows]) => {
        const rows = RunRows.load(db.schema, runRows!.rows, stepRows!.rows).get(runId)!;
        rows.run.outputTokens += 1;
        const b = rows.steps.find((s) => s.stepId === 'b')!;
        b.attempt += 1;
        // Hold the lock a moment with the change made in memory: the others must queue behind it, not overwrite it.
        await new Promise((r) => setTimeout(r, 5));
        for (const statement of rows.updates()) tx.write(statement);
        await tx.commit();
      });
    await Promise.all(Array.from({ length: 8 }, bump));
    const { run, steps } = await viaOrm(runId);
    expect(run.outputTokens).toBe(7 + 8);
    expect(steps.find((s) => s.stepId === 'b')!.attempt).toBe(8);
  });

  it('commits outbox rows with the writes, born leased and handed to the commit watcher', async () => {
    const runId = await createRun();
    const store = new PgOutboxStore(db);
    await store.claim(1000);
    const handed: string[] = [];
    const stop = store.watchCommits((rows) => handed.push(...rows.map((r) => r.subject)), 60_000);
    try {
      await db.sqlTransaction(RunRows.select(db.schema, [runId]), async (tx) => {
        tx.outbox({ id: uuidv7(), subject: 'rows.1', body: '{"a":1}', headers: { traceparent: "00-'x'" } });
        tx.outbox({ id: uuidv7(), subject: 'rows.2', body: 'two' });
        await tx.commit();
      });
      expect(handed).toEqual(['rows.1', 'rows.2']);
      expect(await store.claim(100)).toEqual([]);
      const rows = await db.orm.em.getConnection().execute<Array<{ subject: string; body: string; headers: unknown; leased: boolean }>>(
        `select subject, body, headers, claimed_until > now() + interval '50 seconds' as leased from "planner"."outbox" where subject like 'rows.%' order by subject`,
      );
      expect(rows).toEqual([
        { subject: 'rows.1', body: '{"a":1}', headers: { traceparent: "00-'x'" }, leased: true },
        { subject: 'rows.2', body: 'two', headers: null, leased: true },
      ]);
    } finally {
      stop();
    }
  });
});
