// `npm run bench`: the whole platform against the in-process baseline, every figure measured
// in the same run on the same machine. See bench/README.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { configureLogger } from '@trellis/telemetry';
import { BenchSession, ROOT_DIR, type CaseSpec } from './bench-session';
import { medianCase, type CaseResult } from './case-result';
import { parseOptions, type BenchOptions } from './options';
import { markdown, ratios } from './report';
import { QUEUE_WORKLOAD, WORKLOADS } from './workloads';

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  configureLogger({ service: 'bench', level: 'warn' });
  const startedAt = new Date();
  const cases: CaseResult[] = [];
  const say = (line: string) => process.stderr.write(`bench: ${line}\n`);

  say('starting PostgreSQL/NATS (found or started), the simulator and every service');
  const session = await BenchSession.start(options);
  try {
    say(`warming up (${options.warmupRounds} × ${options.warmupRuns} runs of each workload on each system)`);
    await session.warmUp(options.warmupRuns, options.warmupRounds);
    // Throughput cases take turns, each measured `repeat` times (Trellis, then the baseline):
    // the host's load moves a single measurement by ±15% within minutes, the median far less.
    const specs = plan(options);
    const measured = new Map<string, { trellis: CaseResult[]; baseline: CaseResult[] }>(specs.map((s) => [s.name, { trellis: [], baseline: [] }]));
    const both = async (spec: CaseSpec, round: string) => {
      const into = measured.get(spec.name)!;
      say(`${spec.name}: trellis${round}`);
      into.trellis.push(await session.runTrellis(spec));
      say(`${spec.name}: baseline${round}`);
      into.baseline.push(await session.runBaseline(spec));
    };
    const repeated = specs.filter((s) => s.kind === 'throughput');
    for (let i = 1; i <= options.repeat; i++) for (const spec of repeated) await both(spec, options.repeat > 1 ? ` (${i} of ${options.repeat})` : '');
    for (const spec of specs.filter((s) => s.kind !== 'throughput')) await both(spec, '');
    for (const spec of specs) cases.push(medianCase(measured.get(spec.name)!.trellis), medianCase(measured.get(spec.name)!.baseline));
    if (options.cases.includes('queue')) {
      const spec: CaseSpec = { name: `W3 ×${options.queueRuns} limit ${options.queueLimit} @20ms (queue)`, kind: 'queue', workload: QUEUE_WORKLOAD, runs: options.queueRuns, modelLatencyMs: 20, limit: options.queueLimit };
      say(`${spec.name}: trellis`);
      cases.push(await session.runTrellisQueue(spec));
      say(`${spec.name}: baseline`);
      cases.push(await session.runBaseline(spec));
    }
    if (options.cases.includes('scaling')) {
      for (const executors of options.scaleExecutors) {
        await session.setExecutors(executors, options.scaleConcurrency);
        const name = `W1 ×${options.scaleRuns} @${options.scaleLatencyMs}ms, ${executors} executor(s)`;
        say(`${name}: trellis`);
        cases.push(
          await session.runTrellis(
            { name, kind: 'scaling', workload: WORKLOADS.W1, runs: options.scaleRuns, modelLatencyMs: options.scaleLatencyMs },
            { executors, executorConcurrency: options.scaleConcurrency },
          ),
        );
      }
    }
  } finally {
    say('stopping');
    await session.stop();
  }

  const problems = cases.flatMap((c) => c.problems.map((p) => `${c.name} (${c.system}): ${p}`));
  const results = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version, platform: process.platform },
    options,
    ok: problems.length === 0,
    problems,
    cases,
    ratios: ratios(cases),
  };
  const out = options.out ?? join(ROOT_DIR, 'bench/results', `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${markdown(cases)}\n\nresults: ${relative(process.cwd(), out)}\n`);
  if (problems.length) {
    process.stderr.write(`bench: ${problems.length} problem(s) — steps lost, duplicated or failed:\n${problems.slice(0, 20).map((p) => `  ${p}`).join('\n')}\n`);
    return 1;
  }
  return 0;
}

/** The cases other than scaling, in the order they run. */
function plan(o: BenchOptions): CaseSpec[] {
  const specs: CaseSpec[] = [];
  if (o.cases.includes('throughput')) {
    for (const latency of o.throughputLatenciesMs) {
      for (const w of [WORKLOADS.W1, WORKLOADS.W2]) specs.push({ name: `${w.id} ×${o.runs} @${latency}ms`, kind: 'throughput', workload: w, runs: o.runs, modelLatencyMs: latency });
    }
  }
  if (o.cases.includes('latency')) {
    for (const w of [WORKLOADS.W1, WORKLOADS.W2]) specs.push({ name: `${w.id} ×${o.latencyRuns} @50ms (latency)`, kind: 'latency', workload: w, runs: o.latencyRuns, modelLatencyMs: 50 });
  }
  if (o.cases.includes('handoff')) {
    specs.push({ name: `W2 single ×${o.handoffRuns} @0ms (hand-off)`, kind: 'handoff', workload: WORKLOADS.W2, runs: o.handoffRuns, modelLatencyMs: 0, sequential: true });
  }
  return specs;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: failed: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(2);
  },
);
