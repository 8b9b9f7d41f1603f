import { Database, Migration, PgOutboxStore, outboxTableSql, uuidv7 } from '@trellis/persistence';
import { createTestDatabase, waitFor } from '@trellis/testing';

class InitialNotes extends Migration {
  override up() {
    this.addSql(`create table "notes"."note" ("id" varchar(255) primary key, "text" text not null);`);
    this.addSql(outboxTableSql('notes'));
  }
}

describe('Database', () => {
  let testDb: Awaited<ReturnType<typeof createTestDatabase>>;
  let sut: Database;
  const open = () =>
    // No entities: the notes and the outbox are written in SQL, as the services do.
    Database.open({ url: testDb.url, schema: 'notes', entities: [], migrations: [{ name: 'InitialNotes', class: InitialNotes }] });
  const note = (id: string, text: string) => `insert into "notes"."note" ("id", "text") values ('${id}', '${text}')`;
  const row = (subject: string, body = '{}', headers?: Record<string, string>) => ({ id: uuidv7(), subject, body, ...(headers ? { headers } : {}) });

  beforeAll(async () => {
    testDb = await createTestDatabase();
    sut = await open();
  });
  afterAll(async () => {
    await sut?.close();
    await testDb?.drop();
  });

  it('runs committed migrations once, even when several replicas start together', async () => {
    const others = await Promise.all([open(), open()]);
    await Promise.all(others.map((d) => d.close()));
    const rows = await sut.orm.em.getConnection().execute<Array<{ name: string }>>(`select name from "notes"."mikro_orm_migrations"`);
    expect(rows.map((r) => r.name)).toEqual(['InitialNotes']);
  });

  it('commits a state change and its outbox message together, or neither', async () => {
    await sut.sqlAtomic([note('n1', 'kept')], [row('trellis.x.events.note.created.n1')]);
    await expect(sut.sqlAtomic([note('n2', 'lost'), 'select 1/0'], [row('trellis.x.events.note.created.n2')])).rejects.toThrow('division by zero');
    await expect(
      sut.sqlTransaction([], async (tx) => {
        tx.write(note('n3', 'lost'));
        tx.outbox(row('trellis.x.events.note.created.n3'));
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    const store = new PgOutboxStore(sut);
    const claimed = await store.claim(10);
    expect(claimed.map((r) => r.subject)).toEqual(['trellis.x.events.note.created.n1']);
    expect((await sut.sqlQuery(['select count(*)::int as n from "notes"."note"']))[0]!.rows[0]!.n).toBe(1);
  });

  it('hands a claimed outbox row to one relay at a time and forgets it once published', async () => {
    await sut.sqlAtomic([], Array.from({ length: 5 }, (_, i) => row(`s.${i}`, String(i))));
    const a = new PgOutboxStore(sut);
    const b = new PgOutboxStore(sut);
    const [first, second] = await Promise.all([a.claim(3), b.claim(3)]);
    const ids = [...first!, ...second!].map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(5);
    await a.markPublished(ids);
    const left = await sut.orm.em.getConnection().execute<Array<{ n: number }>>(`select count(*)::int as n from "notes"."outbox"`);
    expect(left[0]?.n).toBe(1); // the row claimed by the previous test, still leased
  });

  it("hands each committed transaction's outbox rows to the commit watcher, leased to it, and none of a failed one", async () => {
    // A database of its own: the watcher changes how every later row of it is written.
    const watched = await open();
    const store = new PgOutboxStore(watched);
    await store.claim(100); // lease whatever earlier tests left
    const committed: string[][] = [];
    const stop = store.watchCommits((rows) => committed.push(rows.map((r) => r.subject)), 60_000);
    try {
      await watched.sqlTransaction([], async (tx) => {
        tx.write(note('w1', 'kept'));
        tx.outbox(row('w.1', '1', { traceparent: 't' }));
        tx.outbox(row('w.2', '2'));
        await tx.commit();
      });
      await expect(watched.sqlAtomic(['select 1/0'], [row('w.lost', '')])).rejects.toThrow('division by zero');
      await watched.sqlAtomic([], [row('w.3', '3')]);
      expect(committed).toEqual([['w.1', 'w.2'], ['w.3']]);
      // Born leased: no other relay's claim takes them while this one publishes.
      expect(await store.claim(100)).toEqual([]);
    } finally {
      stop();
      await watched.close();
    }
  });

  it("deletes published rows with the next commit's round trip, or alone shortly after when no commit comes", async () => {
    const watched = await open();
    const store = new PgOutboxStore(watched, 30_000, 60_000);
    const stop = store.watchCommits(() => undefined, 60_000);
    const outboxIds = async () => (await watched.sqlQuery(['select "id" from "notes"."outbox" order by "id"']))[0]!.rows.map((r) => r.id as string);
    try {
      await watched.sqlQuery(['delete from "notes"."outbox"']);
      await watched.sqlAtomic([], [{ id: 'p1', subject: 's.1', body: '1' }, { id: 'p2', subject: 's.2', body: '2' }]);
      await store.markPublished(['p1', 'p2']);
      // Marked, not yet deleted: the delete waits for a commit to ride on (the timer is a minute here).
      expect(await outboxIds()).toEqual(['p1', 'p2']);
      await watched.sqlAtomic([], [{ id: 'p3', subject: 's.3', body: '3' }]);
      expect(await outboxIds()).toEqual(['p3']);
      // A commit that fails gives its deletes back to the next one.
      await store.markPublished(['p3']);
      await expect(watched.sqlAtomic(['select 1/0'], [])).rejects.toThrow('division by zero');
      expect(await outboxIds()).toEqual(['p3']);
      await watched.sqlAtomic([], []);
      expect(await outboxIds()).toEqual([]);
    } finally {
      stop();
      await watched.close();
    }
    // With no commit to ride on, the delete goes alone after its delay.
    const quiet = await open();
    const store2 = new PgOutboxStore(quiet, 30_000, 50);
    const stop2 = store2.watchCommits(() => undefined, 60_000);
    try {
      await quiet.sqlAtomic([], [{ id: 'q1', subject: 's.q', body: 'q' }]);
      await store2.markPublished(['q1']);
      await waitFor('the lone delete', async () => (await quiet.sqlQuery(['select count(*)::int as n from "notes"."outbox" where "id" = \'q1\''])) [0]!.rows[0]!.n === 0);
    } finally {
      stop2();
      await quiet.close();
    }
  });

  it('answers readiness with a real round trip', async () => {
    expect(await sut.ping()).toBe(true);
  });
});
