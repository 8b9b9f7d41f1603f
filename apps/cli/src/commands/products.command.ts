import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import type { RunView } from '@trellis/contracts';
import { GatewayRequestError, type GatewayClient } from '../client/gateway-client';
import type { Io } from './output';

/** `trellis products <run> --out dir`: downloads every product of the run, never outside `dir`; exits 1 when one was not built. */
export async function productsCommand(client: GatewayClient, runId: string, outDir: string | undefined, io: Io): Promise<number> {
  const run = await client.request<RunView>('GET', `/v1/runs/${encodeURIComponent(runId)}`);
  if (!run.products.length) {
    io.out.write(`run ${run.id} has no products\n`);
    return 0;
  }
  const unbuilt = run.products.filter((p) => p.error !== undefined);
  for (const p of unbuilt) io.err.write(`product ${p.path} not built: ${p.error}\n`);
  if (!outDir) {
    for (const p of run.products) if (p.error === undefined) io.out.write(`${p.path}\t${p.contentType}\t${p.size} bytes\n`);
    return unbuilt.length ? 1 : 0;
  }
  const root = resolve(outDir);
  for (const p of run.products) {
    if (p.error !== undefined) continue;
    const target = resolve(root, p.path);
    const rel = relative(root, target);
    if (rel.startsWith('..') || rel.startsWith(sep)) throw new Error(`refusing to write ${p.path} outside ${root}`);
    const res = await client.raw('GET', `/v1/runs/${run.id}/products/${p.path.split('/').map(encodeURIComponent).join('/')}`);
    if (!res.ok) throw new GatewayRequestError(res.status, `could not download ${p.path}: ${res.status}`);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, Buffer.from(await res.arrayBuffer()));
    io.out.write(`${target}\n`);
  }
  return unbuilt.length ? 1 : 0;
}
