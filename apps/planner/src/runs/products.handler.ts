import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { ProductsRequested } from '@trellis/contracts';
import { buildProducts } from '@trellis/engine';
import { OnEvent } from '@trellis/runtime';
import { logger } from '@trellis/telemetry';
import { ProductStore } from './product-store';
import { RunService } from './run.service';

/**
 * Consumes the planner's own `run.products_requested` jobs: builds the run's product files
 * from its outputs (the engine), stores them (outside any transaction), and then lets the run
 * end with them. Idempotent: a redelivered job writes the same files again and the run,
 * already ended, ignores the second ending.
 */
@Controller()
export class ProductsHandler {
  private readonly log = logger('products');

  constructor(
    private readonly runs: RunService,
    private readonly products: ProductStore,
  ) {}

  @OnEvent(ProductsRequested, {
    stream: 'work',
    durable: 'planner-products',
    // The object store away (a NATS outage) is worth waiting for: back off to a minute, for hours.
    settings: { concurrency: 16, maxDeliver: 1000, backoffMs: [1_000, 5_000, 15_000, 30_000, 60_000] },
  })
  async write(@Payload() { runId }: ProductsRequested): Promise<void> {
    const found = await this.runs.snapshot(runId);
    if (!found || found.snapshot.run.status !== 'running') return;
    const files = buildProducts(found.planned.compiled, found.snapshot);
    // A file that cannot be built is listed with why; the run keeps its status.
    for (const f of files) if (f.error !== undefined) this.log.warn({ runId, path: f.path, reason: f.error }, 'product not built');
    const written = await this.products.write(runId, files);
    await this.runs.applyProducts(runId, { type: 'products', products: written });
  }
}
