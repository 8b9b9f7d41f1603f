import { Injectable } from '@nestjs/common';
import type { AuditRecord, ListAuditQuery } from '@trellis/contracts';
import { Database, uuidv7 } from '@trellis/persistence';

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

/** SQL over the gateway's audit trail: append a record, read pages of them newest first. */
@Injectable()
export class AuditRepository {
  constructor(private readonly db: Database) {}

  async append(record: Omit<AuditRecord, 'id' | 'at'>): Promise<void> {
    await this.db.orm.em
      .getConnection()
      .execute(
        `insert into "gateway"."audit_record" (id, project, actor, action, resource, outcome, status, error) values (?, ?, ?, ?, ?, ?, ?, ?)`,
        [uuidv7(), record.project, record.actor, record.action, record.resource, record.outcome, record.status, record.error],
      );
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
