import { Injectable } from '@nestjs/common';
import { Database } from '@trellis/persistence';

export interface IdempotencyRow {
  body_hash: string;
  run_id: string | null;
}

export const IDEMPOTENCY_TTL_HOURS = 24;

/** `Idempotency-Key`s of `POST /v1/runs`, per project: the body's hash and the run it started. */
@Injectable()
export class IdempotencyRepository {
  constructor(private readonly db: Database) {}

  private exec<T>(sql: string, params: unknown[]): Promise<T[]> {
    return this.db.orm.em.getConnection().execute<T[]>(sql, params);
  }

  /** Claims the key for this body; answers the existing row when another request claimed it first. */
  async claim(project: string, key: string, bodyHash: string): Promise<IdempotencyRow | undefined> {
    // A key is remembered for a day (as Stripe does); after that it may start a new run.
    await this.exec(
      `delete from "gateway"."idempotency_key" where project = ? and key = ? and created_at < now() - interval '${IDEMPOTENCY_TTL_HOURS} hours'`,
      [project, key],
    );
    const inserted = await this.exec<{ key: string }>(
      `insert into "gateway"."idempotency_key" (project, key, body_hash) values (?, ?, ?) on conflict do nothing returning key`,
      [project, key, bodyHash],
    );
    if (inserted.length) return undefined;
    return (await this.exec<IdempotencyRow>(`select body_hash, run_id from "gateway"."idempotency_key" where project = ? and key = ?`, [project, key]))[0];
  }

  async complete(project: string, key: string, runId: string): Promise<void> {
    await this.exec(`update "gateway"."idempotency_key" set run_id = ? where project = ? and key = ?`, [runId, project, key]);
  }

  /** A claim whose run did not start is released, so the client can retry with the same key. */
  async release(project: string, key: string): Promise<void> {
    await this.exec(`delete from "gateway"."idempotency_key" where project = ? and key = ? and run_id is null`, [project, key]);
  }
}
