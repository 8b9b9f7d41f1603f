import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Kvm } from '@nats-io/kv';
import { subjects, type ResolvedTemplate, type StrategyPin } from '@trellis/contracts';
import type { NatsConnection } from '@trellis/messaging';
import { NATS } from '@trellis/runtime';
import { logger } from '@trellis/telemetry';
import { PLANNER_CONFIG, type PlannerConfig } from '../config';

/** What the registry answers for a run's references. */
export interface RegistryAnswer {
  templates: ResolvedTemplate[];
  missing: string[];
  strategies: StrategyPin[];
}

/** An answer any run with the same question may take: it assigned no experiment variant and no strategy. */
function assignsNothing(answer: RegistryAnswer): boolean {
  return !answer.strategies.length && answer.templates.every((t) => t.experiment === null);
}

/** The registry's generation key (apps/template-registry: RegistryGeneration). */
const GENERATION_KEY = 'generation';
/** Answers kept at most this long, should a bump of the generation ever be lost. */
const MAX_AGE_MS = 60_000;
/** Answers kept at most: past it, the cache starts again empty. */
const MAX_ANSWERS = 10_000;
/** Pause before watching again after the watch ended (a reconnect, a deleted bucket). */
const REWATCH_MS = 1_000;

/**
 * The registry's answers for runs in no experiment, kept by the planner (ADR 0012): the same
 * references of the same project, feature and pipeline resolve the same until something changes
 * in the registry, which bumps its generation in a NATS KV bucket; this watches it and forgets
 * every answer when it moves. A run start then costs no registry request in the common case. An
 * answer that assigned an experiment variant is never kept (the assignment is per subject, and
 * the registry records it); nothing is kept while the watch is not running.
 */
@Injectable()
export class RegistryAnswers implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = logger('runs.registry-answers');
  private readonly answers = new Map<string, { at: number; answer: RegistryAnswer }>();
  /** Questions being asked now, by key. */
  private readonly asking = new Map<string, Promise<RegistryAnswer>>();
  private watching = false;
  private stopped = false;
  private stopWatch: (() => void) | undefined;

  constructor(
    @Inject(PLANNER_CONFIG) private readonly config: PlannerConfig,
    @Inject(NATS) private readonly nc: NatsConnection,
  ) {}

  onApplicationBootstrap(): void {
    void this.watch();
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    this.stopWatch?.();
  }

  /** The answer kept for `key`, if any. */
  get(key: string): RegistryAnswer | undefined {
    const hit = this.answers.get(key);
    if (!hit || !this.watching) return undefined;
    if (Date.now() - hit.at > MAX_AGE_MS) {
      this.answers.delete(key);
      return undefined;
    }
    return hit.answer;
  }

  /**
   * The answer for `key`: kept, or the one already being asked for (a burst of starts asks once),
   * or asked now with `ask` and kept when it assigned nothing.
   */
  async answer(key: string, ask: () => Promise<RegistryAnswer>): Promise<RegistryAnswer> {
    const kept = this.get(key);
    if (kept) return kept;
    const asking = this.asking.get(key);
    if (asking) {
      const shared = await asking.catch(() => undefined);
      if (shared && assignsNothing(shared)) return shared;
    }
    const mine = ask();
    if (!this.asking.has(key)) {
      this.asking.set(key, mine);
      void mine.then(
        () => this.asking.delete(key),
        () => this.asking.delete(key),
      );
    }
    const answer = await mine;
    this.keep(key, answer);
    return answer;
  }

  /** Keeps an answer that assigned nothing: no experiment variant, no strategy. */
  keep(key: string, answer: RegistryAnswer): void {
    if (!this.watching || !assignsNothing(answer)) return;
    if (this.answers.size >= MAX_ANSWERS) this.answers.clear();
    this.answers.set(key, { at: Date.now(), answer });
  }

  private async watch(): Promise<void> {
    while (!this.stopped) {
      try {
        const kv = await new Kvm(this.nc).create(subjects(this.config.TRELLIS_NAMESPACE).buckets.registry, { history: 1, replicas: this.config.NATS_STREAM_REPLICAS });
        const updates = await kv.watch({ key: GENERATION_KEY });
        this.stopWatch = () => updates.stop();
        // The watch delivers the current generation first: from then on, any change is seen.
        this.watching = true;
        for await (const _ of updates) this.answers.clear();
      } catch (err) {
        if (!this.stopped) this.log.warn({ err }, 'not watching the registry generation; run starts ask the registry each time');
      } finally {
        this.watching = false;
        this.answers.clear();
      }
      if (!this.stopped) await new Promise((r) => setTimeout(r, REWATCH_MS).unref());
    }
  }
}
