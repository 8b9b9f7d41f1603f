import { Injectable } from '@nestjs/common';
import type { AuditRecord, ListAuditQuery } from '@trellis/contracts';
import { Database, GroupCommit, sqlLiteral, uuidv7 } from '@trellis/persistence';

interface AuditRow {
  id: string;
  /** Text or a Date, depending on the connection's type parsers. */
  at: string | Date;
  project: string | null;
  actor: string;
  action: AuditRecord['action'];
  resource: string | null;
  outcome: AuditRecord['outcome'];
  status: number;
  error: string | null;
}

type NewRecord = Omit<AuditRecord, 'id' | 'at'>;

/**
 * SQL over the gateway's audit trail: append a record, read pages of them newest first.
 * Records of calls answered together are written together (group commit: one insert, one
 * round trip), each call still waiting for its own record before it answers.
 */
@Injectable()
export class AuditRepository {
  private readonly writes = new GroupCommit<NewRecord, void>((records) => this.insert(records), { maxBatch: 256, maxInFlight: 2 });

  constructor(private readonly db: Database) {}

  append(record: NewRecord): Promise<void> {
    return this.writes.submit(record);
  }

  private async insert(records: NewRecord[]): Promise<Array<PromiseSettledResult<void>>> {
    const rows = records.map((r) =>
      [uuidv7(), r.project, r.actor, r.action, r.resource, r.outcome].map((v) => sqlLiteral(v, 'text')).concat(sqlLiteral(r.status, 'int'), sqlLiteral(r.error, 'text')).join(', '),
    );
    try {
      await this.db.sqlQuery([`insert into "gateway"."audit_record" (id, project, actor, action, resource, outcome, status, error) values (${rows.join('), (')})`]);
      return records.map(() => ({ status: 'fulfilled', value: undefined }));
    } catch (err) {
      return records.map(() => ({ status: 'rejected', reason: err }));
    }
  }

  /** A page of records matching every filter given, newest first; `project` undefined reads every project (the admin). */
  async list(query: Omit<ListAuditQuery, 'project'> & { project: string | undefined }): Promise<AuditRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const filter = (sql: string, value: unknown) => {
      if (value === undefined) return;
      where.push(sql);
      params.push(value);
    };
    filter('project = ?', query.project);
    filter('id < ?', query.before);
    filter('action = ?', query.action);
    filter('actor = ?', query.actor);
    if (query.resource !== undefined) {
      // The resource and what is under it: `templates/x` also finds `templates/x/labels/production`.
      where.push(`(resource = ? or resource like ? escape '\\')`);
      params.push(query.resource, `${query.resource.replace(/[\\%_]/g, (c) => `\\${c}`)}/%`);
    }
    filter('at >= ?', query.since === undefined ? undefined : new Date(query.since));
    filter('at < ?', query.until === undefined ? undefined : new Date(query.until));
    const rows = await this.db.orm.em
      .getConnection()
      .execute<AuditRow[]>(
        `select * from "gateway"."audit_record" ${where.length ? `where ${where.join(' and ')}` : ''} order by id desc limit ?`,
        [...params, query.limit],
      );
    return rows.map((r) => ({ ...r, at: new Date(r.at).toISOString() }));
  }
}
