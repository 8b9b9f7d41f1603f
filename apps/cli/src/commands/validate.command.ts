import { readFileSync } from 'node:fs';
import type { PlanView } from '@trellis/contracts';
import { GatewayRequestError, type GatewayClient } from '../client/gateway-client';
import { issueLines, type Io } from './output';

/** `trellis validate <file>`: compiles without storing; the batches, or every error with line:column (exit 1). */
export async function validateCommand(client: GatewayClient, file: string, io: Io): Promise<number> {
  const text = readFileSync(file, 'utf8');
  const body = file.endsWith('.json') ? { json: JSON.parse(text) as unknown } : { yaml: text };
  try {
    const plan = await client.request<PlanView>('POST', '/v1/pipelines/validate', body);
    io.out.write(`${file}: valid, ${plan.order.length} step(s) in ${plan.batches.length} batch(es)\n`);
    plan.batches.forEach((batch, i) => io.out.write(`  batch ${i + 1}: ${batch.join(', ')}\n`));
    return 0;
  } catch (err) {
    if (!(err instanceof GatewayRequestError) || err.status !== 400 || !err.problem) throw err;
    io.out.write(`${file}: ${err.problem.errors?.length ?? 0} problem(s)\n${issueLines(err.problem, file).join('\n')}\n`);
    return 1;
  }
}
