import { Inject, Injectable } from '@nestjs/common';
import { StorageType } from '@nats-io/jetstream';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { subjects, type ProductView } from '@trellis/contracts';
import type { ProductFile } from '@trellis/engine';
import type { NatsConnection } from '@trellis/messaging';
import { NATS } from '@trellis/runtime';
import { PLANNER_CONFIG, type PlannerConfig } from '../config';

/**
 * Stores a run's product files in the JetStream object store under `<runId>/<path>`. A put
 * is idempotent (same key, same content), so writing them again after a crash is harmless.
 */
@Injectable()
export class ProductStore {
  private bucket: Promise<ObjectStore> | undefined;

  constructor(
    @Inject(NATS) private readonly nc: NatsConnection,
    @Inject(PLANNER_CONFIG) private readonly config: PlannerConfig,
  ) {}

  async write(runId: string, files: readonly ProductFile[]): Promise<ProductView[]> {
    if (!files.length) return [];
    const store = await this.open();
    const written: ProductView[] = [];
    for (const file of files) {
      const content = Buffer.from(file.content, 'utf8');
      await store.putBlob({ name: `${runId}/${file.path}`, description: file.contentType }, content);
      written.push({ path: file.path, contentType: file.contentType, size: content.length });
    }
    return written;
  }

  private open(): Promise<ObjectStore> {
    this.bucket ??= new Objm(this.nc).create(subjects(this.config.TRELLIS_NAMESPACE).buckets.products, { storage: StorageType.File, replicas: this.config.NATS_STREAM_REPLICAS }).catch((err: unknown) => {
      this.bucket = undefined;
      throw err;
    });
    return this.bucket;
  }
}
