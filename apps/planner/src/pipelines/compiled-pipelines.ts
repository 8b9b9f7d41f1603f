import { Inject, Injectable } from '@nestjs/common';
import { DEFAULT_POOL, type PipelineSpec, type PlanView, type SpecSource } from '@trellis/contracts';
import { compilePipeline, planView, templateVariables, type CompiledPipeline, type CompileOptions, type ModelInfo } from '@trellis/engine';
import { loadProvidersFile, type ProvidersFile } from '@trellis/llm';
import { Database, type EntityManager } from '@trellis/persistence';
import { PLANNER_CONFIG, type PlannerConfig } from '../config';
import { PlannerError } from '../planner.errors';
import { Spec } from './pipeline.entity';
import { loadPersonalities } from './personalities';

/** A compiled pipeline and, per step, the upstream steps its templates read. */
export interface PlannedPipeline {
  compiled: CompiledPipeline;
  /** stepId → ids of steps whose outputs its prompt or system text reads (plus its direct dependencies). */
  reads: Record<string, string[]>;
}

/**
 * Compiles specs, and keeps compiled pipelines by content hash: a run's every step result
 * needs its graph, and the graph of a given spec never changes.
 */
@Injectable()
export class CompiledPipelines {
  private readonly byHashCache = new Map<string, PlannedPipeline>();
  private static readonly MAX_CACHED = 1000;

  private readonly options: CompileOptions;

  constructor(
    @Inject(PLANNER_CONFIG) config: PlannerConfig,
    private readonly db: Database,
  ) {
    const catalog = config.TRELLIS_PROVIDERS ? catalogOf(loadProvidersFile(config.TRELLIS_PROVIDERS)) : undefined;
    this.options = {
      defaultModel: config.TRELLIS_DEFAULT_MODEL,
      defaultPool: DEFAULT_POOL,
      personalities: loadPersonalities(config.TRELLIS_PERSONALITIES_DIR),
      ...(catalog ? { catalog } : {}),
    };
  }

  /** The plan a user reviews: batches, critical path, models and why, and a cost range from the catalog. */
  plan(compiled: CompiledPipeline): PlanView {
    return planView(compiled, this.options.catalog);
  }

  /** Compiles a spec a user sent; every problem is reported at once as invalid_argument. */
  compile(source: SpecSource): PlannedPipeline {
    const result = compilePipeline(source, this.options);
    if (!result.ok) {
      throw new PlannerError('invalid_argument', `the pipeline spec has ${result.issues.length} problem(s)`, result.issues);
    }
    return this.remember(result.pipeline);
  }

  /** The compiled pipeline of a stored spec if this process has it at hand. */
  cached(hash: string): PlannedPipeline | undefined {
    return this.byHashCache.get(hash);
  }

  /** The compiled pipeline of a stored spec: from the cache, or read (with its own EntityManager). */
  cachedOrLoad(hash: string): PlannedPipeline | Promise<PlannedPipeline> {
    return this.byHashCache.get(hash) ?? this.byHash(this.db.fork(), hash);
  }

  /** The compiled pipeline of a stored spec (a run's), from the cache or the database. */
  async byHash(em: EntityManager, hash: string): Promise<PlannedPipeline> {
    const cached = this.byHashCache.get(hash);
    if (cached) return cached;
    const stored = await em.findOneOrFail(Spec, { hash });
    return this.compileStored(stored.spec);
  }

  private compileStored(spec: PipelineSpec): PlannedPipeline {
    const result = compilePipeline({ json: spec }, this.options);
    if (!result.ok) throw new PlannerError('internal', `a stored spec no longer compiles: ${result.issues[0]?.message}`);
    return this.remember(result.pipeline);
  }

  private remember(compiled: CompiledPipeline): PlannedPipeline {
    const existing = this.byHashCache.get(compiled.hash);
    if (existing) return existing;
    const reads: Record<string, string[]> = {};
    for (const step of Object.values(compiled.steps)) {
      // Everything upstream a step's templates may read: dependencies, route sources, and any step named in a template.
      const read = new Set([...step.dependsOn, ...step.routedFrom.map((r) => r.from)]);
      for (const text of [step.prompt, step.system ?? '', ...stringsIn(step.tool?.with ?? {})]) {
        for (const path of templateVariables(text)) {
          if (path[0] === 'steps' && typeof path[1] === 'string') read.add(path[1]);
        }
      }
      reads[step.id] = [...read];
    }
    const planned = { compiled, reads };
    if (this.byHashCache.size >= CompiledPipelines.MAX_CACHED) {
      this.byHashCache.delete(this.byHashCache.keys().next().value as string);
    }
    this.byHashCache.set(compiled.hash, planned);
    return planned;
  }
}

function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (value && typeof value === 'object') return Object.values(value).flatMap(stringsIn);
  return [];
}

/** The catalog as the compiler sees it: tiers, prices, capabilities. */
function catalogOf(file: ProvidersFile): Record<string, ModelInfo> {
  return Object.fromEntries(
    Object.entries(file.models).map(([name, m]) => [
      name,
      { tier: m.tier, inputPrice: m.price.input, outputPrice: m.price.output, contextWindow: m.context_window, capabilities: m.capabilities },
    ]),
  );
}
