import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
        if (this.options.echo) process.stdout.write(`${this.name.padEnd(18)} | ${line}\n`);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
  }

  /** Waits until the readiness path answers 200, or fails with the process's last output. */
  async waitReady(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.name} exited before it was ready:\n${this.recentOutput()}`);
      try {
        const res = await fetch(`${this.url}${this.options.readyPath ?? '/readyz'}`, { signal: AbortSignal.timeout(1000) });
        if (res.ok) return;
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
