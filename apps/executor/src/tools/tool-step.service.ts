import { Injectable } from '@nestjs/common';
import type { StepReady, ToolDefinition } from '@trellis/contracts';
import { RenderError } from '@trellis/engine';
import { recordedAnswer } from '../steps/recorded-answer';
import { renderLeaves } from '../steps/render-leaves';
import { StepError } from '../steps/step.errors';
import type { GeneratedResult } from '../steps/step-events.publisher';
import { ToolError } from './tool.errors';
import { ToolRegistry } from './tool-registry';

/**
 * One try of a tool step: render the string leaves of `with` against the step's context,
 * validate them with the tool's schema (a bad argument fails the step naming the field), run
 * the tool, and return its result as the step's output (model `-`, no tokens). A replayed
 * job whose arguments the source run's tool got is answered from its recording instead.
 */
@Injectable()
export class ToolStepService {
  constructor(private readonly tools: ToolRegistry) {}

  async run(job: StepReady, tool: NonNullable<StepReady['tool']>, signal: AbortSignal): Promise<GeneratedResult> {
    const startedAt = new Date();
    const definition = this.tools.get(tool.name);
    if (!definition) throw StepError.final('tool.unknown', `unknown tool "${tool.name}" (this executor has ${this.tools.names.join(', ')})`);
    let rendered: unknown;
    try {
      rendered = renderLeaves(tool.with, job.context);
    } catch (err) {
      if (err instanceof RenderError) throw StepError.final('template_error', err.message);
      throw err;
    }
    const input = definition.input.safeParse(rendered);
    if (!input.success) {
      const issues = input.error.issues.map((i) => `with.${i.path.join('.')}: ${i.message}`).join('; ');
      throw StepError.final('tool.invalid_input', `tool "${tool.name}": ${issues}`);
    }
    const request = { kind: 'tool' as const, tool: tool.name, arguments: input.data };
    const recorded = recordedAnswer(job, request);
    const common = { model: '-', messages: [], usage: { inputTokens: 0, outputTokens: 0 }, finishReason: null, request };
    if (recorded) {
      return { ...common, output: recorded.output, ...(recorded.structured !== undefined ? { structured: recorded.structured } : {}), startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), replayed: true };
    }
    const deadline = job.timeoutMs === undefined ? undefined : AbortSignal.timeout(job.timeoutMs);
    const value = await this.invoke(definition, input.data, deadline ? AbortSignal.any([signal, deadline]) : signal, deadline);
    const isText = typeof value === 'string';
    return {
      ...common,
      output: isText ? value : (JSON.stringify(value) ?? 'null'),
      ...(isText || value === undefined ? {} : { structured: value }),
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
    };
  }

  private async invoke(definition: ToolDefinition, input: unknown, signal: AbortSignal, deadline: AbortSignal | undefined): Promise<unknown> {
    // A tool that ignores its signal still does not hold the step past a cancellation or timeout.
    const aborted = new Promise<never>((_, reject) => {
      if (signal.aborted) reject(signal.reason);
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
    aborted.catch(() => undefined);
    try {
      return await Promise.race([Promise.resolve().then(() => definition.run(input, { signal })), aborted]);
    } catch (err) {
      if (deadline?.aborted) throw StepError.retryable('tool.timeout', `tool "${definition.name}" took longer than the step's timeout`);
      if (err instanceof ToolError) throw StepError.of(err);
      // A custom tool's own error: its message, and another try may help (bounded by the retry policy).
      throw StepError.retryable('tool.failed', `tool "${definition.name}" failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
