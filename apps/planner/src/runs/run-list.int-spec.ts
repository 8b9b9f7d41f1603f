import type { RunStatus } from '@trellis/contracts';
import { sqlLiteral, uuidv7, type Database } from '@trellis/persistence';
import { createTestDatabase } from '@trellis/testing';
import { openPlannerDatabase } from '../planner.schema';
import { RunStore } from './run-store';
import type { RunListQuery } from './run-table';

/** The run list's filters (the console's runs page) against the migrated schema. */
describe('RunStore.list', () => {
  let testDb: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: Database;
  let sut: RunStore;
  const ids: string[] = [];
  const t0 = Date.parse('2026-03-01T00:00:00Z');

  const insert = async (project: string, i: number, fields: { status?: RunStatus; pipeline?: string; inputs?: Record<string, unknown> } = {}) => {
    const id = uuidv7();
    const row = [
      sqlLiteral(id, 'text'),
      sqlLiteral(project, 'text'),
      sqlLiteral(fields.pipeline ?? 'brief', 'text'),
      '1',
      "'h'",
      sqlLiteral(fields.status ?? 'succeeded', 'text'),
      sqlLiteral(fields.inputs ?? { idea: `idea number ${i}` }, 'ordered-json'),
      sqlLiteral(new Date(t0 + i * 60_000), 'time'),
    ];
    await db.sqlQuery([`insert into "planner"."run" ("id", "project", "pipeline", "pipeline_version", "spec_hash", "status", "inputs", "created_at") values (${row.join(', ')})`]);
    return id;
  };
  const list = async (query: Partial<RunListQuery>) => (await sut.list({ project: 'p', limit: 50, ...query })).map((r) => r.id);

  beforeAll(async () => {
    testDb = await createTestDatabase();
    db = await openPlannerDatabase(testDb.url);
    sut = new RunStore(db);
    await db.sqlQuery([`insert into "planner"."spec" (hash, spec) values ('h', '{}')`]);
    for (let i = 0; i < 30; i++) {
      ids.push(
        await insert('p', i, {
          status: i % 10 === 3 ? 'failed' : 'succeeded',
          pipeline: i % 3 === 0 ? 'digest' : 'brief',
          inputs: i === 7 ? { idea: 'A Solar KETTLE for 100% of campers', size: 3 } : i === 8 ? { idea: 'solar_lamp' } : { idea: `idea number ${i}` },
        }),
      );
    }
    // Another project's runs match every filter and never show.
    for (let i = 0; i < 5; i++) await insert('other', i, { status: 'failed', pipeline: 'digest', inputs: { idea: 'a solar kettle' } });
  });
  afterAll(async () => {
    await db?.close();
    await testDb?.drop();
  });

  const newestFirst = () => [...ids].reverse();

  it('pages through the project newest first, each page after the last id of the one before', async () => {
    const first = await list({ limit: 12 });
    const second = await list({ limit: 12, before: first.at(-1)! });
    const third = await list({ limit: 12, before: second.at(-1)! });
    expect([...first, ...second, ...third]).toEqual(newestFirst());
    expect(third).toHaveLength(6);
  });

  it('filters by status, pipeline and creation time, and pages within the filter', async () => {
    expect(await list({ status: 'failed' })).toEqual(newestFirst().filter((_, n) => (29 - n) % 10 === 3));
    const digests = newestFirst().filter((_, n) => (29 - n) % 3 === 0);
    expect(await list({ pipeline: 'digest' })).toEqual(digests);
    const page = await list({ pipeline: 'digest', limit: 4 });
    expect([...page, ...(await list({ pipeline: 'digest', limit: 4, before: page.at(-1)! }))]).toEqual(digests.slice(0, 8));
    // From minute 10 (inclusive) to minute 15 (exclusive).
    expect(await list({ createdFrom: new Date(t0 + 10 * 60_000), createdTo: new Date(t0 + 15 * 60_000) })).toEqual(ids.slice(10, 15).reverse());
    expect(await list({ status: 'failed', createdFrom: new Date(t0 + 10 * 60_000) })).toEqual([ids[23], ids[13]]);
  });

  it('finds a run by its whole id or by its first characters', async () => {
    expect(await list({ id: ids[5] })).toEqual([ids[5]]);
    const prefix = ids[5]!.slice(0, 13);
    const matching = newestFirst().filter((id) => id.startsWith(prefix));
    expect(await list({ id: prefix })).toEqual(matching);
    expect(matching).toContain(ids[5]);
    expect(await list({ id: 'ffff' })).toEqual([]);
  });

  it('searches the input values case-insensitively, never the keys, with % and _ taken literally', async () => {
    expect(await list({ input: 'solar kettle' })).toEqual([ids[7]]);
    expect(await list({ input: 'SOLAR' })).toEqual([ids[8], ids[7]]);
    expect(await list({ input: 'idea' })).toEqual(newestFirst().filter((id) => id !== ids[7] && id !== ids[8]));
    expect(await list({ input: '100%' })).toEqual([ids[7]]);
    expect(await list({ input: '0%' })).toEqual([ids[7]]);
    expect(await list({ input: 'r_l' })).toEqual([ids[8]]);
    expect(await list({ input: 'r%l' })).toEqual([]);
    expect(await list({ input: 'kettle', status: 'failed' })).toEqual([]);
  });

  it('has the trigram index the input search relies on', async () => {
    const [indexes] = await db.sqlQuery([`select indexname from pg_indexes where schemaname = 'planner' and tablename = 'run'`]);
    expect(indexes!.rows.map((i) => i['indexname'])).toEqual(
      expect.arrayContaining(['run_project_id_index', 'run_project_status_id_index', 'run_project_pipeline_id_index', 'run_input_text_trgm_index']),
    );
  });
});
