import { testEnv } from './env';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, isListening } from '@trellis/devstack';
import { waitFor } from './wait-for';

/** Where the machine's nats-server binary is; `NATS_SERVER_BIN` overrides it. */
export const NATS_SERVER_BIN = testEnv.natsServerBin;

/** Options of one private nats-server. */
export interface NatsServerOptions {
  /** Client port; a free one when omitted. Kept across restarts. */
  port?: number;
  /** JetStream store directory; a fresh temporary one (removed by `stop`) when omitted. */
  storeDir?: string;
  /** Server name (needed for JetStream in a cluster). */
  name?: string;
  /** Cluster membership: this node's route port and the route URLs of its peers. */
  cluster?: { name: string; port: number; routes: string[] };
  /**
   * A configuration file (deploy/nats/cluster.conf) instead of command-line flags: it gets
   * the port, store, name and routes through the `NATS_*` variables it reads.
   */
  configFile?: string;
  /** Monitoring port with `configFile` (the file listens on one); a free one when omitted. Kept across restarts. */
  monitorPort?: number;
}

/**
 * A nats-server of the test's own, on loopback, with JetStream on file storage: a test may
 * kill, pause and restart it without disturbing the machine's shared server (which other
 * test files use). Everything it started, `stop()` ends, and removes the store it created.
 */
export class NatsServerProcess {
  private child: ChildProcess | undefined;
  private exit: Promise<void> = Promise.resolve();
  private readonly tail: string[] = [];
  private readonly ownsStore: boolean;
  readonly storeDir: string;
  /** The server name (`-n`), as JetStream reports a stream's leader and replicas. */
  readonly name: string | undefined;

  private constructor(
    readonly port: number,
    private readonly options: NatsServerOptions,
  ) {
    this.ownsStore = !options.storeDir;
    this.storeDir = options.storeDir ?? mkdtempSync(join(tmpdir(), 'trellis-nats-'));
    this.name = options.name;
  }

  /** Starts a server and waits until it accepts connections. */
  static async start(options: NatsServerOptions = {}): Promise<NatsServerProcess> {
    const [port, monitorPort] = await freePorts(2);
    const server = new NatsServerProcess(options.port ?? port!, { monitorPort: monitorPort!, ...options });
    try {
      await server.startProcess();
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The server's last lines of output, for a failing test's message. */
  recentOutput(): string {
    return this.tail.join('\n');
  }

  private async startProcess(): Promise<void> {
    const o = this.options;
    let args: string[];
    let env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
    if (o.configFile) {
      args = ['-c', o.configFile];
      const routes = o.cluster?.routes ?? [];
      env = {
        ...env,
        NATS_SERVER_NAME: o.name ?? `trellis-${this.port}`,
        NATS_HOST: '127.0.0.1',
        NATS_CLIENT_PORT: String(this.port),
        NATS_CLUSTER_PORT: String(o.cluster?.port ?? 0),
        NATS_MONITOR_PORT: String(o.monitorPort),
        NATS_STORE_DIR: this.storeDir,
        // The file lists three routes; a node's own (or a repeated one) is harmless.
        NATS_ROUTE_1: routes[0] ?? `nats://127.0.0.1:${o.cluster?.port ?? 0}`,
        NATS_ROUTE_2: routes[1] ?? routes[0] ?? `nats://127.0.0.1:${o.cluster?.port ?? 0}`,
        NATS_ROUTE_3: routes[2] ?? routes[1] ?? routes[0] ?? `nats://127.0.0.1:${o.cluster?.port ?? 0}`,
      };
    } else {
      args = ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.storeDir];
      if (o.name) args.push('-n', o.name);
      if (o.cluster) args.push('--cluster_name', o.cluster.name, '--cluster', `nats://127.0.0.1:${o.cluster.port}`, '--routes', o.cluster.routes.join(','));
    }
    const child = spawn(NATS_SERVER_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    this.child = child;
    this.exit = new Promise((resolve) => child.once('exit', () => resolve()));
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        this.tail.push(line);
        if (this.tail.length > 100) this.tail.shift();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    await waitFor(`nats-server on ${this.port} to listen`, async () => {
      if (!this.running) throw new Error(`nats-server exited:\n${this.recentOutput()}`);
      return isListening('127.0.0.1', this.port);
    }, { timeoutMs: 15_000 });
  }

  /** SIGKILL: the server dies at once; its store stays for a restart. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child!.kill('SIGKILL');
    await this.exit;
  }

  /** SIGTERM (the server's orderly shutdown), SIGKILL after `graceMs`. */
  async shutdown(graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.child!.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), graceMs);
    try {
      await this.exit;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Starts the server again on the same port and store (after `kill` or `shutdown`). */
  async restart(): Promise<void> {
    if (this.running) await this.shutdown();
    await this.startProcess();
  }

  /** Stops the server and removes the store it created. Safe to call twice. */
  async stop(): Promise<void> {
    await this.shutdown();
    if (this.ownsStore) rmSync(this.storeDir, { recursive: true, force: true });
  }
}

/** Starts a private nats-server (see {@link NatsServerProcess}). */
export function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServerProcess> {
  return NatsServerProcess.start(options);
}

/** A JetStream cluster of nats-server processes on loopback. */
export interface NatsCluster {
  nodes: NatsServerProcess[];
  /** Every node's client URL, comma-separated: the form `NATS_URL` takes. */
  urls: string;
  stop(): Promise<void>;
}

/**
 * Starts `size` nats-servers (default 3) routed to each other as one JetStream cluster, each
 * with a store of its own, on free loopback ports; with `configFile` (deploy/nats/cluster.conf,
 * three routes) each node runs that file. The JetStream meta leader is elected a moment
 * after the routes connect: wait for a stream creation to succeed before relying on it.
 */
export async function startNatsCluster(options: { size?: number; name?: string; configFile?: string } = {}): Promise<NatsCluster> {
  const size = options.size ?? 3;
  const name = options.name ?? 'trellis-test';
  // Every port of every node at once, so no two of them can collide.
  const ports = await freePorts(3 * size);
  const clientPorts = ports.slice(0, size);
  const routePorts = ports.slice(size, 2 * size);
  const monitorPorts = ports.slice(2 * size);
  const routes = routePorts.map((p) => `nats://127.0.0.1:${p}`);
  const nodes: NatsServerProcess[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  };
  // Start them together: JetStream waits for its peers. If one fails, stop every one that started.
  const results = await Promise.allSettled(
    clientPorts.map((port, i) =>
      NatsServerProcess.start({
        port,
        monitorPort: monitorPorts[i]!,
        name: `${name}-${i + 1}`,
        cluster: { name, port: routePorts[i]!, routes: options.configFile ? routes : routes.filter((_, j) => j !== i) },
        ...(options.configFile ? { configFile: options.configFile } : {}),
      }),
    ),
  );
  for (const r of results) if (r.status === 'fulfilled') nodes.push(r.value);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  return { nodes, urls: nodes.map((n) => n.url).join(','), stop };
}
