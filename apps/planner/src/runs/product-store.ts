import { Inject, Injectable } from '@nestjs/common';
import { jetstreamManager, StorageType } from '@nats-io/jetstream';
import { Base64UrlPaddedCodec, Objm, type ObjectStore } from '@nats-io/obj';
import { subjects, type ProductView } from '@trellis/contracts';
import type { ProductFile } from '@trellis/engine';
import type { NatsConnection } from '@trellis/messaging';
import { NATS } from '@trellis/runtime';
import { PLANNER_CONFIG, type PlannerConfig } from '../config';

/**
 * Stores a run's product files (built by the engine's `buildProducts`) in the JetStream object
 * store under `<runId>/<path>`. A product that could not be built is listed with its `error`
 * and no content: the run keeps its status, and the user sees why on the run. A put is
 * idempotent (same key, same content), so writing them again after a crash is harmless;
 * `delete` removes a run's products when retention deletes the run.
 */
@Injectable()
export class ProductStore {
  private bucket: Promise<ObjectStore> | undefined;
  private readonly bucketName: string;

  constructor(
    @Inject(NATS) private readonly nc: NatsConnection,
    @Inject(PLANNER_CONFIG) private readonly config: PlannerConfig,
  ) {
    this.bucketName = subjects(config.TRELLIS_NAMESPACE).buckets.products;
  }

  /** Stores the files that were built and lists every one, an unbuilt file with its error and no content. */
  async write(runId: string, files: readonly ProductFile[]): Promise<ProductView[]> {
    if (!files.length) return [];
    const store = await this.open();
    const written: ProductView[] = [];
    for (const file of files) {
      if (file.error !== undefined) {
        written.push({ path: file.path, contentType: file.contentType, size: 0, error: file.error });
        continue;
      }
      const content = Buffer.from(file.content, 'utf8');
      await store.putBlob({ name: `${runId}/${file.path}`, description: file.contentType }, content);
      written.push({ path: file.path, contentType: file.contentType, size: content.length });
    }
    return written;
  }

  /**
   * Deletes the product files of these runs, leaving nothing of them in the bucket: the object
   * store's delete purges the chunks and leaves a tombstone (the name's meta entry), which is
   * purged too (subjects per the object store's layout, NATS ADR-20: `$O.<bucket>.M.<name>`).
   */
  async delete(runs: Array<{ id: string; products: ProductView[] }>): Promise<void> {
    const names = runs.flatMap((run) => run.products.filter((p) => p.error === undefined).map((p) => `${run.id}/${p.path}`));
    if (!names.length) return;
    const store = await this.open();
    const jsm = await jetstreamManager(this.nc);
    for (const name of names) {
      await store.delete(name);
      await jsm.streams.purge(`OBJ_${this.bucketName}`, { filter: `$O.${this.bucketName}.M.${Base64UrlPaddedCodec.encode(name)}` });
    }
  }

  private open(): Promise<ObjectStore> {
    this.bucket ??= new Objm(this.nc).create(this.bucketName, { storage: StorageType.File, replicas: this.config.NATS_STREAM_REPLICAS }).catch((err: unknown) => {
      this.bucket = undefined;
      throw err;
    });
    return this.bucket;
  }
}
