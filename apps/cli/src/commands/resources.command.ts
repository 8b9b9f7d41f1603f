import type { PipelineView, RunSummary, RunView } from '@trellis/contracts';
import type { GatewayClient } from '../client/gateway-client';
import { table, type Io } from './output';

/** `trellis pipelines [name]`: the project's pipelines, or one with its batches. */
export async function pipelinesCommand(client: GatewayClient, name: string | undefined, json: boolean, io: Io): Promise<number> {
  if (name) {
    const p = await client.request<PipelineView>('GET', `/v1/pipelines/${encodeURIComponent(name)}`);
    if (json) return print(io, p);
    io.out.write(`${p.name} v${p.version}${p.description ? ` — ${p.description}` : ''}\n`);
    p.plan.batches.forEach((batch, i) => io.out.write(`  batch ${i + 1}: ${batch.join(', ')}\n`));
    return 0;
  }
  const { items } = await client.request<{ items: Array<Omit<PipelineView, 'spec' | 'plan'>> }>('GET', '/v1/pipelines');
  if (json) return print(io, items);
  if (!items.length) io.out.write('no pipelines yet: trellis run <file.yaml> registers one\n');
  else io.out.write(table([['NAME', 'VERSION', 'CREATED', 'DESCRIPTION'], ...items.map((p) => [p.name, String(p.version), p.createdAt, p.description ?? ''])]));
  return 0;
}

/** `trellis runs [id]`: the project's latest runs, or one run step by step. */
export async function runsCommand(client: GatewayClient, id: string | undefined, options: { json: boolean; status?: string; limit?: string }, io: Io): Promise<number> {
  if (id) {
    const run = await client.request<RunView>('GET', `/v1/runs/${encodeURIComponent(id)}`);
    if (options.json) return print(io, run);
    io.out.write(`run ${run.id} · ${run.pipeline} v${run.pipelineVersion} · ${run.status} · ${run.usage.inputTokens}+${run.usage.outputTokens} tokens\n`);
    if (run.error) io.out.write(`error: ${run.error.code}: ${run.error.message}\n`);
    io.out.write(
      table([
        ['STEP', 'STATUS', 'MODEL', 'ATTEMPT', 'TOKENS', 'SCORE'],
        ...run.steps.map((s) => [s.id, s.status, s.model, String(s.attempt), `${s.usage.inputTokens}+${s.usage.outputTokens}`, s.score === null ? '' : s.score.toFixed(2)]),
      ]),
    );
    for (const p of run.products) io.out.write(p.error === undefined ? `product ${p.path} (${p.contentType}, ${p.size} bytes)\n` : `product ${p.path} not built: ${p.error}\n`);
    return 0;
  }
  const query = new URLSearchParams({ limit: options.limit ?? '20', ...(options.status ? { status: options.status } : {}) });
  const { items } = await client.request<{ items: RunSummary[] }>('GET', `/v1/runs?${query}`);
  if (options.json) return print(io, items);
  if (!items.length) io.out.write('no runs\n');
  else io.out.write(table([['ID', 'PIPELINE', 'STATUS', 'CREATED', 'TOKENS'], ...items.map((r) => [r.id, `${r.pipeline} v${r.pipelineVersion}`, r.status, r.createdAt, `${r.usage.inputTokens}+${r.usage.outputTokens}`])]));
  return 0;
}

/** `trellis cancel|resume <run>`. */
export async function runActionCommand(client: GatewayClient, action: 'cancel' | 'resume', id: string, io: Io): Promise<number> {
  const run = await client.request<RunView>('POST', `/v1/runs/${encodeURIComponent(id)}/${action}`);
  io.out.write(`run ${run.id}: ${run.status}\n`);
  return 0;
}

function print(io: Io, value: unknown): number {
  io.out.write(`${JSON.stringify(value, null, 2)}\n`);
  return 0;
}
