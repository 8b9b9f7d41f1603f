import { Injectable } from '@nestjs/common';
import { RegistryRpc, type ResolvedTemplate } from '@trellis/contracts';
import { RpcCallError, RpcClient } from '@trellis/messaging';
import { pinLookups, type CompiledPipeline, type TemplateLookup } from '@trellis/engine';
import { PlannerError } from '../planner.errors';

/** A reference to ask the registry for, as it will be asked, and the steps that render it. */
interface Ask {
  name: string;
  selector?: string;
  steps: string[];
}

/**
 * Pins the registry templates a run needs, in one request at run start: the registry
 * answers each reference with the version its label (or a running experiment, by the run's
 * subject) points at now, and records the assignment against the run. The bodies are stored
 * on the run, so later label moves never change a running run.
 */
@Injectable()
export class TemplatePins {
  constructor(private readonly rpc: RpcClient) {}

  async resolve(compiled: CompiledPipeline, request: { project: string; runId: string; subject?: string; feature?: string }): Promise<ResolvedTemplate[]> {
    const byRef = new Map<string, Ask>();
    for (const step of Object.values(compiled.steps)) {
      if (!step.template) continue;
      const ref = step.template.selector ? `${step.template.name}@${step.template.selector}` : step.template.name;
      const entry = byRef.get(ref) ?? { name: step.template.name, ...(step.template.selector ? { selector: step.template.selector } : {}), steps: [] };
      entry.steps.push(step.id);
      byRef.set(ref, entry);
    }
    return this.ask(compiled, [...byRef.values()], { ...request, subject: request.subject ?? request.runId });
  }

  /**
   * A replay's pins that are not the source's (`replayTemplates`): asked without a run, so the
   * registry records no experiment assignment, and kept under the spec's references.
   */
  async lookUp(compiled: CompiledPipeline, lookups: readonly TemplateLookup[], request: { project: string; subject?: string }): Promise<ResolvedTemplate[]> {
    const asks = lookups.map(({ name, selector, steps }) => ({ name, ...(selector !== undefined ? { selector } : {}), steps }));
    return pinLookups(lookups, await this.ask(compiled, asks, request));
  }

  private async ask(compiled: CompiledPipeline, asks: Ask[], request: { project: string; runId?: string; subject?: string; feature?: string }): Promise<ResolvedTemplate[]> {
    if (asks.length === 0) return [];
    const byRef = new Map(asks.map((a) => [a.selector ? `${a.name}@${a.selector}` : a.name, a]));
    let answer;
    try {
      answer = await this.rpc.call(RegistryRpc.resolveTemplates, {
        project: request.project,
        ...(request.runId ? { runId: request.runId } : {}),
        ...(request.subject ? { subject: request.subject } : {}),
        ...(request.feature ? { feature: request.feature } : {}),
        refs: asks,
      });
    } catch (err) {
      if (err instanceof RpcCallError) throw new PlannerError(err.code === 'invalid_argument' ? 'invalid_argument' : 'unavailable', `the template registry could not resolve the run's templates: ${err.message}`);
      throw err;
    }
    if (answer.missing.length) {
      const issues = answer.missing.map((ref) => {
        const stepId = byRef.get(ref)?.steps[0] ?? '';
        return { path: ['steps', stepId, 'template'], message: `no template "${ref}" in the registry` };
      });
      throw new PlannerError('invalid_argument', `${answer.missing.length} template(s) not found: ${answer.missing.join(', ')}`, issues);
    }
    for (const template of answer.templates) {
      const entry = byRef.get(template.ref);
      for (const stepId of entry?.steps ?? []) {
        const given = Object.keys(compiled.steps[stepId]?.template?.with ?? {});
        const missing = template.variables.filter((v) => !given.includes(v));
        if (missing.length) {
          throw new PlannerError('invalid_argument', `template "${template.ref}" (version ${template.version}) reads ${missing.map((m) => `inputs.${m}`).join(', ')}, which "with" does not give`, [
            { path: ['steps', stepId, 'with'], message: `missing ${missing.join(', ')}` },
          ]);
        }
      }
    }
    return answer.templates;
  }
}
