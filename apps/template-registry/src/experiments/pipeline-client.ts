import { Injectable } from '@nestjs/common';
import { PlannerRpc, type Issue, type StrategyVariant } from '@trellis/contracts';
import { RpcCallError, RpcClient } from '@trellis/messaging';
import { RegistryError } from '../registry.errors';

/**
 * The planner, as strategy experiments need it: pipelines are the planner's, so the registry
 * asks it whether the versions an experiment names exist, and has it register a promoted
 * variant as the pipeline's newest version.
 */
@Injectable()
export class PipelineClient {
  constructor(private readonly rpc: RpcClient) {}

  /** Throws not_found / invalid_argument unless the pipeline (and each version given) exists in the project. */
  async requireVersions(project: string, pipeline: string, versions: Array<{ version: number; path: Issue['path'] }>): Promise<void> {
    await this.call(() => this.rpc.call(PlannerRpc.getPipeline, { project, name: pipeline }), [{ path: ['pipeline'], message: 'no such pipeline' }]);
    const missing: Issue[] = [];
    for (const { version, path } of versions) {
      try {
        await this.rpc.call(PlannerRpc.getPipeline, { project, name: pipeline, version });
      } catch (err) {
        if (!(err instanceof RpcCallError) || err.code !== 'not_found') throw this.mapped(err);
        missing.push({ path, message: `"${pipeline}" has no version ${version}` });
      }
    }
    if (missing.length) throw new RegistryError('invalid_argument', `${missing.length} variant(s) name a version that does not exist`, missing);
  }

  /** Registers the variant as the pipeline's newest version (nothing new when the latest already is it); answers that version. */
  async promote(project: string, pipeline: string, variant: StrategyVariant): Promise<number> {
    const view = await this.call(() => this.rpc.call(PlannerRpc.promotePipeline, { project, name: pipeline, variant }));
    return view.version;
  }

  private async call<T>(fn: () => Promise<T>, notFound?: Issue[]): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof RpcCallError && err.code === 'not_found') throw new RegistryError('not_found', err.message, notFound);
      throw this.mapped(err);
    }
  }

  private mapped(err: unknown): unknown {
    if (!(err instanceof RpcCallError)) return err;
    return new RegistryError(err.code === 'unavailable' ? 'unavailable' : err.code, `the planner: ${err.message}`, err.issues);
  }
}
