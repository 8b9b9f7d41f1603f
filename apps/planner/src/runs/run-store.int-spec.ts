import { compilePipeline, decideRunChange, newRunSnapshot, type CompiledPipeline, type RunRecord, type RunSnapshot } from '@trellis/engine';
import type { Database } from '@trellis/persistence';
import { createTestDatabase, uniqueToken } from '@trellis/testing';
import { openPlannerDatabase } from '../planner.schema';
import { RunStore, type RunWrite } from './run-store';
import { RUN_TABLE, STEP_TABLE } from './run-table';
import { STEP_CALL_TABLE } from './step-call-table';

/** The kinds the table module declares, as PostgreSQL names the column types. */
const PG_TYPES: Record<string, string[]> = {
  text: ['text', 'character varying'],
  int: ['integer'],
  float: ['double precision'],
  bool: ['boolean'],
  json: ['jsonb'],
  'ordered-json': ['json'],
  time: ['timestamp with time zone'],
};

function compile(): CompiledPipeline {
  const result = compilePipeline({ json: { version: 1, name: 'store', steps: { a: { prompt: 'a' }, b: { depends_on: ['a'], prompt: 'b {{ steps.a.output }}' } } } }, { defaultModel: 'm', defaultPool: 'default' });
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.pipeline;
}

/** RunStore against the migrated schema of a real PostgreSQL. */
describe('RunStore', () => {
  let testDb: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: Database;
  const pipeline = compile();

  beforeAll(async () => {
    testDb = await createTestDatabase();
    db = await openPlannerDatabase(testDb.url);
    await db.sqlQuery([`insert into "planner"."spec" (hash, spec) values ('${pipeline.hash}', '{}')`]);
  });
  afterAll(async () => {
    await db?.close();
    await testDb?.drop();
  });

  /** A started run, inserted. */
  async function started(store: RunStore): Promise<RunSnapshot> {
    const fresh = newRunSnapshot(pipeline, { id: `01934a5c-0000-7000-8000-${uniqueToken().slice(0, 12).padStart(12, '0')}`, project: 'p', pipeline: 'store', pipelineVersion: 0, inputs: { q: "it's \\ \"quoted\"" }, templates: [], subject: null, stream: false, actor: null, recording: true, priority: 3, concurrencyKey: null, createdAt: new Date('2026-12-04T10:00:00.123Z') });
    const change = decideRunChange(pipeline, fresh, { type: 'start' }, new Date('2026-12-04T10:00:00.200Z'));
    if (!change.applied) throw new Error(change.reason);
    await store.locked([], () => Promise.resolve({ inserts: [{ next: change.next }], writes: [], outbox: [], value: undefined }));
    return change.next;
  }

  /** The write of one result of `a` to a run. */
  function resultOf(snapshot: RunSnapshot): RunWrite {
    const change = decideRunChange(
      pipeline,
      snapshot,
      {
        type: 'generated',
        result: { runId: snapshot.run.id, stepId: 'a', attempt: 1, output: 'A!', structured: { nested: ['x', 1] }, model: 'm', messages: [{ role: 'user', content: 'a' }], usage: { inputTokens: 3, outputTokens: 4 }, cost: 0.5, finishReason: 'stop', startedAt: '2026-12-04T10:00:01.000Z', finishedAt: '2026-12-04T10:00:02.000Z', executor: 'e1' },
      },
      new Date('2026-12-04T10:00:02.500Z'),
    );
    if (!change.applied) throw new Error(change.reason);
    return { before: snapshot, next: change.next, run: change.run, steps: change.steps };
  }

  it('has exactly the columns the table module defines, of the kinds it declares, once migrated', async () => {
    for (const table of [RUN_TABLE, STEP_TABLE, STEP_CALL_TABLE]) {
      const [found] = await db.sqlQuery([`select column_name, data_type from information_schema.columns where table_schema = 'planner' and table_name = '${table.name}'`]);
      const columns = new Map((found?.rows ?? []).map((r) => [r.column_name as string, r.data_type as string]));
      expect([...columns.keys()].sort()).toEqual(table.columns.map(([, , column]) => column).sort());
      for (const [, kind, column] of table.columns) expect(PG_TYPES[kind]).toContain(columns.get(column));
    }
  });

  it('reads back exactly the run it wrote, and what a change wrote', async () => {
    const store = new RunStore(db);
    const run = await started(store);
    expect(await store.read('p', run.run.id)).toEqual(run);
    const write = resultOf(run);
    await store.transact([run.run.id], () => Promise.resolve({ writes: [write], outbox: [], value: undefined }));
    expect(await store.read('p', run.run.id)).toEqual(write.next);
    expect(await store.read('another-project', run.run.id)).toBeUndefined();
  });

  it('decides on the run as stored when another writer moved it since it was cached', async () => {
    const mine = new RunStore(db);
    const other = new RunStore(db);
    const run = await started(mine);
    // Another planner applies the result first: the version this store cached is now stale.
    await other.transact([run.run.id], (runs) => Promise.resolve({ writes: [resultOf(runs.get(run.run.id)!)], outbox: [], value: undefined }));
    const seen: number[] = [];
    await mine.transact([run.run.id], (runs) => {
      const current = runs.get(run.run.id)!;
      seen.push(current.run.version);
      return Promise.resolve({ writes: [{ before: current, next: current, run: { version: current.run.version + 1 }, steps: {} }], outbox: [], value: undefined });
    });
    // First decided on the cached version 1, refused (40001), then on the stored version 2.
    expect(seen).toEqual([1, 2]);
    expect((await mine.read('p', run.run.id))?.run.version).toBe(3);
  });

  it('writes the patches of many cached runs, of two shapes, in one guarded statement, and none of them when one run is stale', async () => {
    const mine = new RunStore(db);
    const other = new RunStore(db);
    const runs = await Promise.all([started(mine), started(mine), started(mine), started(mine)]);
    const ids = runs.map((r) => r.run.id);
    const change = (run: RunSnapshot, fields: Partial<RunRecord>): RunWrite => {
      const patch = { version: run.run.version + 1, ...fields };
      return { before: run, next: { ...run, run: { ...run.run, ...patch } }, run: patch, steps: {} };
    };
    const bump = (run: RunSnapshot, priority: number) => change(run, { priority });
    const statement = mine.sql.updateRunsAt(ids.map((id, i) => ({ id, expected: 1, patch: i % 2 === 0 ? { version: 2, inputTokens: 3 } : { version: 2, priority: 5 } })));
    expect(statement.match(/update /g)).toHaveLength(2);

    // Another planner moves the last run; this one, its copy stale, decides a batch of two
    // shapes (results of `a`, priority changes): refused whole, decided again on the stored rows.
    await other.transact([ids[3]!], (r) => Promise.resolve({ writes: [bump(r.get(ids[3]!)!, 7)], outbox: [], value: undefined }));
    const seen: number[][] = [];
    await mine.transact(ids, (current) => {
      seen.push(ids.map((id) => current.get(id)!.run.version));
      return Promise.resolve({ writes: ids.map((id, i) => (i % 2 === 0 ? resultOf(current.get(id)!) : bump(current.get(id)!, 5))), outbox: [], value: undefined });
    });
    expect(seen).toEqual([
      [1, 1, 1, 1],
      [1, 1, 1, 2],
    ]);
    const stored = await Promise.all(ids.map((id) => mine.read('p', id)));
    expect(stored.map((r) => r?.run.version)).toEqual([2, 2, 2, 3]);
    expect(stored.map((r) => r?.run.priority)).toEqual([3, 5, 3, 5]);
    expect(stored.map((r) => r?.steps.a?.output ?? null)).toEqual(['A!', null, 'A!', null]);

    // All cached and current now: one guarded round trip writes all four, in two shapes.
    const shapes = (current: ReadonlyMap<string, RunSnapshot>) => ids.map((id, i) => (i % 2 === 0 ? change(current.get(id)!, { inputTokens: 100 + i }) : bump(current.get(id)!, 1)));
    await mine.transact(ids, (current) => Promise.resolve({ writes: shapes(current), outbox: [], value: undefined }));
    const after = await Promise.all(ids.map((id) => mine.read('p', id)));
    expect(after.map((r) => r?.run.version)).toEqual([3, 3, 3, 4]);
    expect(after.map((r) => r?.run.priority)).toEqual([3, 1, 3, 1]);
    expect(after.map((r) => r?.run.inputTokens)).toEqual([100, 0, 102, 0]);
  });

  it('decides again on the run as stored when an input was ignored on a cached run another writer moved', async () => {
    const mine = new RunStore(db);
    const other = new RunStore(db);
    const run = await started(mine);
    await other.transact([run.run.id], (runs) => Promise.resolve({ writes: [resultOf(runs.get(run.run.id)!)], outbox: [], value: undefined }));
    // An input the cached copy cannot take (b is not dispatched there) is taken on the stored run.
    const seen: Array<string | undefined> = [];
    const value = await mine.transact([run.run.id], (runs) => {
      const status = runs.get(run.run.id)!.steps.b?.status;
      seen.push(status);
      return Promise.resolve({ writes: [], outbox: [], value: status, ignored: status !== 'dispatched' });
    });
    expect(seen).toEqual(['pending', 'dispatched']);
    expect(value).toBe('dispatched');
    // While the cache is current, an ignored input costs one version check and no second decision.
    const current = await started(mine);
    const again: number[] = [];
    await mine.transact([current.run.id], (runs) => {
      again.push(runs.get(current.run.id)!.run.version);
      return Promise.resolve({ writes: [], outbox: [], value: undefined, ignored: true });
    });
    expect(again).toHaveLength(1);
  });

  it('writes nothing when nothing was decided', async () => {
    const store = new RunStore(db);
    const run = await started(store);
    await expect(store.transact([run.run.id], () => Promise.resolve({ writes: [], outbox: [], value: 'nothing' }))).resolves.toBe('nothing');
    expect(await store.read('p', run.run.id)).toEqual(run);
  });

  it('writes the same fields of many steps in one statement, nulls and JSON included, each step its own values', async () => {
    const store = new RunStore(db);
    const runs = await Promise.all([started(store), started(store), started(store)]);
    // Three results of `a` with the same fields, one of them with nulls where the others have values.
    const writes = runs.map((run, i) => {
      const write = resultOf(run);
      const a = { ...write.steps.a, output: `A${i} it's \\ "q"`, structured: i === 1 ? null : { i, nested: [i] }, score: i === 2 ? null : i / 4 };
      return { ...write, steps: { ...write.steps, a }, next: { ...write.next, steps: { ...write.next.steps, a: { ...write.next.steps.a!, ...a } } } };
    });
    const statements = store.sql.updateSteps(writes.flatMap((w) => Object.entries(w.steps).map(([stepId, patch]) => ({ runId: w.before.run.id, stepId, patch }))));
    // Two shapes of patch (a's result, b's dispatch): two statements for six steps.
    expect(statements).toHaveLength(2);
    await store.transact(runs.map((r) => r.run.id), () => Promise.resolve({ writes, outbox: [], value: undefined }));
    for (const write of writes) expect(await store.read('p', write.before.run.id)).toEqual(write.next);
  });
});
