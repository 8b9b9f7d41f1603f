import { Inject, Injectable } from '@nestjs/common';
import { jetstreamManager, StorageType } from '@nats-io/jetstream';
import { Base64UrlPaddedCodec, Objm, type ObjectStore } from '@nats-io/obj';
import { subjects, type ProductView } from '@trellis/contracts';
import { productContent, type ProductFormat, type PromptScope } from '@trellis/engine';
import type { NatsConnection } from '@trellis/messaging';
import { NATS } from '@trellis/runtime';
import { logger } from '@trellis/telemetry';
import { PLANNER_CONFIG, type PlannerConfig } from '../config';

const CONTENT_TYPES = {
  text: 'text/plain; charset=utf-8',
  markdown: 'text/markdown; charset=utf-8',
  json: 'application/json',
  csv: 'text/csv; charset=utf-8',
} as const satisfies Record<ProductFormat, string>;

/**
 * Builds a run's product files from its outputs (the engine's `productContent`) and stores them
 * in the JetStream object store under `<runId>/<path>`. Paths were confined to the run at
 * compile time. A product that cannot be built (a csv product whose rows hold nested values, a
 * template failing on a value) is listed with its `error` and no content: the run keeps its
 * status, and the user sees why on the run. A put is idempotent (same key, same content), so
 * building them again after a crash is harmless; `delete` removes a run's products when
 * retention deletes the run.
 */
@Injectable()
export class ProductStore {
  private bucket: Promise<ObjectStore> | undefined;
  private readonly bucketName: string;
  private readonly log = logger('products');

  constructor(
    @Inject(NATS) private readonly nc: NatsConnection,
    @Inject(PLANNER_CONFIG) private readonly config: PlannerConfig,
  ) {
    this.bucketName = subjects(config.TRELLIS_NAMESPACE).buckets.products;
  }

  async write(runId: string, products: Array<{ path: string; from: string; format: ProductFormat }>, scope: PromptScope): Promise<ProductView[]> {
    if (!products.length) return [];
    const store = await this.open();
    const written: ProductView[] = [];
    for (const product of products) {
      const contentType = CONTENT_TYPES[product.format];
      let text: string;
      try {
        text = productContent(product, scope);
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        this.log.warn({ runId, path: product.path, error }, 'product not built');
        written.push({ path: product.path, contentType, size: 0, error });
        continue;
      }
      const content = Buffer.from(text, 'utf8');
      await store.putBlob({ name: `${runId}/${product.path}`, description: contentType }, content);
      written.push({ path: product.path, contentType, size: content.length });
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
