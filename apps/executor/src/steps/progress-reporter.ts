/**
 * Turns a stream of content deltas into at most one `step.progress` event per interval:
 * a model emits dozens of tokens a second, and clients watching a step need a readable
 * trickle, not one NATS message per token. Publishes run one at a time, in order, and never
 * hold up the stream; a failed publish is dropped (progress is advisory).
 *
 * The first event is due one interval after the reporter is made (the model call starts),
 * so a step answered within it publishes no progress at all: its text arrives in
 * `step.completed` anyway, and most steps would otherwise pay a JetStream publish for nothing.
 */
export class ProgressReporter {
  private pending = '';
  private chars = 0;
  /** When the last event went out; the start counts as one, so the first waits an interval. */
  private lastSent: number;
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly intervalMs: number,
    private readonly send: (seq: number, outputTokens: number, delta: string) => Promise<void>,
    private readonly now: () => number = Date.now,
  ) {
    this.lastSent = now();
  }

  add(delta: string): void {
    this.pending += delta;
    this.chars += delta.length;
    const wait = this.lastSent + this.intervalMs - this.now();
    if (wait <= 0) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), wait);
  }

  /**
   * Waits for every send so far. Once progress has begun (or its first event is due), sends
   * what is pending too, so a watcher sees the whole text; a step that ended sooner sends nothing.
   */
  async close(): Promise<void> {
    const begun = this.seq > 0 || this.now() - this.lastSent >= this.intervalMs;
    if (begun) this.flush();
    else this.discard();
    await this.chain;
  }

  /** Drops what is pending (the attempt failed or was cancelled). */
  discard(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = '';
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.pending) return;
    const delta = this.pending;
    // Tokens are not counted while streaming; ~4 characters a token is the usual estimate.
    const tokens = Math.ceil(this.chars / 4);
    const seq = ++this.seq;
    this.pending = '';
    this.lastSent = this.now();
    this.chain = this.chain.then(() => this.send(seq, tokens, delta).catch(() => undefined));
  }
}
