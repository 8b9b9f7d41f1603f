/**
 * Turns a stream of content deltas into at most one `step.progress` event per interval:
 * a model emits dozens of tokens a second, and clients watching a step need a readable
 * trickle, not one NATS message per token. Publishes run one at a time, in order, and never
 * hold up the stream; a failed publish is dropped (progress is advisory).
 */
export class ProgressReporter {
  private pending = '';
  private chars = 0;
  private lastSent = 0;
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly intervalMs: number,
    private readonly send: (seq: number, outputTokens: number, delta: string) => Promise<void>,
    private readonly now: () => number = Date.now,
  ) {}

  add(delta: string): void {
    this.pending += delta;
    this.chars += delta.length;
    const wait = this.lastSent + this.intervalMs - this.now();
    if (wait <= 0) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), wait);
  }

  /** Sends what is pending and waits for every send so far. */
  async close(): Promise<void> {
    if (this.pending) this.flush();
    clearTimeout(this.timer);
    await this.chain;
  }

  /** Drops what is pending (the attempt failed or was cancelled). */
  discard(): void {
    clearTimeout(this.timer);
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
