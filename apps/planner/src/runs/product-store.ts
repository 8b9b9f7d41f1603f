import { Inject, Injectable } from '@nestjs/common';
import { StorageType } from '@nats-io/jetstream';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { subjects, type ProductView } from '@trellis/contracts';
import { renderPrompt } from '@trellis/engine';
import type { NatsConnection } from '@trellis/messaging';
import { NATS } from '@trellis/runtime';
import { logger } from '@trellis/telemetry';
import { PLANNER_CONFIG, type PlannerConfig } from '../config';

const CONTENT_TYPES = {
  text: 'text/plain; charset=utf-8',
  markdown: 'text/markdown; charset=utf-8',
  json: 'application/json',
  csv: 'text/csv; charset=utf-8',
} as const;

type Scope = { inputs: Record<string, unknown>; steps: Record<string, { output: unknown }> };

/**
 * Builds a run's product files from its outputs and stores them in the JetStream object
 * store under `<runId>/<path>`. Paths were confined to the run at compile time. A put is
 * idempotent (same key, same content), so building them again after a crash is harmless.
 */
@Injectable()
export class ProductStore {
  private bucket: Promise<ObjectStore> | undefined;
  private readonly log = logger('products');

  constructor(
    @Inject(NATS) private readonly nc: NatsConnection,
    @Inject(PLANNER_CONFIG) private readonly config: PlannerConfig,
  ) {}

  async write(runId: string, products: Array<{ path: string; from: string; format: keyof typeof CONTENT_TYPES }>, scope: Scope): Promise<ProductView[]> {
    if (!products.length) return [];
    const store = await this.open();
    const written: ProductView[] = [];
    for (const product of products) {
      let text: string;
      try {
        text = contentOf(product.from, product.format, scope);
      } catch (err) {
        // The compiler checked what `from` reads; what is left (a filter failing on a value) loses this file, not the run.
        this.log.warn({ runId, path: product.path, err }, 'product not built');
        continue;
      }
      const content = Buffer.from(text, 'utf8');
      await store.putBlob({ name: `${runId}/${product.path}`, description: CONTENT_TYPES[product.format] }, content);
      written.push({ path: product.path, contentType: CONTENT_TYPES[product.format], size: content.length });
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

/**
 * `from` is a Liquid template, or a bare reference such as `steps.outline.output`: a bare
 * reference to structured data becomes pretty JSON, to text stays text.
 */
function contentOf(from: string, format: keyof typeof CONTENT_TYPES, scope: Scope): string {
  const bare = /^\s*(inputs|steps)\.([a-z_][a-z0-9_]*)(?:\.(output))?\s*$/i.exec(from);
  if (!bare) return renderPrompt(from, scope);
  const value = bare[1] === 'inputs' ? scope.inputs[bare[2]!] : scope.steps[bare[2]!]?.output;
  if (typeof value === 'string') return value;
  return JSON.stringify(value ?? null, null, format === 'json' ? 2 : 0);
}
