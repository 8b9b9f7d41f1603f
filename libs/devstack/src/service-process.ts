import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROCESS_ID_HEADER } from '@trellis/contracts';
import { freePort } from './probe';

export interface ServiceProcessOptions {
  /** A label for logs: `planner`, `executor-2`. */
  name: string;
  /** The compiled entry point (`dist/apps/<app>/src/main.js`). */
  script: string;
  env: NodeJS.ProcessEnv;
  /** The HTTP port serving the readiness probe. */
  port: number;
  /** Readiness path; `/readyz` for the services. */
  readyPath?: string;
  /** Echo the child's output, prefixed with its name (npm start); otherwise keep the last lines for diagnostics. */
  echo?: boolean;
}

/**
 * One service as its own OS process, as in production: started with Node (the same
 * runtime as the caller), ready when `/readyz` says so, stoppable with any signal so tests
 * can kill, pause and restart it.
 */
export class ServiceProcess {
  private child: ChildProcess | undefined;
  private readonly tail: string[] = [];
  /** What the current child wrote (the tail also keeps earlier children's last lines). */
  private sinceStart: string[] = [];
  private exit: Promise<number | null> = Promise.resolve(null);

  constructor(readonly options: ServiceProcessOptions) {}

  get name(): string {
    return this.options.name;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get url(): string {
    return `http://127.0.0.1:${this.options.port}`;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last lines the process wrote, for a failing test's message. */
  recentOutput(): string {
    return this.tail.join('\n');
  }

  start(): void {
    if (this.running) throw new Error(`${this.name} is already running`);
    this.sinceStart = [];
    const child = spawn(process.execPath, ['--enable-source-maps', this.options.script], {
      // Node's on-disk compile cache roughly halves module loading on every later start.
      env: { NODE_COMPILE_CACHE: join(tmpdir(), 'trellis-compile-cache'), ...this.options.env, PORT: String(this.options.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.exit = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        this.tail.push(line);
        if (this.tail.length > 200) this.tail.shift();
        if (this.sinceStart.length < 200) this.sinceStart.push(line);
        if (this.options.echo) process.stdout.write(`${this.name.padEnd(18)} | ${line}\n`);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
  }

  /**
   * Waits until the readiness path answers 200 from this process, or fails with its last
   * output. A free port is only free when it is probed: a service started at the same moment
   * elsewhere (another test's platform) can take it first, and then its readiness answers on
   * our port while our process fails to bind and exits. Such a clash moves this service to
   * another port and starts it again, up to twice.
   */
  async waitReady(timeoutMs = 30_000): Promise<void> {
    for (let moves = 0; ; moves++) {
      const outcome = await this.probeReady(timeoutMs);
      if (outcome === 'ready') return;
      if (moves === 2) throw new Error(`${this.name}: port ${this.options.port} is taken by another process, again:\n${this.recentOutput()}`);
      await this.kill();
      this.options.port = await freePort();
      this.start();
    }
  }

  private async probeReady(timeoutMs: number): Promise<'ready' | 'clash'> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) {
        if (this.sinceStart.some((line) => line.includes('EADDRINUSE'))) return 'clash';
        throw new Error(`${this.name} exited before it was ready:\n${this.recentOutput()}`);
      }
      try {
        const res = await fetch(`${this.url}${this.options.readyPath ?? '/readyz'}`, { signal: AbortSignal.timeout(1000) });
        // The services name their process in every readiness answer; another's answer is a clash.
        const pid = res.headers.get(PROCESS_ID_HEADER);
        if (pid !== null && pid !== String(this.child?.pid)) return 'clash';
        if (res.ok) return 'ready';
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${this.name} was not ready within ${timeoutMs} ms:\n${this.recentOutput()}`);
  }

  signal(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  async stop(graceMs = 15_000): Promise<number | null> {
    if (!this.running) return this.exit;
    this.child!.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), graceMs);
    try {
      return await this.exit;
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL: the process dies at once, mid-whatever. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child!.kill('SIGKILL');
    await this.exit;
  }

  exited(): Promise<number | null> {
    return this.exit;
  }
}
