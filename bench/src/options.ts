/** What `npm run bench -- <flags>` can change. */
export interface BenchOptions {
  /** Runs submitted at once in the throughput cases. */
  runs: number;
  /** Runs submitted at once in the run-latency cases (model latency 50 ms). */
  latencyRuns: number;
  /**
   * Single W2 runs, one after another, for hand-off latency: 9 hand-offs each. 50 by default
   * (450 hand-offs), so that the p99 is not simply the slowest one (with 10 runs it was).
   */
  handoffRuns: number;
  /** W1 runs per executor count in the scaling cases. */
  scaleRuns: number;
  /** Executor counts of the scaling cases. */
  scaleExecutors: number[];
  /** Steps in flight per executor in the scaling cases. */
  scaleConcurrency: number;
  scaleLatencyMs: number;
  /** Runs submitted at once in the queue case, and the project's limit of running runs. */
  queueRuns: number;
  queueLimit: number;
  /** Model latencies of the throughput cases. */
  throughputLatenciesMs: number[];
  /**
   * Runs of each workload submitted at once before measuring (JIT, connection pools, heaps,
   * compiled-pipeline cache); default `runs`, so the pools and heaps are those of the burst
   * measured (with 20, the first case measured still paid for growing them: bench/README.md).
   */
  warmupRuns: number;
  /** How many times each workload's warm-up burst is run (`--warmup-rounds`, default 2). */
  warmupRounds: number;
  /**
   * How many times each throughput case is measured (`--repeat`, default 3), Trellis then the
   * baseline each time, the cases taking turns; a case reports the median (bench/README.md,
   * "Cases"). On a shared machine one burst's figures move by ±15% within minutes.
   */
  repeat: number;
  cases: Array<'throughput' | 'latency' | 'handoff' | 'scaling' | 'queue'>;
  /** Write a V8 CPU profile of every service (on exit) into this directory. */
  cpuProfDir: string | undefined;
  /** Extra variables for every service (`--set KEY=VALUE`), e.g. to compare a setting on and off. */
  serviceEnv: Record<string, string>;
  /** Results file; default bench/results/<timestamp>.json. */
  out: string | undefined;
  /** A case whose runs have not all finished by then fails. */
  caseTimeoutMs: number;
  /** Whether the project records its runs' calls (replays, ADR 0015): its cost is measured by running with and without. */
  recording: boolean;
  echo: boolean;
}

const DEFAULTS: BenchOptions = {
  runs: 200,
  latencyRuns: 20,
  handoffRuns: 50,
  scaleRuns: 60,
  scaleExecutors: [1, 2, 4],
  scaleConcurrency: 8,
  scaleLatencyMs: 200,
  queueRuns: 2000,
  queueLimit: 50,
  throughputLatenciesMs: [0, 50],
  warmupRuns: 0, // as many as `runs` unless --warmup says otherwise (parseOptions)
  warmupRounds: 2,
  repeat: 3,
  cases: ['throughput', 'latency', 'handoff', 'scaling', 'queue'],
  cpuProfDir: undefined,
  serviceEnv: {},
  out: undefined,
  caseTimeoutMs: 180_000,
  recording: true,
  echo: false,
};

/** Small enough for a smoke test: every case, a handful of runs. */
const QUICK: Partial<BenchOptions> = { runs: 10, latencyRuns: 4, handoffRuns: 2, scaleRuns: 4, scaleConcurrency: 4, queueRuns: 60, queueLimit: 5, warmupRuns: 2, warmupRounds: 1, repeat: 1, caseTimeoutMs: 30_000 };

const USAGE = `npm run bench -- [flags]
  --quick                 a few runs per case (smoke test)
  --runs N                runs submitted at once per throughput case (default 200)
  --latency-runs N        runs at 50 ms model latency for run latency (default 20)
  --handoff-runs N        single W2 runs for hand-off latency (default 50)
  --scale-runs N          W1 runs per executor count (default 60)
  --scale-executors 1,2,4 --scale-concurrency 8 --scale-latency-ms 200
  --queue-runs N          runs submitted at once in the queue case (default 2000)
  --queue-limit N         the queue case's limit of running runs (default 50)
  --latencies 0,50        model latencies of the throughput cases
  --warmup N              warm-up runs per workload, submitted at once (default: as --runs)
  --warmup-rounds N       how many such bursts of each workload (default 2)
  --repeat N              measurements of each throughput case, taking turns; the median is reported (default 3)
  --cases a,b             throughput,latency,handoff,scaling,queue (default all)
  --cpu-prof DIR          V8 CPU profile of every service into DIR
  --set KEY=VALUE         a variable for every service (repeatable), e.g. --set PLANNER_CONTINUATIONS=false
  --out FILE              results file (default bench/results/<timestamp>.json)
  --recording on|off      whether the bench's project records its runs' calls (default on)
  --echo                  show the services' logs`;

export function parseOptions(argv: readonly string[]): BenchOptions {
  const options: BenchOptions = { ...DEFAULTS, serviceEnv: {} };
  if (argv.includes('--quick')) Object.assign(options, QUICK);
  let warmupGiven = argv.includes('--quick');
  const int = (flag: string, v: string | undefined) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} needs a whole number, got ${v}\n${USAGE}`);
    return n;
  };
  const ints = (flag: string, v: string | undefined) => (v ?? '').split(',').map((x) => int(flag, x));
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = () => argv[++i];
    switch (flag) {
      case '--quick':
        break;
      case '--runs':
        options.runs = int(flag, value());
        break;
      case '--latency-runs':
        options.latencyRuns = int(flag, value());
        break;
      case '--handoff-runs':
        options.handoffRuns = int(flag, value());
        break;
      case '--scale-runs':
        options.scaleRuns = int(flag, value());
        break;
      case '--scale-executors':
        options.scaleExecutors = ints(flag, value());
        break;
      case '--scale-concurrency':
        options.scaleConcurrency = int(flag, value());
        break;
      case '--scale-latency-ms':
        options.scaleLatencyMs = int(flag, value());
        break;
      case '--queue-runs':
        options.queueRuns = int(flag, value());
        break;
      case '--queue-limit':
        options.queueLimit = int(flag, value());
        break;
      case '--latencies':
        options.throughputLatenciesMs = ints(flag, value());
        break;
      case '--warmup':
        options.warmupRuns = int(flag, value());
        warmupGiven = true;
        break;
      case '--warmup-rounds':
        options.warmupRounds = int(flag, value());
        break;
      case '--repeat':
        options.repeat = Math.max(1, int(flag, value()));
        break;
      case '--cases': {
        const cases = (value() ?? '').split(',');
        const known = ['throughput', 'latency', 'handoff', 'scaling', 'queue'];
        const bad = cases.filter((c) => !known.includes(c));
        if (bad.length) throw new Error(`unknown case(s) ${bad.join(', ')}\n${USAGE}`);
        options.cases = cases as BenchOptions['cases'];
        break;
      }
      case '--set': {
        const setting = value() ?? '';
        const at = setting.indexOf('=');
        if (at < 1) throw new Error('--set takes KEY=VALUE');
        options.serviceEnv[setting.slice(0, at)] = setting.slice(at + 1);
        break;
      }
      case '--cpu-prof':
        options.cpuProfDir = value();
        break;
      case '--out':
        options.out = value();
        break;
      case '--recording': {
        const v = value();
        if (v !== 'on' && v !== 'off') throw new Error(`--recording is on or off, got ${v}\n${USAGE}`);
        options.recording = v === 'on';
        break;
      }
      case '--echo':
        options.echo = true;
        break;
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown flag ${flag}\n${USAGE}`);
    }
  }
  if (!warmupGiven) options.warmupRuns = options.runs;
  return options;
}
