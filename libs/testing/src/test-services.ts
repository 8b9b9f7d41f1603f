import { createConnection } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
// Relative, not '@trellis/devstack': jest loads its global setup without the moduleNameMapper,
// and the probe alone spares the setup devstack's ORM and process supervision.
import { isListening } from '../../devstack/src/probe';

/** The local services the harness uses when `DATABASE_URL` / `NATS_URL` are unset. */
export const LOCAL_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
export const LOCAL_NATS_URL = 'nats://127.0.0.1:4222';

/** Where one service comes from for a test run. */
export type ServiceSource =
  /** The URL in the environment (`DATABASE_URL` / `NATS_URL`), as given. */
  | 'env'
  /** The service on its default local port. */
  | 'local'
  /** A container this run starts through testcontainers (and stops at its end). */
  | 'container'
  /** Nothing: the run cannot have this service; the setup says what to do. */
  | 'none';

/** What {@link chooseTestServices} decides from. */
export interface ServiceProbe {
  databaseUrlSet: boolean;
  natsUrlSet: boolean;
  postgresAnswers: boolean;
  natsAnswers: boolean;
  dockerReachable: boolean;
}

/**
 * Where PostgreSQL and NATS come from: a URL in the environment wins, then a service answering
 * on its local port, then a container when a Docker engine is reachable.
 */
export function chooseTestServices(probe: ServiceProbe): { postgres: ServiceSource; nats: ServiceSource } {
  const choose = (urlSet: boolean, answers: boolean): ServiceSource =>
    urlSet ? 'env' : answers ? 'local' : probe.dockerReachable ? 'container' : 'none';
  return { postgres: choose(probe.databaseUrlSet, probe.postgresAnswers), nats: choose(probe.natsUrlSet, probe.natsAnswers) };
}

/**
 * Whether a Docker engine answers: `DOCKER_HOST` (tcp:// or unix://), else the usual sockets
 * (the system's, Docker Desktop's, rootless Docker's). Testcontainers finds the engine the same way.
 */
export async function isDockerReachable(env: NodeJS.ProcessEnv): Promise<boolean> {
  const host = env.DOCKER_HOST;
  if (host?.startsWith('tcp://')) {
    const url = new URL(host.replace(/^tcp:/, 'http:'));
    return isListening(url.hostname, Number(url.port || 2375));
  }
  const sockets = host?.startsWith('unix://')
    ? [host.slice('unix://'.length)]
    : ['/var/run/docker.sock', join(homedir(), '.docker/run/docker.sock'), ...(env.XDG_RUNTIME_DIR ? [join(env.XDG_RUNTIME_DIR, 'docker.sock')] : [])];
  for (const path of sockets) if (await socketAnswers(path)) return true;
  return false;
}

function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ path });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** The services a test run uses: the URLs to export to the test files, and how to stop what was started. */
export interface TestServices {
  sources: { postgres: ServiceSource; nats: ServiceSource };
  env: { DATABASE_URL?: string; NATS_URL?: string };
  stop(): Promise<void>;
}

/**
 * Decides where PostgreSQL and NATS come from and starts the containers the decision asks for.
 * The Docker engine is probed only when a service is missing locally, and testcontainers is
 * loaded only when a container is to start, so runs on local services pay for neither.
 */
export async function provideTestServices(env: NodeJS.ProcessEnv): Promise<TestServices> {
  const databaseUrlSet = Boolean(env.DATABASE_URL);
  const natsUrlSet = Boolean(env.NATS_URL);
  const postgresAnswers = !databaseUrlSet && (await isListening('127.0.0.1', 5432));
  const natsAnswers = !natsUrlSet && (await isListening('127.0.0.1', 4222));
  const missing = (!databaseUrlSet && !postgresAnswers) || (!natsUrlSet && !natsAnswers);
  const dockerReachable = missing && (await isDockerReachable(env));
  const sources = chooseTestServices({ databaseUrlSet, natsUrlSet, postgresAnswers, natsAnswers, dockerReachable });

  const lacking = (['postgres', 'nats'] as const).filter((s) => sources[s] === 'none');
  if (lacking.length) {
    throw new Error(
      `No ${lacking.join(' and ')} for the tests: set ${lacking.map((s) => (s === 'postgres' ? 'DATABASE_URL' : 'NATS_URL')).join(' / ')}, ` +
        'start PostgreSQL on 127.0.0.1:5432 and nats-server -js on 127.0.0.1:4222, or make a Docker engine reachable (testcontainers starts both).',
    );
  }
  if (sources.postgres !== 'container' && sources.nats !== 'container') return { sources, env: {}, stop: async () => undefined };
  return { sources, ...(await startContainers(sources)) };
}

async function startContainers(sources: TestServices['sources']): Promise<Pick<TestServices, 'env' | 'stop'>> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const stops: Array<() => Promise<unknown>> = [];
  const env: TestServices['env'] = {};
  try {
    if (sources.postgres === 'container') {
      const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
      // The PostgreSQL the machines run (15); each test file creates its own database in it.
      const pg = await new PostgreSqlContainer('postgres:15').withDatabase('postgres').withUsername('postgres').withPassword('postgres').start();
      stops.push(() => pg.stop());
      env.DATABASE_URL = pg.getConnectionUri();
    }
    if (sources.nats === 'container') {
      // The nats-server the machines run (2.9), with JetStream.
      const nats = await new GenericContainer('nats:2.9').withCommand(['-js']).withExposedPorts(4222).withWaitStrategy(Wait.forLogMessage(/Server is ready/)).start();
      stops.push(() => nats.stop());
      env.NATS_URL = `nats://${nats.getHost()}:${nats.getMappedPort(4222)}`;
    }
  } catch (err) {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    throw err;
  }
  return {
    env,
    stop: async () => {
      for (const stop of stops.reverse()) await stop().catch(() => undefined);
    },
  };
}
