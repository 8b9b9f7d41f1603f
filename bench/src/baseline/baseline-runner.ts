import OpenAI from 'openai';
import { renderPrompt, type Workload } from '../workloads';

/**
 * The workloads as a developer would write them without an orchestrator: in one process,
 * `Promise.all` over the runs and over a run's parallel steps, through the same `openai` SDK
 * and simulator, with nothing persisted. Every Trellis figure is read against this.
 */
export class BaselineRunner {
  private readonly client: OpenAI;

  constructor(
    baseURL: string,
    apiKey: string,
    private readonly model: string,
  ) {
    // One attempt per call, as Trellis's executor makes: retries would hide failures here.
    this.client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });
  }

  /** Runs every tag at once; resolves with each run's latency in ms, in the order of `tags`. */
  runAll(workload: Workload, tags: readonly string[]): Promise<number[]> {
    return Promise.all(tags.map((tag) => this.run(workload, tag)));
  }

  /**
   * Every tag submitted at once, at most `limit` running: the rest wait in submission order
   * (what a developer writes with a semaphore). Each run's start and end, ms since submission.
   */
  async runAllLimited(workload: Workload, tags: readonly string[], limit: number): Promise<Array<{ startedMs: number; finishedMs: number }>> {
    const submittedAt = performance.now();
    const spans: Array<{ startedMs: number; finishedMs: number }> = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(limit, tags.length) }, async () => {
        for (let i = next++; i < tags.length; i = next++) {
          const startedMs = performance.now() - submittedAt;
          await this.run(workload, tags[i]!);
          spans[i] = { startedMs, finishedMs: performance.now() - submittedAt };
        }
      }),
    );
    return spans;
  }

  /** One run: each step starts as soon as its dependencies have answered. */
  async run(workload: Workload, tag: string): Promise<number> {
    const startedAt = performance.now();
    const outputs: Record<string, string> = {};
    const done = new Map<string, Promise<void>>();
    for (const stepId of workload.steps) {
      const deps = workload.dependsOn[stepId]!.map((d) => done.get(d)!);
      done.set(
        stepId,
        Promise.all(deps).then(async () => {
          outputs[stepId] = await this.call(renderPrompt(workload.prompts[stepId]!, tag, outputs));
        }),
      );
    }
    await Promise.all(done.values());
    return performance.now() - startedAt;
  }

  private async call(prompt: string): Promise<string> {
    const completion = await this.client.chat.completions.create({ model: this.model, messages: [{ role: 'user', content: prompt }] });
    const content = completion.choices[0]?.message.content;
    if (typeof content !== 'string') throw new Error('the model answered without content');
    return content;
  }
}
