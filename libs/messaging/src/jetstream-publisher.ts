import { createInbox, headers as createHeaders, TimeoutError, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { JetStreamApiError, JetStreamError, type PubAck } from '@nats-io/jetstream';

/** How often waiting publishes are checked against their deadline. */
const SWEEP_MS = 100;

interface Waiting {
  resolve: (ack: PubAck) => void;
  reject: (err: Error) => void;
  deadline: number;
  subject: string;
  /** A hand-off request (`offer`): answered with the reply's text, not a PubAck. */
  offer?: (reply: string | undefined) => void;
}

/**
 * JetStream publishes whose acks come back on one reply subscription of the connection.
 *
 * nats.js's `js.publish` is a request per message: a response entry with its own timer and,
 * for every request that succeeds, an Error built to cancel it — a few percent of the planner's
 * and the executor's CPU at hundreds of publishes a second. Here a publish is one `PUB` with
 * a reply subject under this publisher's inbox; the stream's ack (or its error, or the
 * server's "no responders" when no stream captures the subject) settles the publish waiting
 * under that token, and one sweep rejects what waited past its deadline. The result is what
 * `js.publish` gives: the `PubAck`, or a `JetStreamApiError`, a `JetStreamError` or a
 * `TimeoutError`. The subscription lives as long as the connection; the sweep stops with it.
 * Direct hand-offs (`offer`, ADR 0017) are requests answered on the same subscription.
 */
export class JetStreamPublisher {
  private readonly waiting = new Map<string, Waiting>();
  private next = 0;
  private inbox = '';
  private subscription: Subscription | undefined;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly nc: NatsConnection) {}

  /** Publishes `body` to the stream that captures `subject`, with `Nats-Msg-Id` = `msgId` (JetStream drops a repeat inside its dedupe window). */
  publish(subject: string, body: Uint8Array | string, options: { msgId: string; headers?: MsgHdrs; timeoutMs?: number }): Promise<PubAck> {
    this.listen();
    const token = (this.next++).toString(36);
    const headers = options.headers ?? createHeaders();
    headers.set('Nats-Msg-Id', options.msgId);
    return new Promise<PubAck>((resolve, reject) => {
      this.waiting.set(token, { resolve, reject, deadline: performance.now() + (options.timeoutMs ?? 5_000), subject });
      try {
        this.nc.publish(subject, body, { reply: this.inbox + token, headers });
      } catch (err) {
        this.waiting.delete(token);
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  /**
   * Offers `body` to the queue group serving `subject` (a direct hand-off, ADR 0017): resolves
   * with the answer's text, or undefined when nobody serves the subject or nobody answered
   * within `timeoutMs`. Never rejects: every outcome but an answer means "queue it".
   */
  offer(subject: string, body: Uint8Array | string, options: { headers?: MsgHdrs; timeoutMs: number }): Promise<string | undefined> {
    this.listen();
    const token = (this.next++).toString(36);
    return new Promise<string | undefined>((resolve) => {
      // The sweep and a closed connection settle it as they settle a publish: no answer.
      this.waiting.set(token, { resolve: () => resolve(undefined), reject: () => resolve(undefined), offer: resolve, deadline: performance.now() + options.timeoutMs, subject });
      try {
        this.nc.publish(subject, body, { reply: this.inbox + token, ...(options.headers ? { headers: options.headers } : {}) });
      } catch {
        this.waiting.delete(token);
        resolve(undefined);
      }
    });
  }

  private listen(): void {
    if (this.subscription && !this.subscription.isClosed()) return;
    this.inbox = `${createInbox()}.`;
    this.subscription = this.nc.subscribe(`${this.inbox}*`, {
      callback: (err, msg) => (err ? this.failAll(err) : this.answer(msg)),
    });
    this.sweeper ??= setInterval(() => this.expire(), SWEEP_MS).unref();
  }

  private answer(msg: Msg): void {
    const token = msg.subject.slice(this.inbox.length);
    const waiting = this.waiting.get(token);
    if (!waiting) return;
    this.waiting.delete(token);
    if (waiting.offer) {
      waiting.offer(msg.headers?.code === 503 ? undefined : msg.string());
      return;
    }
    if (msg.headers?.code === 503) {
      waiting.reject(new JetStreamError(`no stream captures ${waiting.subject} (no responders)`));
      return;
    }
    let ack: { stream?: string; seq?: number; duplicate?: boolean; domain?: string; error?: { code: number; err_code: number; description: string } };
    try {
      ack = msg.json();
    } catch (err) {
      waiting.reject(new JetStreamError('invalid ack response', { cause: err }));
      return;
    }
    if (ack.error) waiting.reject(new JetStreamApiError(ack.error));
    else if (!ack.stream || ack.seq === undefined) waiting.reject(new JetStreamError('invalid ack response'));
    else waiting.resolve({ stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate ?? false, ...(ack.domain ? { domain: ack.domain } : {}) } as PubAck);
  }

  private expire(): void {
    if (this.subscription?.isClosed() ?? true) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
      this.failAll(new JetStreamError('connection closed'));
      return;
    }
    if (!this.waiting.size) return;
    const now = performance.now();
    for (const [token, waiting] of this.waiting) {
      if (waiting.deadline > now) continue;
      this.waiting.delete(token);
      waiting.reject(new TimeoutError());
    }
  }

  private failAll(err: Error): void {
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiting) w.reject(err);
  }
}
