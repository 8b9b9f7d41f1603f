import { Inject, Injectable } from '@nestjs/common';
import { Objm } from '@nats-io/obj';
import { PlannerRpc, subjects, type ProductView } from '@trellis/contracts';
import { RpcClient, type NatsConnection } from '@trellis/messaging';
import { NATS } from '@trellis/runtime';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config';
import { GatewayError } from '../http/gateway.errors';

/**
 * A run's product files, from the object store bucket `<ns> PRODUCTS` under `<runId>/<path>`.
 * Only a path the run lists is served: the run (and so the project) is checked first, and a
 * path never reaches the store unless the planner recorded it.
 */
@Injectable()
export class ProductsService {
  private readonly bucket: string;

  constructor(
    private readonly rpc: RpcClient,
    @Inject(NATS) private readonly nc: NatsConnection,
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
  ) {
    this.bucket = subjects(config.TRELLIS_NAMESPACE).buckets.products;
  }

  async read(project: string, runId: string, path: string): Promise<{ product: ProductView; data: Uint8Array }> {
    const run = await this.rpc.call(PlannerRpc.getRun, { project, runId });
    const product = run.products.find((p) => p.path === path);
    if (!product) throw new GatewayError('not_found', `run ${runId} has no product "${path}"`);
    if (product.error !== undefined) throw new GatewayError('not_found', `the product "${path}" of run ${runId} was not built: ${product.error}`);
    const store = await new Objm(this.nc).open(this.bucket).catch(() => undefined);
    const data = await store?.getBlob(`${runId}/${path}`);
    if (!data) throw new GatewayError('not_found', `the product "${path}" of run ${runId} is not in the store`);
    return { product, data };
  }
}
