#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { GatewayClient } from './client/gateway-client';
import { describeError, type Io } from './commands/output';
import { productsCommand } from './commands/products.command';
import { pipelinesCommand, runActionCommand, runsCommand } from './commands/resources.command';
import { pipelineJsonSchema, type RunView } from '@trellis/contracts';
import { followRun, runCommand, UsageError } from './commands/run.command';
import { templatesPush } from './commands/templates-push.command';
import { validateCommand } from './commands/validate.command';
import { loadCliConfig } from './config';

const USAGE = `trellis — run LLM pipelines as durable, distributed graphs

Usage:
  trellis up [--example <file>] [--executors <n>]   bring the whole platform up on this machine
                                                    (and run an example pipeline end to end)
  trellis run <file|name> [--input k=v]... [--plain]
                                  register the file (or use the registered pipeline), run it and
                                  show its steps live; exit code 0 succeeded, 1 failed, 130 cancelled
  trellis watch <run> [--plain]   show a run live (from its first event) until it ends; exit code as run
  trellis validate <file>         compile only: the parallel batches, or every error with line:column
  trellis pipelines [name] [--json]             list the project's pipelines, or show one
  trellis runs [id] [--status s] [--limit n] [--json]   list runs, or show one step by step
  trellis cancel <run>            cancel a running run
  trellis resume <run>            re-run what failed, was cancelled or skipped
  trellis products <run> [--out <dir>]          list a run's product files, or download them
  trellis templates push <dir>    sync a folder of template files (YAML front matter + body) to
                                  the registry: a new version only where something changed
  trellis schema                  print the JSON Schema of pipeline files (for editors)

Environment: TRELLIS_URL (default http://127.0.0.1:3000), TRELLIS_API_KEY, TRELLIS_ADMIN_TOKEN. \`up\` passes
its whole environment to every service (docs/configuration.md): DATABASE_URL, NATS_URL, PORT,
OPENAI_BASE_URL, OPENAI_API_KEY, TRELLIS_PROVIDERS, TRELLIS_ADMIN_TOKEN, tuning variables…
Output is plain lines when stdout is not a terminal or CI is set.
`;

const io: Io = { out: process.stdout, err: process.stderr };

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (command === 'up') {
    const { values } = parseArgs({
      args: rest,
      options: { example: { type: 'string' }, executors: { type: 'string', default: '1' }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    const executors = Number(values.executors);
    if (!Number.isInteger(executors) || executors < 1) throw new UsageError('--executors takes a whole number ≥ 1');
    // Loaded only for `up`: it brings the whole devstack (and telemetry), which the API commands do not need.
    const { up } = await import('./commands/up.command.js');
    return up({ ...(values.example ? { example: values.example } : {}), executors, env: process.env });
  }

  if (command === 'schema') {
    process.stdout.write(`${JSON.stringify(pipelineJsonSchema(), null, 2)}\n`);
    return 0;
  }

  const config = loadCliConfig();
  const client = new GatewayClient(config.TRELLIS_URL.replace(/\/$/, ''), config.TRELLIS_API_KEY);
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      input: { type: 'string', short: 'i', multiple: true, default: [] },
      plain: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      out: { type: 'string', short: 'o' },
      status: { type: 'string' },
      limit: { type: 'string' },
    },
  });
  const one = (what: string) => {
    if (positionals.length !== 1) throw new UsageError(`${command} takes one ${what}`);
    return positionals[0]!;
  };
  switch (command) {
    case 'run': {
      const live = !values.plain && process.stdout.isTTY === true && !config.CI;
      return runCommand(client, { target: one('pipeline file or name'), inputs: values.input, live, color: live && !config.NO_COLOR }, io);
    }
    case 'watch': {
      const live = !values.plain && process.stdout.isTTY === true && !config.CI;
      const run = await client.request<RunView>('GET', `/v1/runs/${encodeURIComponent(one('run id'))}`);
      return followRun(client, run, { live, color: live && !config.NO_COLOR, onInterrupt: 'detach' }, io);
    }
    case 'validate':
      return validateCommand(client, one('file'), io);
    case 'pipelines':
      return pipelinesCommand(client, positionals[0], values.json, io);
    case 'runs':
      return runsCommand(client, positionals[0], { json: values.json, ...(values.status ? { status: values.status } : {}), ...(values.limit ? { limit: values.limit } : {}) }, io);
    case 'cancel':
    case 'resume':
      return runActionCommand(client, command, one('run id'), io);
    case 'products':
      return productsCommand(client, one('run id'), values.out, io);
    case 'templates': {
      if (positionals[0] !== 'push' || positionals.length !== 2) throw new UsageError('usage: trellis templates push <dir>');
      if (!config.TRELLIS_API_KEY) throw new UsageError('set TRELLIS_API_KEY');
      return templatesPush({
        dir: positionals[1]!,
        gatewayUrl: config.TRELLIS_URL.replace(/\/$/, ''),
        apiKey: config.TRELLIS_API_KEY,
        ...(config.TRELLIS_ADMIN_TOKEN ? { adminToken: config.TRELLIS_ADMIN_TOKEN } : {}),
      });
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError || (err as { code?: string })?.code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`trellis: ${(err as Error).message}\n\n${USAGE}`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`trellis: ${describeError(err)}\n`);
    process.exitCode = 1;
  },
);
